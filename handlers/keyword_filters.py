"""/filter: a chat's keyword filters, and its keyboard (a remove button per term, Clear all).

`/filter` shows them with how to change them; `/filter add housing "worker co-op" -bank`,
`/filter remove housing` and `/filter clear` change them. In groups only administrators may
change them (the same rule as /subscribe). A bad term, a 21st term or a stale button gets a
reply with the right form, and nothing changes.
"""

from __future__ import annotations

import contextlib
import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot import texts
from bot.callbacks import FilterButton, StaleCallback, decode, encode
from bot.context import BotContext
from bot.i18n import _
from bot.services.filters import (
    MAX_TERMS,
    TERM_MAX,
    BadTerm,
    ChatFilters,
    TooManyTerms,
    UnknownTerm,
    parse_terms,
)
from handlers.permissions import may_manage
from handlers.presentation import rules_text
from handlers.updates import args_of, chat_of, message_of, query_of

ADD = "add"
REMOVE = frozenset({"remove", "rm", "del", "delete"})
CLEAR = "clear"


# -- rendering ---------------------------------------------------------------------------


def _how() -> str:
    return _(texts.FILTER_HOW, max=MAX_TERMS, length=TERM_MAX)


def menu_text(filters: ChatFilters) -> str:
    if not filters.terms:
        return _(texts.FILTER_NONE, how=_how())
    return _(texts.FILTER_SHOW, rules=rules_text(filters), how=_how())


def keyboard(filters: ChatFilters) -> InlineKeyboardMarkup | None:
    if not filters.terms:
        return None
    buttons = [
        InlineKeyboardButton(
            _(texts.FILTER_REMOVE_BUTTON, term=("-" if t.exclude else "") + t.label),
            callback_data=encode(FilterButton(t.id)),
        )
        for t in filters.terms
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(
        [InlineKeyboardButton(_(texts.FILTER_CLEAR_BUTTON), callback_data=encode(FilterButton()))]
    )
    return InlineKeyboardMarkup(rows)


# -- the command ---------------------------------------------------------------------------


async def filter_command(update: Update, context: BotContext) -> None:
    message = message_of(update)
    chat = chat_of(update)
    service = context.services.filters
    args = args_of(context)
    if not args:
        filters = await service.of_chat(chat.id)
        await message.reply_text(menu_text(filters), reply_markup=keyboard(filters))
        return
    verb = args[0].casefold()
    if verb != ADD and verb not in REMOVE and verb != CLEAR:
        await message.reply_text(_(texts.FILTER_USAGE, how=_how()))
        return
    if not await may_manage(update, context, chat):
        await message.reply_text(_(texts.FILTER_ADMINS_ONLY))
        return
    if verb == CLEAR:
        if await service.clear(chat.id):
            await message.reply_text(_(texts.FILTER_CLEARED))
        else:
            await message.reply_text(_(texts.FILTER_NOTHING_TO_CLEAR))
        return
    # the words after the verb as typed (context.args splits inside quoted phrases)
    rest = (message.text or "").split(maxsplit=2)[2] if len(args) > 1 else ""
    try:
        terms = parse_terms(rest)
    except BadTerm as bad:
        await message.reply_text(_bad_term(bad))
        return
    if not terms:
        await message.reply_text(_(texts.FILTER_USAGE, how=_how()))
        return
    if verb == ADD:
        try:
            filters = await service.add(chat.id, terms)
        except TooManyTerms as too_many:
            await message.reply_text(
                _(
                    texts.FILTER_TOO_MANY,
                    max=MAX_TERMS,
                    count=too_many.count,
                    adding=too_many.adding,
                )
            )
            return
        text = _(texts.FILTER_ADDED) + "\n\n" + menu_text(filters)
        await message.reply_text(text, reply_markup=keyboard(filters))
        return
    try:
        removed = await service.remove(chat.id, terms)
    except UnknownTerm as unknown:
        await message.reply_text(
            _(texts.FILTER_UNKNOWN_TERM, term=html.escape(str(unknown.args[0])))
        )
        return
    labels = ", ".join(_(texts.FILTER_TERM, term=html.escape(label)) for label in removed.labels)
    text = _(texts.FILTER_REMOVED, terms=labels) + "\n\n" + menu_text(removed.filters)
    await message.reply_text(text, reply_markup=keyboard(removed.filters))


def _bad_term(bad: BadTerm) -> str:
    if bad.reason == "long":
        return _(
            texts.FILTER_TOO_LONG,
            max=TERM_MAX,
            term=html.escape(bad.label[:TERM_MAX] + "…"),
            length=len(bad.label),
        )
    return _(texts.FILTER_ONLY_PUNCTUATION, term=html.escape(bad.label))


# -- the keyboard --------------------------------------------------------------------------


async def on_button(update: Update, context: BotContext) -> None:
    query = query_of(update)
    try:
        button = decode(query.data, (FilterButton,))
    except StaleCallback:
        await query.answer(_(texts.FILTER_BUTTON_STALE), show_alert=True)
        return
    assert isinstance(button, FilterButton)
    chat = chat_of(update)
    if not await may_manage(update, context, chat):
        await query.answer(_(texts.FILTER_ADMINS_ONLY_ALERT), show_alert=True)
        return
    service = context.services.filters
    if button.term_id is None:
        await service.clear(chat.id)
        await query.answer(_(texts.FILTER_CLEARED_ALERT))
        filters = ChatFilters(chat.id)
    else:
        try:
            removed = await service.remove_id(chat.id, button.term_id)
        except UnknownTerm:
            await query.answer(_(texts.FILTER_BUTTON_STALE), show_alert=True)
            return
        await query.answer(_(texts.FILTER_REMOVED_ALERT, term=removed.labels[0]))
        filters = removed.filters
    # BadRequest "message is not modified": a double tap that changed nothing
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(menu_text(filters), reply_markup=keyboard(filters))
