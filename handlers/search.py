"""/search: the best matches for some words, five at a time, and the More button under them.

The search's text is kept in the database (`SearchService.remember`), not in the button: it
may be far longer than callback data's 64 bytes, and any worker process may get the tap.
"""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import callbacks, texts
from bot.callbacks import SearchMore, StaleCallback
from bot.context import BotContext
from bot.i18n import _
from bot.render import item_list, one_line
from bot.services.search import SearchPage
from handlers.presentation import drop_buttons, reader_of
from handlers.updates import chat_id_of, chat_of, message_of, query_of

PAGE_SIZE = 5  # five cards always fit one message (each is under 600 characters)
QUERY_SHOWN = 60  # characters of the query repeated in the header


def _search_text(update: Update) -> str:
    """Everything after the command, as typed (quotes and minus signs are syntax)."""
    parts = (message_of(update).text or "").split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def _keyboard(page: SearchPage, search_id: int | None) -> InlineKeyboardMarkup | None:
    if not page.more or page.cursor is None or search_id is None:
        return None
    data = callbacks.encode(SearchMore(search_id, page.cursor))
    return InlineKeyboardMarkup([[InlineKeyboardButton(_(texts.MORE_BUTTON), callback_data=data)]])


def _shown_query(text: str) -> str:
    return html.escape(one_line(text, QUERY_SHOWN))


async def search(update: Update, context: BotContext) -> None:
    message = message_of(update)
    text = _search_text(update)
    if not text:
        await message.reply_text(_(texts.SEARCH_HELP))
        return
    services = context.services
    reader = await reader_of(update, context)
    page = await services.search.search(text, limit=PAGE_SIZE, reader=reader)
    if page.nothing_to_search:
        await message.reply_text(_(texts.SEARCH_NOTHING) + "\n\n" + _(texts.SEARCH_HELP))
        return
    if not page.items:
        template = (
            texts.SEARCH_NO_MATCH if reader.news is None else texts.SEARCH_NO_MATCH_IN_LANGUAGES
        )
        await message.reply_text(_(template, query=_shown_query(text)))
        return
    search_id = None
    if page.more:
        search_id = await services.search.remember(chat_id_of(update), text)
    header = _(texts.SEARCH_HEADER, query=_shown_query(text))
    reply, _shown = item_list(header, page.items, services.settings.tz)
    await message.reply_text(reply, reply_markup=_keyboard(page, search_id))


async def on_more(update: Update, context: BotContext) -> None:
    """The next five results; a button whose search is forgotten (a day old) has expired."""
    query = query_of(update)
    services = context.services
    try:
        action = callbacks.decode(query.data, (SearchMore,))
    except StaleCallback:
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return
    assert isinstance(action, SearchMore)
    text = await services.search.recall(action.search_id, chat_id_of(update))
    if text is None:
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return
    reader = await reader_of(update, context)
    page = await services.search.search(text, limit=PAGE_SIZE, after=action.cursor, reader=reader)
    if not page.items:
        await query.answer(_(texts.SEARCH_NO_MORE))
        await drop_buttons(update)
        return
    await query.answer()
    header = _(texts.SEARCH_MORE_HEADER, query=_shown_query(text))
    reply, _shown = item_list(header, page.items, services.settings.tz)
    await chat_of(update).send_message(reply, reply_markup=_keyboard(page, action.search_id))
    await drop_buttons(update)
