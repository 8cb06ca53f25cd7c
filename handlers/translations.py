"""/translate: a version of a published item in another language.

`/translate 12 fr | Title | https://link | summary` publishes it at once, in any chat;
`/translate 12 fr` alone, in a private chat, starts the guided /add with the story's category
and picture filled in (`handlers.add_flow`, whose drafts then carry `version_of`). Either way
the story's readers get one message each (`bot.services.stories`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace

from telegram import Update

from bot import texts
from bot.context import BotContext
from bot.i18n import _, current
from bot.notices import problem_text
from bot.render import item_card, local_time
from bot.services.stories import StoryProblem, VersionRefused
from bot.services.validation import (
    ItemDraft,
    Problem,
    ValidationFailed,
    clean_item,
    clean_language,
)
from bot.services.views import ItemView
from handlers.add_steps import Step, show
from handlers.ui import ACTIVE, END, Flow, draft_keys, existing_item
from handlers.updates import chat_of, message_of, user_of


@dataclass(frozen=True, slots=True)
class _Request:
    item_id: int
    language: str
    fields: list[str] | None  # title, link, summary as typed; None: the guided way
    scheduled: bool = False  # "s3": a scheduled item, not yet published

    @property
    def ref(self) -> str:
        return f"s{self.item_id}" if self.scheduled else f"#{self.item_id}"


class _Refused(Exception):
    def __init__(self, text: str) -> None:
        self.text = text


def _parse(text: str) -> _Request | None:
    """`12 fr`, `#12 fr | Title | …`; None when there are no arguments at all."""
    _command, _space, args = text.partition(" ")
    head, bar, rest = args.partition("|")
    words = head.split()
    if not words:
        return None
    if len(words) != 2:
        raise _Refused(_(texts.TRANSLATE_USAGE))
    raw = words[0].removeprefix("#")
    scheduled = raw[:1] in ("s", "S")
    raw = raw[1:] if scheduled else raw
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) < 2**63:
        raise _Refused(_(texts.TRANSLATE_BAD_NUMBER, text=html.escape(words[0][:32])))
    try:
        language = clean_language(words[1])
    except ValidationFailed as failure:
        raise _Refused(_(texts.ADD_PROBLEM, problem=problem_text(failure))) from None
    fields = [part.strip() for part in rest.split("|")] if bar else None
    return _Request(int(raw), language, fields, scheduled)


def refusal_text(refused: VersionRefused, ref: str, language: str) -> str:
    """Why a version of `ref` ("#12", or "s3" for a scheduled item) was refused."""
    name = html.escape(current().language_name(language))
    scheduled = ref.startswith("s")
    if refused.problem is StoryProblem.LANGUAGE_TAKEN:
        if scheduled:
            return _(texts.TRANSLATE_SCHEDULED_TAKEN, ref=ref, language=name)
        return _(texts.TRANSLATE_TAKEN, language=name, id=refused.existing_id)
    if scheduled:
        return _(texts.TRANSLATE_SCHEDULED_UNKNOWN, ref=ref)
    return _(texts.TRANSLATE_UNKNOWN, id=ref.removeprefix("#"))


@dataclass(frozen=True, slots=True)
class _Original:
    """What a version takes from the item it is a version of."""

    id: int
    ref: str
    title: str
    category: str
    image_url: str | None
    image_file_id: str | None


async def _original(context: BotContext, request: _Request) -> _Original:
    """The story's original (published, or scheduled), once it is known to take a version
    in the language asked."""
    try:
        if request.scheduled:
            scheduled = await context.services.scheduling.scheduled_original(request.item_id)
            draft, ref = scheduled.draft, scheduled.ref
            if draft.language == request.language:
                raise VersionRefused(StoryProblem.LANGUAGE_TAKEN)
            return _Original(
                scheduled.id, ref, draft.title, draft.category, draft.image_url, draft.image_file_id
            )
        original_id = await context.services.stories.check_new_version(
            request.item_id, request.language
        )
    except VersionRefused as refused:
        raise _Refused(refusal_text(refused, request.ref, request.language)) from None
    item = await context.services.news.get_item(original_id)
    if item is None:  # deleted since the check
        raise _Refused(_(texts.TRANSLATE_UNKNOWN, id=request.item_id))
    return _Original(
        item.id, f"#{item.id}", item.title, item.category, item.image_url, item.image_file_id
    )


async def translate(update: Update, context: BotContext) -> None:
    """The one-line form (and, outside a private chat, the word on the guided one)."""
    message = message_of(update)
    try:
        request = _parse(message.text or "")
        if request is None:
            raise _Refused(_(texts.TRANSLATE_USAGE))
        if request.fields is None:
            raise _Refused(_(texts.FLOW_PRIVATE_ONLY, command="translate"))
        original = await _original(context, request)
        title, url, *rest = [*request.fields, ""]
        # a summary may itself hold "|": everything after the second bar is the summary
        summary = " | ".join(part for part in rest if part)
        try:
            draft = clean_item(original.category, title, url or None, summary or None)
        except ValidationFailed as failure:
            raise _Refused(_(texts.ADD_PROBLEM, problem=problem_text(failure))) from None
        draft = replace(
            draft,
            language=request.language,
            image_url=original.image_url,
            image_file_id=original.image_file_id,
        )
        try:
            done, item = await publish_version(
                update, context, draft, original.id, scheduled=request.scheduled
            )
        except VersionRefused as refused:
            raise _Refused(refusal_text(refused, request.ref, request.language)) from None
        except ValidationFailed as failure:
            if failure.problem is Problem.DUPLICATE_URL:
                raise _Refused(_(texts.ADD_DUPLICATE, id=existing_item(failure).id)) from None
            raise _Refused(_(texts.ADD_PROBLEM, problem=problem_text(failure))) from None
    except _Refused as refused:
        await message.reply_text(refused.text)
        return
    if item is not None:  # how readers see it, below
        done += "\n\n" + item_card(item, context.services.settings.tz)
    await message.reply_text(done)


async def publish_version(
    update: Update,
    context: BotContext,
    draft: ItemDraft,
    original_id: int,
    *,
    scheduled: bool,
) -> tuple[str, ItemView | None]:
    """Publish a version of `original_id` (or, for a scheduled item, schedule it to go out
    with it): the admin's confirmation, and the item once published. Raises VersionRefused
    and ValidationFailed (a link stored meanwhile)."""
    services = context.services
    name = html.escape(current().language_name(draft.language))
    if scheduled:
        settings = services.settings
        view = await services.scheduling.schedule_version(
            original_id, draft, actor_id=user_of(update).id, chat_id=chat_of(update).id
        )
        done = _(
            texts.TRANSLATE_SCHEDULED_DONE,
            language=name,
            ref=f"s{view.version_of}",
            when=local_time(view.publish_at, settings.tz, texts.WHEN_FORMAT_SHOWN),
            tz=html.escape(settings.timezone),
        )
        return done, None
    published = await services.news.publish(
        draft, actor_id=user_of(update).id, version_of=original_id
    )
    item = published.item
    return _(texts.TRANSLATE_DONE, id=item.id, language=name, original=item.story), item


async def start(update: Update, context: BotContext) -> int:
    """`/translate 12 fr` in a private chat: the guided way, from the title on."""
    message = message_of(update)
    try:
        request = _parse(message.text or "")
        if request is None or request.fields is not None:
            await translate(update, context)
            return END
        original = await _original(context, request)
    except _Refused as refused:
        await message.reply_text(refused.text)
        return END
    data = {
        "scheduled_version_of" if request.scheduled else "version_of": original.id,
        "ref": original.ref,
        "original_title": original.title,
        "language": request.language,
        "category": original.category,
        "image_url": original.image_url,
        "image_file_id": original.image_file_id,
    }
    await context.services.drafts.save(*draft_keys(update), Flow.ADD, Step.TITLE, data)
    await show(update, context, Step.TITLE, data)
    return ACTIVE
