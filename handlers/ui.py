"""What the guided flows (/add, /edit) and /delete share: the conversation state, the
category keyboard, a validation problem in words, an item shown as it will be delivered
(with its picture), and the item an /edit or /delete number names. What other commands
show the same way is `handlers.presentation`."""

from __future__ import annotations

import enum
import html
from collections.abc import Awaitable, Callable
from datetime import tzinfo

from telegram import InlineKeyboardMarkup, Message, PhotoSize, Update
from telegram.error import BadRequest
from telegram.ext import ConversationHandler

from bot import texts
from bot.callbacks import button
from bot.context import BotContext
from bot.delivery import Shape, is_picture_error
from bot.i18n import _, current
from bot.notices import problem_text
from bot.render import item_message
from bot.services.drafts import DraftState
from bot.services.news import category_key
from bot.services.validation import ValidationFailed, check_photo_size
from bot.services.views import CategoryView, ItemView
from handlers.presentation import drop_buttons
from handlers.updates import args_of, chat_of, message_of, query_of, user_of

ACTIVE = 1  # the one conversation state: which step lives in the stored draft
END = ConversationHandler.END
MAX_CATEGORY_BUTTONS = 50
LIST_SIZE = 10  # the latest items /edit and /delete list when given no number


# a button of a guided flow: (update, context, draft, argument) → the next state, or None
# when the button does not belong to the draft's step
ButtonStep = Callable[[Update, BotContext, DraftState, str | None], Awaitable[int | None]]


class Flow(enum.StrEnum):
    """A guided flow, as its draft stores it."""

    ADD = "add"
    EDIT = "edit"


def category_keyboard(flow: str, categories: list[CategoryView]) -> InlineKeyboardMarkup | None:
    """The existing categories, two to a row; a new one is typed instead."""
    buttons = [button(c.name, flow, "cat", c.id) for c in categories[:MAX_CATEGORY_BUTTONS]]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return InlineKeyboardMarkup(rows) if rows else None


async def ask_again(update: Update, failure: ValidationFailed) -> int:
    await message_of(update).reply_text(_(texts.ADD_ASK_AGAIN, problem=problem_text(failure)))
    return ACTIVE


async def canonical_category(context: BotContext, name: str) -> str:
    """An existing category's own spelling when the name matches it (case-insensitively)."""
    key = category_key(name)
    for category in await context.services.news.categories():
        if category_key(category.name) == key:
            return category.name
    return name


def existing_item(failure: ValidationFailed) -> ItemView:
    """The item that already has the link (a DUPLICATE_URL failure's `existing`); any other
    failure is raised again."""
    existing = failure.details.get("existing")
    if not isinstance(existing, ItemView):
        raise failure
    return existing


def draft_keys(update: Update) -> tuple[int, int]:
    """A draft belongs to one person in one chat."""
    return chat_of(update).id, user_of(update).id


async def end_flow(update: Update, context: BotContext, farewell: str) -> int:
    """A button ended the flow (Cancel): retire its buttons, forget the draft, say so."""
    await query_of(update).answer()
    await drop_buttons(update)
    await context.services.drafts.discard(*draft_keys(update))
    await chat_of(update).send_message(farewell)
    return END


def largest_photo(message: Message) -> PhotoSize | None:
    """The biggest of the sizes Telegram made of a photo (the one worth keeping)."""
    if not message.photo:
        return None
    return max(message.photo, key=lambda size: (size.width * size.height, size.file_size or 0))


def checked_photo(message: Message) -> str | None:
    """The file_id of the photo's largest size (None: no photo); raises ValidationFailed
    when it is over the size a bot may publish."""
    photo = largest_photo(message)
    check_photo_size(photo.file_size if photo is not None else None)
    return photo.file_id if photo is not None else None


async def send_item_preview(
    update: Update, item: ItemView, tz: tzinfo, reply_markup: InlineKeyboardMarkup | None
) -> Message:
    """The item as subscribers will get it, shaped the way the sender shapes it
    (`bot.delivery.content`): a photo with the item as caption, or the text with a large
    preview of the picture, or plain text. A picture Telegram refuses (an address it cannot
    fetch, say) is shown as the text with a warning, so the admin can pick another."""
    chat = chat_of(update)
    message = item_message(item, tz, share=False)
    if message.shape is Shape.PHOTO:
        try:
            return await chat.send_photo(
                message.picture or "", caption=message.caption, reply_markup=reply_markup
            )
        except BadRequest as exc:
            if not is_picture_error(exc):
                raise
            warning = _(texts.ADD_PICTURE_REFUSED, error=html.escape(exc.message))
            text = warning + "\n\n" + message.text
            return await chat.send_message(text, reply_markup=reply_markup)
    if message.shape is Shape.PREVIEW:
        return await chat.send_message(
            message.text, link_preview_options=message.picture_preview, reply_markup=reply_markup
        )
    return await chat.send_message(message.text, reply_markup=reply_markup)


# -- /edit and /delete: the item a command's number names, and what follows a change


async def item_from_args(update: Update, context: BotContext, command: str) -> ItemView | None:
    """The item named by the command's number; otherwise answers (list, or the problem)."""
    message = message_of(update)
    args = args_of(context)
    news = context.services.news
    if not args:
        page = await news.page(LIST_SIZE)
        if not page.items:
            await message.reply_text(_(texts.CORRECT_NO_ITEMS, command=command))
            return None
        lines = [_(texts.CORRECT_LIST_HEADER, n=len(page.items), command=command)]
        for listed in page.items:
            lines.append(
                _(
                    texts.CORRECT_LIST_LINE,
                    id=listed.id,
                    date=current().date(listed.published_at, context.services.settings.tz),
                    title=html.escape(listed.title),
                )
            )
        await message.reply_text("\n".join(lines))
        return None
    raw = " ".join(args).removeprefix("#")
    if len(args) > 1 or not raw.isascii() or not raw.isdigit() or not 0 < int(raw) < 2**63:
        await message.reply_text(
            _(texts.CORRECT_BAD_NUMBER, text=html.escape(" ".join(args)[:64]), command=command)
        )
        return None
    item = await news.get_item(int(raw))
    if item is None:
        await message.reply_text(_(texts.CORRECT_UNKNOWN, id=int(raw), command=command))
    return item
