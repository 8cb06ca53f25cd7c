"""The review queue in the chat: editors decide on drafts with the buttons of their notice or
of /queue; authors see their own drafts in /queue and edit one sent back for changes.

Approve decides at once. Request changes and Reject ask for a note first: that question is a
draft of the guided flows (`handlers.flows`, kind `note`), so it survives a restart and
/cancel leaves it; the decision is made when the note comes, and only if no other editor
decided meanwhile.
"""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import texts
from bot.callbacks import QueueMore, ReviewButton, StaleCallback, decode, encode
from bot.context import BotContext
from bot.i18n import _, current
from bot.render import MAX_TEXT, visible_length
from bot.services.drafts import DraftState
from bot.services.submissions import (
    APPROVED,
    CHANGES,
    NOTE_MAX,
    REJECTED,
    WAITING,
    Decided,
    Decision,
    Outcome,
    SubmissionView,
    fields_of,
)
from handlers.add_steps import Step, show
from handlers.presentation import drop_buttons
from handlers.ui import ACTIVE, END, Flow, draft_keys
from handlers.updates import chat_of, message_of, query_of, user_of

PAGE = 5  # drafts shown per /queue page, each with its buttons
_DECISIONS = {"a": Decision.APPROVE, "c": Decision.CHANGES, "r": Decision.REJECT}
_ASK_NOTE = {Decision.CHANGES: texts.REVIEW_ASK_CHANGES, Decision.REJECT: texts.REVIEW_ASK_REJECT}
# who decided, said when another editor presses a button of the same draft
_DECIDED_BY = {
    APPROVED: texts.REVIEW_APPROVED_BY,
    REJECTED: texts.REVIEW_REJECTED_BY,
    CHANGES: texts.REVIEW_CHANGES_BY,
}
_NOTE_SENT = {
    Decision.CHANGES: texts.REVIEW_CHANGES_SENT,
    Decision.REJECT: texts.REVIEW_REJECT_SENT,
}


def outcome_text(decided: Decided, submission_id: int) -> str:
    """Why a decision or a resubmission did not go through, in words: plain text, since it
    is also a button's alert (tests/test_catalogues.py checks these texts as alerts)."""
    submission = decided.submission
    match decided.outcome:
        case Outcome.ALREADY_DECIDED if submission is not None:
            return _(
                _DECIDED_BY[submission.state],
                id=submission.id,
                user_id=submission.decided_by,
            )
        case Outcome.STALE:
            return _(texts.REVIEW_STALE, id=submission_id)
        case Outcome.OWN_DRAFT:
            return _(texts.REVIEW_OWN_DRAFT)
        case Outcome.NOTE_NEEDED:
            return _(texts.REVIEW_NOTE_EMPTY)
        case Outcome.NOTE_TOO_LONG:
            return _(texts.REVIEW_NOTE_TOO_LONG, length=f"> {NOTE_MAX}", max=NOTE_MAX)
        case Outcome.LINK_TAKEN:
            taken = decided.item.id if decided.item is not None else "?"
            return _(texts.REVIEW_LINK_TAKEN, id=taken, draft=submission_id)
        case Outcome.NOT_YOURS:
            return _(texts.REVIEW_NOT_YOURS, id=submission_id)
        case Outcome.NOT_EDITABLE if submission is not None:
            return _(
                texts.REVIEW_NOT_EDITABLE,
                id=submission_id,
                state=_(texts.QUEUE_STATES[submission.state]),
            )
    return _(texts.REVIEW_UNKNOWN)


def _is_editor(context: BotContext, user_id: int) -> bool:
    return user_id in context.services.admins.user_ids


def _keyboard(rows: list[list[dict[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    button["text"], callback_data=button.get("callback_data"), url=button.get("url")
                )
                for button in row
            ]
            for row in rows
        ]
    )


# -- /queue


async def queue(update: Update, context: BotContext) -> None:
    """/queue: for editors, what waits (oldest first, with the decision buttons); for
    authors, their own drafts and what became of them."""
    if _is_editor(context, user_of(update).id):
        await _send_waiting(update, context, after_id=0)
    else:
        await _send_own(update, context)


