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
from bot.services.validation import Problem, ValidationFailed, check_caption, parse_add_line
from handlers.ui import checked_photo, existing_item
from handlers.updates import message_of, user_of


def _command_args(text: str) -> str:
    """Everything after the command word, with the bars and spacing as typed."""
    _command, _space, rest = text.partition(" ")
    return rest if _command else ""


def _usage() -> str:
    tr = current()
    return tr(texts.ADD_USAGE, language=tr.language_name(tr.language))


async def add(update: Update, context: BotContext) -> None:
    message = message_of(update)
    args = _command_args(message.text or "")
    if not args.strip():
        await message.reply_text(_usage())
        return
    await _publish_line(update, context, args)


async def add_photo(update: Update, context: BotContext) -> None:
    """A photo from an admin with the caption `/add Category | Title | https://link | …`:
    the one-line /add, published with that picture (the largest size Telegram made)."""
    message = message_of(update)
    caption = message.caption or ""
    try:
        check_caption(caption)
        file_id = checked_photo(message)
    except ValidationFailed as failure:
        await message.reply_text(_(texts.ADD_PROBLEM, problem=problem_text(failure)))
        return
    args = _command_args(caption)
    if not args.strip():
        await message.reply_text(_usage())
        return
    await _publish_line(update, context, args, file_id)


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


async def add_refused(update: Update, context: BotContext) -> None:
    await message_of(update).reply_text(_(texts.ADD_NOT_ALLOWED))
