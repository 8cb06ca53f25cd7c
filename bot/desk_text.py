"""The review queue in words: a draft as editors see it (with its buttons), and what its
author is told of the decision. In the current language (`bot.i18n.speaking`); data
HTML-escaped; the texts themselves live in `bot.texts`."""

from __future__ import annotations

import html
from datetime import tzinfo

from bot import i18n, texts
from bot.callbacks import ReviewButton, encode
from bot.render import one_line
from bot.services.notices import Button
from bot.services.submissions import APPROVED, CHANGES, REJECTED, SubmissionView
from bot.services.views import ItemView


def draft_card(submission: SubmissionView, tz: tzinfo, zone: str) -> str:
    """The draft as its readers will see it, under a line that says what it is."""
    tr = i18n.current()
    draft = submission.draft
    title = html.escape(draft.title)
    if draft.url:
        title = f'<a href="{html.escape(draft.url, quote=True)}">{title}</a>'
    meta = " · ".join([html.escape(draft.category), html.escape(tr.language_name(draft.language))])
    lines = [tr(texts.REVIEW_CARD, id=submission.id)]
    if submission.author_id is not None:
        lines.append(tr(texts.REVIEW_BY_AUTHOR, user_id=submission.author_id))
    else:
        lines.append(tr(texts.REVIEW_BY_FEED, feed_id=submission.feed_id))
    if submission.revision > 1:
        lines.append(tr(texts.REVIEW_AGAIN, revision=submission.revision))
    if submission.publish_at is not None:
        lines.append(tr(texts.REVIEW_WANTED_AT, when=_when(submission, tz), tz=zone))
    lines += ["", f"<b>{title}</b>", f"<i>{meta}</i>"]
    if draft.summary:
        lines.append(html.escape(one_line(draft.summary)))
    if draft.image_url or draft.image_file_id:
        lines.append("🖼")
    return "\n".join(lines)  # a title, a one-line summary: far below 4,096


def _when(submission: SubmissionView, tz: tzinfo) -> str:
    assert submission.publish_at is not None
    return submission.publish_at.astimezone(tz).strftime(texts.WHEN_FORMAT_SHOWN)


def decision_buttons(submission: SubmissionView) -> list[list[Button]]:
    tr = i18n.current()

    def button(label: str, action: str) -> Button:
        data = encode(ReviewButton(action, submission.id, submission.revision))
        return {"text": tr(label), "callback_data": data}

    return [
        [button(texts.BUTTON_APPROVE, "a")],
        [button(texts.BUTTON_REQUEST_CHANGES, "c"), button(texts.BUTTON_REJECT, "r")],
    ]


class DeskWords:
    """`bot.services.review.DeskTexts` for the composition root: the bot's time zone is
    the one the author's wished-for time is written in."""

    def __init__(self, tz: tzinfo, zone_name: str) -> None:
        self._tz = tz
        self._zone = zone_name

    def for_editor(self, submission: SubmissionView) -> tuple[str, list[list[Button]]]:
        return draft_card(submission, self._tz, self._zone), decision_buttons(submission)

    def for_author(self, submission: SubmissionView, item: ItemView | None) -> str:
        tr = i18n.current()
        title = html.escape(submission.draft.title)
        note = html.escape(submission.note or "")
        if submission.state == APPROVED and item is not None:
            return tr(texts.TOLD_APPROVED, title=title, id=item.id)
        if submission.state == APPROVED:
            when = _when(submission, self._tz)
            return tr(texts.TOLD_APPROVED_AT, title=title, when=when, tz=self._zone)
        if submission.state == CHANGES:
            return tr(texts.TOLD_CHANGES, title=title, note=note)
        assert submission.state == REJECTED
        return tr(texts.TOLD_REJECTED, title=title, note=note)
