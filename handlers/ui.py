"""What the guided flows (/add, /edit) and /delete share: the conversation state, the
category keyboard, a validation problem in words, an item shown as it will be delivered
(with its picture), and the item an /edit or /delete number names. What other commands
show the same way is `handlers.presentation`."""

from __future__ import annotations

import enum
import html
from collections.abc import Awaitable, Callable
from dataclasses import replace
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
from handlers.presentation import category_name, drop_buttons, in_name_order
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
    NAME = "name"  # a category's name in one language (/categories' buttons)
    NOTE = "note"  # an editor's note to an author (the review queue's buttons)


def category_keyboard(flow: str, categories: list[CategoryView]) -> InlineKeyboardMarkup | None:
    """The existing categories, two to a row, by their names in the admin's language; a new
    one is typed instead."""
    shown = in_name_order(categories)[:MAX_CATEGORY_BUTTONS]
    buttons = [button(category_name(c), flow, "cat", c.id) for c in shown]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return InlineKeyboardMarkup(rows) if rows else None


async def ask_again(update: Update, failure: ValidationFailed) -> int:
    await message_of(update).reply_text(_(texts.ADD_ASK_AGAIN, problem=problem_text(failure)))
    return ACTIVE


async def _known_category(context: BotContext, name: str) -> CategoryView | None:
    """The category that has this name, in any language (case and accents ignored)."""
    key = category_key(name)
    for category in await context.services.news.categories():
        if key in {category_key(known) for known in category.all_names}:
            return category
    return None


async def canonical_category(context: BotContext, name: str) -> str:
    """An existing category's original name when `name` is one of its names, in any language
    ("Travail décent" is filed under "Decent work", not under a new category)."""
    category = await _known_category(context, name)
    return category.name if category is not None else name


async def as_filed(context: BotContext, item: ItemView) -> ItemView:
    """The item with the names of the category it will be filed under (a draft knows only
    the category's name), so that its preview shows what each reader will see."""
    category = await _known_category(context, item.category)
    if category is None:  # a new category: no names yet
        return replace(item, category_names=())
    return replace(item, category=category.name, category_names=category.names)


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


async def versions_text(context: BotContext, item: ItemView) -> str:
    """ "🌐 Versions: #12 English (original), #15 French" for an admin, when the item's story
    has more than one; "" otherwise."""
    versions = await context.services.stories.versions(item.id)
    if len(versions) < 2:
        return ""
    tr = current()
    entries = [
        tr(
            texts.ITEM_VERSION_ORIGINAL if v.original else texts.ITEM_VERSION,
            id=v.id,
            language=html.escape(tr.language_name(v.language)),
        )
        for v in versions
    ]
    return tr(texts.ITEM_VERSIONS, versions=", ".join(entries))


def too_old_note(context: BotContext, item: ItemView, template: str) -> str:
    """A line saying the item's sent messages are past correcting (retention removed their
    record), or "" while they can still be reached."""
    retention = context.services.retention
    if item.created_at is None or retention.correctable(item.created_at):
        return ""
    return "\n\n" + _(template, id=item.id, days=retention.keep.days)


async def versions_below(context: BotContext, item: ItemView) -> str:
    """`versions_text`, as a paragraph to put below an item card ("" for a lone version)."""
    versions = await versions_text(context, item)
    return "\n\n" + versions if versions else ""


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
            if versions := await versions_text(context, listed):
                lines.append("    " + versions)
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
