"""The one-line /add: `/add Category | Title | https://link | summary`, published at once,
also as the caption of a photo (published with that picture). The guided /add, for an admin
who types /add alone in a private chat, is `handlers.add_flow`."""

from __future__ import annotations

import html
from dataclasses import replace

from telegram import Update
from telegram.constants import MessageLimit

from bot import texts
from bot.context import BotContext
from bot.i18n import _, current
from bot.notices import problem_text
from bot.render import item_card, visible_length
from bot.services.submissions import fields_of
from bot.services.validation import Problem, ValidationFailed, check_caption, parse_add_line
from handlers.add_steps import Step, show
from handlers.ui import Flow, canonical_category, checked_photo, draft_keys, existing_item
from handlers.updates import message_of, user_of


def _command_args(text: str) -> str:
    """Everything after the command word, with the bars and spacing as typed."""
    _command, _space, rest = text.partition(" ")
    return rest if _command else ""


def _usage() -> str:
    tr = current()
    return tr(texts.ADD_USAGE, language=tr.language_name(tr.language))


async def _line(update: Update) -> str | None:
    """The one-line /add's fields as typed; None (with the usage said) when there are none."""
    message = message_of(update)
    args = _command_args(message.text or "")
    if not args.strip():
        await message.reply_text(_usage())
        return None
    return args


async def _caption_line(update: Update) -> tuple[str, str | None] | None:
    """A photo captioned with a one-line /add: its fields and the photo's file_id; None
    (with the problem or the usage said) when the caption or the photo will not do."""
    message = message_of(update)
    caption = message.caption or ""
    try:
        check_caption(caption)
        file_id = checked_photo(message)
    except ValidationFailed as failure:
        await message.reply_text(_(texts.ADD_PROBLEM, problem=problem_text(failure)))
        return None
    args = _command_args(caption)
    if not args.strip():
        await message.reply_text(_usage())
        return None
    return args, file_id


async def add(update: Update, context: BotContext) -> None:
    if (args := await _line(update)) is not None:
        await _publish_line(update, context, args)


async def add_for_review(update: Update, context: BotContext) -> None:
    """An author's one-line /add (or a bare /add outside a private chat): not published but
    shown as a preview that ends in Submit for review, like the guided /add's."""
    if (args := await _line(update)) is not None:
        await _preview_line(update, context, args)


async def add_photo_for_review(update: Update, context: BotContext) -> None:
    """An author's photo captioned with a one-line /add: its preview, with that picture."""
    if (line := await _caption_line(update)) is not None:
        await _preview_line(update, context, *line)


async def _preview_line(
    update: Update, context: BotContext, args: str, image_file_id: str | None = None
) -> None:
    try:
        draft = replace(parse_add_line(args, current().language), image_file_id=image_file_id)
        existing = await context.services.news.find_by_url(draft.url) if draft.url else None
        if existing is not None:
            raise ValidationFailed(Problem.DUPLICATE_URL, existing=existing)
    except ValidationFailed as failure:
        await _refuse_line(update, context, failure)
        return
    category = await canonical_category(context, draft.category)
    data = {**fields_of(replace(draft, category=category)), "review": True}
    await context.services.drafts.save(*draft_keys(update), Flow.ADD, Step.PREVIEW, data)
    await show(update, context, Step.PREVIEW, data)


async def _refuse_line(update: Update, context: BotContext, failure: ValidationFailed) -> None:
    message = message_of(update)
    if failure.problem is Problem.DUPLICATE_URL:
        existing = existing_item(failure)
        await message.reply_text(
            _(texts.ADD_DUPLICATE, id=existing.id)
            + "\n\n"
            + item_card(existing, context.services.settings.tz)
        )
    else:
        problem = _(texts.ADD_PROBLEM, problem=problem_text(failure))
        await message.reply_text(problem + "\n\n" + _usage())


async def add_photo(update: Update, context: BotContext) -> None:
    """A photo from an admin with the caption `/add Category | Title | https://link | …`:
    the one-line /add, published with that picture (the largest size Telegram made)."""
    if (line := await _caption_line(update)) is not None:
        await _publish_line(update, context, *line)


async def photo_hint(update: Update, context: BotContext) -> None:
    """An admin's photo outside a flow and without an /add caption: how to publish it."""
    await message_of(update).reply_text(_(texts.PHOTO_HINT))


async def _publish_line(
    update: Update, context: BotContext, args: str, image_file_id: str | None = None
) -> None:
    message = message_of(update)
    user = user_of(update)
    try:
        draft = replace(parse_add_line(args, current().language), image_file_id=image_file_id)
        published = await context.services.news.publish(draft, actor_id=user.id)
    except ValidationFailed as failure:
        await _refuse_line(update, context, failure)
        return
    item = published.item
    if published.category_created:
        intro = _(texts.ADD_DONE_NEW_CATEGORY, id=item.id, category=html.escape(item.category))
    else:
        intro = _(texts.ADD_DONE, id=item.id)
    await message.reply_text(intro)
    card = item_card(item, context.services.settings.tz)
    if image_file_id is not None and visible_length(card) <= MessageLimit.CAPTION_LENGTH:
        await message.reply_photo(image_file_id, caption=card)  # with its picture
    else:
        await message.reply_text(card)