async def _send_waiting(update: Update, context: BotContext, *, after_id: int) -> None:
    """One message: the drafts of this page, oldest first, and a row of buttons for each
    (approve, request changes, reject), then Next drafts when more wait."""
    page = await context.services.review.waiting(limit=PAGE, after_id=after_id)
    chat = chat_of(update)
    if not page.submissions:
        await chat.send_message(_(texts.QUEUE_EMPTY if after_id == 0 else texts.QUEUE_NO_MORE))
        return
    lines = [current().plural(texts.QUEUE_HEADER, page.total)] if after_id == 0 else []
    rows: list[list[dict[str, str]]] = []
    for submission in page.submissions:
        lines.append("")
        lines.append(_queue_line(submission))
        rows.append(_decision_row(submission))
    if len(page.submissions) == PAGE:
        more = encode(QueueMore(page.submissions[-1].id))
        rows.append([{"text": _(texts.BUTTON_QUEUE_MORE), "callback_data": more}])
    lines += ["", _(texts.QUEUE_PAGE_HINT)]
    await chat.send_message("\n".join(lines), reply_markup=_keyboard(rows))


def _queue_line(submission: SubmissionView) -> str:
    if submission.author_id is not None:
        source = _(texts.REVIEW_BY_AUTHOR, user_id=submission.author_id)
    else:
        source = _(texts.REVIEW_BY_FEED, feed_id=submission.feed_id)
    return _(
        texts.QUEUE_LINE,
        id=submission.id,
        title=html.escape(submission.draft.title),
        category=html.escape(submission.draft.category),
        source=source,
    )


def _decision_row(submission: SubmissionView) -> list[dict[str, str]]:
    def button(label: str, action: str) -> dict[str, str]:
        data = encode(ReviewButton(action, submission.id, submission.revision))
        return {"text": _(label, id=submission.id), "callback_data": data}

    return [
        button(texts.BUTTON_QUEUE_APPROVE, "a"),
        button(texts.BUTTON_QUEUE_CHANGES, "c"),
        button(texts.BUTTON_QUEUE_REJECT, "r"),
    ]


async def _send_own(update: Update, context: BotContext) -> None:
    mine = await context.services.review.of_author(user_of(update).id)
    if not mine:
        await message_of(update).reply_text(_(texts.QUEUE_MINE_EMPTY))
        return
    lines = [_(texts.QUEUE_MINE_HEADER)]
    rows: list[list[dict[str, str]]] = []
    for submission in mine:
        lines.append(
            _(
                texts.QUEUE_MINE_LINE,
                id=submission.id,
                title=html.escape(submission.draft.title),
                state=_(texts.QUEUE_STATES[submission.state]),
            )
        )
        if submission.note and submission.state != WAITING:
            lines.append(f"   <i>{html.escape(submission.note)}</i>")
        if submission.state in (WAITING, CHANGES):
            data = encode(ReviewButton("e", submission.id, submission.revision))
            label = _(texts.BUTTON_EDIT_DRAFT, id=submission.id)
            rows.append([{"text": label, "callback_data": data}])
    # 20 drafts with 256-character titles and 500-character notes can pass 4,096 characters:
    # the latest drafts are shown whole, the oldest left out (never a line cut in its markup)
    text = lines[0]
    for line in lines[1:]:
        if visible_length(text + "\n" + line) > MAX_TEXT:
            break
        text += "\n" + line
    await message_of(update).reply_text(text, reply_markup=_keyboard(rows) if rows else None)


async def on_more(update: Update, context: BotContext) -> None:
    query = query_of(update)
    if not _is_editor(context, user_of(update).id):
        await query.answer(_(texts.REVIEW_EDITORS_ONLY), show_alert=True)
        return
    try:
        more = decode(query.data, (QueueMore,))
    except StaleCallback:
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return
    assert isinstance(more, QueueMore)
    await query.answer()
    await _send_waiting(update, context, after_id=more.after_id)


# -- the decision buttons, and an author's Edit


