"""What several commands show the same way: a chat's settings in a few words (its digest,
its "News in" languages, its keyword filters, as /subscriptions sums them up and their own
commands show them), the Share button under an item, and retiring a keyboard that has done
its job. Also which items a chat is shown (its "News in"), which every list of items asks, and
categories by their names in the chat's language, which every list of categories shows.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Iterable

from babel.dates import get_day_names
from telegram import InlineKeyboardButton, Update
from telegram.error import BadRequest

from bot import i18n, texts
from bot.context import BotContext
from bot.i18n import _, current
from bot.render import share_query, trimmed
from bot.services.categories import category_key
from bot.services.digests import DAILY, WEEKLY, Schedule
from bot.services.filters import ChatFilters, FilterTerm
from bot.services.stories import Reader
from bot.services.views import CategoryView, ItemView
from handlers.updates import chat_id_of

SHARE_LABEL_MAX = 40  # the item's title in a Share button's label, under a list


# -- a chat's settings in words ----------------------------------------------------------


def weekday_name(weekday: int) -> str:
    return get_day_names("wide", locale=current().language)[weekday]


def schedule_summary(schedule: Schedule) -> str:
    """The digest setting in a few words (for /subscriptions)."""
    if schedule.mode == DAILY:
        return _(texts.DIGEST_MODE_DAILY, time=schedule.clock)
    if schedule.mode == WEEKLY:
        return _(
            texts.DIGEST_MODE_WEEKLY, weekday=weekday_name(schedule.weekday), time=schedule.clock
        )
    return _(texts.DIGEST_MODE_OFF)


def news_summary(news: frozenset[str] | None) -> str:
    """The "News in" setting in words: "all languages", or "English, French"."""
    tr = current()
    if news is None:
        return tr(texts.NEWS_IN_ALL)
    return ", ".join(news_choice_name(tr, choice) for choice in i18n.NEWS_CHOICES if choice in news)


def news_choice_name(tr: i18n.Translator, choice: str) -> str:
    """One "News in" choice: a language's name, or "other languages"."""
    if choice == i18n.OTHER_LANGUAGES:
        return tr(texts.NEWS_IN_OTHERS)
    return tr.language_name(choice)


def _terms(terms: tuple[FilterTerm, ...]) -> str:
    return ", ".join(_(texts.FILTER_TERM, term=html.escape(t.label)) for t in terms)


def rules_text(filters: ChatFilters) -> str:
    """The filters in words, one line for the include terms and one for the exclude ones."""
    lines = []
    if filters.include:
        lines.append(_(texts.FILTER_INCLUDE, terms=_terms(filters.include)))
    if filters.exclude:
        lines.append(_(texts.FILTER_EXCLUDE, terms=_terms(filters.exclude)))
    return "\n".join(lines)


# -- categories ----------------------------------------------------------------------------


def category_name(category: CategoryView) -> str:
    """A category's name in the current update's language (its original where it has none)."""
    return category.name_in(current().language)


def in_name_order(categories: Iterable[CategoryView]) -> list[CategoryView]:
    """Categories in the order of their names in the current update's language."""
    return sorted(categories, key=lambda c: category_key(category_name(c)))


# -- items and keyboards -------------------------------------------------------------------


async def news_choices(update: Update, context: BotContext) -> frozenset[str] | None:
    """The item languages this chat reads (its /language "News in"); None: all."""
    return (await context.services.chats.languages(chat_id_of(update))).news


async def reader_of(update: Update, context: BotContext) -> Reader:
    """Who a listing is for: this chat's interface language and "News in" choices."""
    return Reader(current().language, await news_choices(update, context))


def share_button(item: ItemView, *, labelled: bool = False) -> InlineKeyboardButton:
    """ "↗️ Share": pick a chat, and inline mode opens there with the item's title.
    `labelled`: the title is in the label too, for lists where several items have one."""
    label = (
        _(texts.SHARE_ITEM_BUTTON, title=trimmed(item.title, SHARE_LABEL_MAX))
        if labelled
        else _(texts.SHARE_BUTTON)
    )
    return InlineKeyboardButton(label, switch_inline_query=share_query(item))


async def drop_buttons(update: Update) -> None:
    """The buttons under a pressed button's message have done their job (a finished step, or
    a More button whose page now follows below)."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    # BadRequest: already edited (by an earlier tap), or the message is gone
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(reply_markup=None)
