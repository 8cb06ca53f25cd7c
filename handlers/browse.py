"""Reading news: /latest, /category, and the More / category buttons under them."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import callbacks, texts
from bot.callbacks import MorePage, ShowCategory, StaleCallback
from bot.context import BotContext
from bot.i18n import _, current
from bot.render import item_list
from bot.services.news import Match
from bot.services.validation import CATEGORY_NAME_MAX
from bot.services.views import CategoryView, Page
from handlers.presentation import (
    category_name,
    drop_buttons,
    in_name_order,
    reader_of,
    share_button,
)
from handlers.updates import args_of, chat_of, message_of, query_of

DEFAULT_COUNT = 5
MAX_COUNT = 20


def _more_keyboard(
    page: Page, shown: int, category_id: int | None, limit: int, *, share: bool = False
) -> InlineKeyboardMarkup | None:
    """A More button when older items follow the last one shown (or when not all fitted);
    with `share`, first a Share button per item shown, labelled with its title."""
    rows = [[share_button(item, labelled=True)] for item in page.items[:shown]] if share else []
    if shown and (shown < len(page.items) or page.more):
        last = page.items[shown - 1]
        data = callbacks.encode(MorePage(category_id, limit, last.cursor))
        rows.append([InlineKeyboardButton(_(texts.MORE_BUTTON), callback_data=data)])
    return InlineKeyboardMarkup(rows) if rows else None


def categories_keyboard(categories: list[CategoryView]) -> InlineKeyboardMarkup:
    # Telegram allows 100 buttons in a keyboard; two per row keeps it compact on phones
    buttons = [
        InlineKeyboardButton(
            _(texts.CATEGORY_BUTTON, name=category_name(c), count=c.item_count),
            callback_data=callbacks.encode(ShowCategory(c.id)),
        )
        for c in in_name_order(categories)[:100]
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def _parse_count(args: list[str]) -> tuple[int | None, bool]:
    """The N of /latest N: (count, clamped) or (None, False) when it is not a usable number."""
    if not args:
        return DEFAULT_COUNT, False
    raw = args[0]
    if len(args) > 1 or not raw.isascii() or not raw.isdigit():
        return None, False
    count = int(raw)
    if count < 1:
        return None, False
    return min(count, MAX_COUNT), count > MAX_COUNT


async def latest(update: Update, context: BotContext) -> None:
    message = message_of(update)
    count, clamped = _parse_count(args_of(context))
    if count is None:
        await message.reply_text(_(texts.LATEST_BAD_NUMBER, max=MAX_COUNT, default=DEFAULT_COUNT))
        return
    reader = await reader_of(update, context)
    page = await context.services.news.page(count, reader=reader)
    if not page.items:
        empty = texts.NO_ITEMS if reader.news is None else texts.NO_ITEMS_IN_LANGUAGES
        await message.reply_text(_(empty))
        return
    header = _(texts.LATEST_HEADER)
    if clamped:
        header = _(texts.LATEST_CLAMPED, max=MAX_COUNT) + "\n\n" + header
    text, shown = item_list(header, page.items, context.services.settings.tz)
    await message.reply_text(text, reply_markup=_more_keyboard(page, shown, None, count))


async def _send_category(
    update: Update, context: BotContext, category: CategoryView, page: Page
) -> None:
    name = html.escape(category_name(category))
    if not page.items:
        await chat_of(update).send_message(_(texts.NO_ITEMS_IN_CATEGORY, name=name))
        return
    header = _(
        texts.CATEGORY_HEADER,
        name=name,
        count=current().plural(texts.ITEMS, category.item_count),
    )
    text, shown = item_list(header, page.items, context.services.settings.tz)
    await chat_of(update).send_message(
        text, reply_markup=_more_keyboard(page, shown, category.id, DEFAULT_COUNT, share=True)
    )


async def category(update: Update, context: BotContext) -> None:
    message = message_of(update)
    news = context.services.news
    reader = await reader_of(update, context)
    name = " ".join(args_of(context))
    if not name:
        categories = await news.categories(reader=reader)
        if not categories:
            await message.reply_text(_(texts.CATEGORY_NONE))
            return
        await message.reply_text(
            _(texts.CATEGORY_CHOOSE), reply_markup=categories_keyboard(categories)
        )
        return
    if len(name) > CATEGORY_NAME_MAX:
        await message.reply_text(_(texts.CATEGORY_NAME_TOO_LONG, max=CATEGORY_NAME_MAX))
        return
    match = await news.find_category(name)
    if match.outcome is Match.FOUND and match.category is not None:
        found, page = await news.category_page(match.category.id, DEFAULT_COUNT, reader=reader)
        await _send_category(update, context, found or match.category, page)
        return
    template = (
        _(texts.CATEGORY_AMBIGUOUS)
        if match.outcome is Match.AMBIGUOUS
        else _(texts.CATEGORY_UNKNOWN)
    )
    candidates = list(match.candidates)
    if not candidates:
        await message.reply_text(_(texts.CATEGORY_NONE))
        return
    await message.reply_text(
        template.format(name=html.escape(name)), reply_markup=categories_keyboard(candidates)
    )


async def on_button(update: Update, context: BotContext) -> None:
    """More pages and category taps; anything this release did not make has expired."""
    query = query_of(update)
    try:
        action = callbacks.decode(query.data, (MorePage, ShowCategory), max_limit=MAX_COUNT)
    except StaleCallback:
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return
    news = context.services.news
    reader = await reader_of(update, context)
    if isinstance(action, ShowCategory):
        found, page = await news.category_page(action.category_id, DEFAULT_COUNT, reader=reader)
        if found is None:
            await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
            return
        await query.answer()
        await _send_category(update, context, found, page)
        return
    assert isinstance(action, MorePage)
    category = None
    if action.category_id is None:
        page = await news.page(action.limit, after=action.cursor, reader=reader)
    else:
        category, page = await news.category_page(
            action.category_id, action.limit, after=action.cursor, reader=reader
        )
        if category is None:
            await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
            return
    if not page.items:
        await query.answer(_(texts.NO_MORE_ITEMS))
        await drop_buttons(update)
        return
    await query.answer()
    header = (
        _(texts.CATEGORY_MORE_HEADER, name=html.escape(category_name(category)))
        if category
        else _(texts.LATEST_MORE_HEADER)
    )
    text, shown = item_list(header, page.items, context.services.settings.tz)
    # a category's pages offer Share buttons like its first page; /latest's stay compact
    share = action.category_id is not None
    await chat_of(update).send_message(
        text,
        reply_markup=_more_keyboard(page, shown, action.category_id, action.limit, share=share),
    )
    await drop_buttons(update)