async def on_button(update: Update, context: BotContext) -> None:
    query = query_of(update)
    try:
        pressed = decode(query.data, (ReviewButton,))
    except StaleCallback:
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return
    assert isinstance(pressed, ReviewButton)
    user_id = user_of(update).id
    if pressed.action == "e":
        await _edit(update, context, pressed)
        return
    if not _is_editor(context, user_id):
        await query.answer(_(texts.REVIEW_EDITORS_ONLY), show_alert=True)
        return
    decision = _DECISIONS[pressed.action]
    review = context.services.review
    if decision is Decision.APPROVE:
        decided = await review.decide(user_id, pressed.submission_id, pressed.revision, decision)
        if decided.outcome is not Outcome.DONE:
            await query.answer(outcome_text(decided, pressed.submission_id), show_alert=True)
            return
        await query.answer()
        await drop_buttons(update)
        await chat_of(update).send_message(_approved_text(context, decided))
        return
    # Request changes, Reject: the note comes next; check first that there is still a
    # decision to make, so that a decided draft is said so now, not after the note
    now = await review.get(pressed.submission_id)
    refusal = _not_decidable(now, user_id, pressed)
    if refusal is not None:
        await query.answer(outcome_text(refusal, pressed.submission_id), show_alert=True)
        return
    assert now is not None
    await query.answer()
    data = {"submission": now.id, "revision": now.revision, "decision": decision.value}
    await context.services.drafts.save(*draft_keys(update), Flow.NOTE, "note", data)
    question = _(_ASK_NOTE[decision], title=html.escape(now.draft.title), max=NOTE_MAX)
    await chat_of(update).send_message(question)


def _not_decidable(
    now: SubmissionView | None, user_id: int, pressed: ReviewButton
) -> Decided | None:
    if now is None:
        return Decided(Outcome.UNKNOWN)
    if now.author_id == user_id:
        return Decided(Outcome.OWN_DRAFT, now)
    if now.revision != pressed.revision:
        return Decided(Outcome.STALE, now)
    if now.state != WAITING:
        return Decided(Outcome.ALREADY_DECIDED, now)
    return None


def _approved_text(context: BotContext, decided: Decided) -> str:
    if decided.item is not None:
        return _(texts.REVIEW_APPROVED, id=decided.item.id)
    assert decided.submission is not None and decided.submission.publish_at is not None
    settings = context.services.settings
    when = decided.submission.publish_at.astimezone(settings.tz)
    return _(
        texts.REVIEW_APPROVED_AT,
        when=when.strftime(texts.WHEN_FORMAT_SHOWN),
        tz=settings.timezone,
    )


async def _edit(update: Update, context: BotContext, pressed: ReviewButton) -> None:
    """An author's Edit under /queue: their draft back in the guided /add, at its preview;
    Submit for review then sends the changed draft as a new revision."""
    query = query_of(update)
    user_id = user_of(update).id
    submission = await context.services.review.get(pressed.submission_id)
    if submission is None or submission.author_id != user_id:
        outcome = Outcome.UNKNOWN if submission is None else Outcome.NOT_YOURS
        await query.answer(outcome_text(Decided(outcome), pressed.submission_id), show_alert=True)
        return
    if submission.state not in (WAITING, CHANGES):
        decided = Decided(Outcome.NOT_EDITABLE, submission)
        await query.answer(outcome_text(decided, submission.id), show_alert=True)
        return
    await query.answer()
    data = {**fields_of(submission.draft), "review": True, "submission": submission.id}
    await context.services.drafts.save(*draft_keys(update), Flow.ADD, Step.PREVIEW, data)
    await show(update, context, Step.PREVIEW, data)


# -- the note, as a step of the guided flows (kind `note`)


async def text_step(update: Update, context: BotContext, draft: DraftState) -> int:
    message = message_of(update)
    note = " ".join((message.text or "").split())
    if len(note) > NOTE_MAX:
        await message.reply_text(_(texts.REVIEW_NOTE_TOO_LONG, length=len(note), max=NOTE_MAX))
        return ACTIVE
    if not note:
        await message.reply_text(_(texts.REVIEW_NOTE_EMPTY))
        return ACTIVE
    decision = Decision(draft["decision"])
    submission_id = int(draft["submission"])
    decided = await context.services.review.decide(
        user_of(update).id, submission_id, int(draft["revision"]), decision, note
    )
    await context.services.drafts.discard(*draft_keys(update))
    if decided.outcome is Outcome.DONE:
        await message.reply_text(_(_NOTE_SENT[decision], id=submission_id))
    else:
        await message.reply_text(outcome_text(decided, submission_id))
    return END


async def photo_step(update: Update, context: BotContext, draft: DraftState) -> int:
    await message_of(update).reply_text(_(texts.REVIEW_NOTE_EMPTY))
    return ACTIVE


async def button_step(
    update: Update, context: BotContext, draft: DraftState, action: str, argument: str | None
) -> int | None:
    return None  # the decision buttons are the queue's own (`on_button`), not a flow's


def cancelled_text(draft: DraftState) -> str:
    return _(texts.REVIEW_NOTE_CANCELLED, id=draft.get("submission"))
