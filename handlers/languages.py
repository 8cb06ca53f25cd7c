"""/language: the language the bot speaks in a chat, and the languages of the news it gets.

The keyboard has two parts: the interface languages (one is marked), and "News in" toggles
for items written in English, French, Spanish or any other language. In groups only the
group's administrators may change either (the same rule as for subscriptions).
"""

from __future__ import annotations

import html
import unicodedata

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot import i18n, texts
from bot.callbacks import ChooseLanguage, StaleCallback, decode, encode
from bot.context import BotContext
from bot.i18n import _, current
from bot.services.chats import ChatLanguages
from handlers import menus
from handlers.permissions import may_manage
from handlers.presentation import news_choice_name, news_summary
from handlers.updates import chat_of, message_of, query_of


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def _aliases() -> dict[str, str]:
    """What /language accepts for each language: its code and its name in any of the three
    ("fr", "french", "français", "francés"…), without accents or case."""
    names: dict[str, str] = {}
    for language in i18n.LANGUAGES:
        names[language] = language
        for speaker in i18n.LANGUAGES:
            names[_fold(i18n.translator(speaker).language_name(language))] = language
    return names


_ALIASES = _aliases()


def _capitalised(name: str) -> str:
    return name[:1].upper() + name[1:]


def menu_text(languages: ChatLanguages) -> str:
    tr = current()
    return tr(
        texts.LANGUAGE_MENU,
        language=html.escape(tr.language_name(languages.interface)),
        news=html.escape(news_summary(languages.news)),
    )


def menu_keyboard(languages: ChatLanguages) -> InlineKeyboardMarkup:
    tr = current()
    interface = [
        InlineKeyboardButton(
            (texts.NEWS_IN_CHECK if code == languages.interface else "") + name,
            callback_data=encode(ChooseLanguage(code)),
        )
        for code, name in i18n.LANGUAGE_NAMES.items()
    ]

    def news_button(choice: str) -> InlineKeyboardButton:
        mark = texts.NEWS_IN_CHECK if languages.receives_choice(choice) else ""
        if choice == i18n.OTHER_LANGUAGES:
            label = tr(texts.NEWS_IN_OTHERS_BUTTON, mark=mark)
        else:
            label = tr(
                texts.NEWS_IN_BUTTON, mark=mark, language=_capitalised(tr.language_name(choice))
            )
        return InlineKeyboardButton(label, callback_data=encode(ChooseLanguage(choice, news=True)))

    return InlineKeyboardMarkup(
        [
            interface,
            [news_button(code) for code in i18n.LANGUAGES],
            [news_button(i18n.OTHER_LANGUAGES)],
        ]
    )


async def language(update: Update, context: BotContext) -> None:
    message = message_of(update)
    chat = chat_of(update)
    if context.args:
        wanted = _ALIASES.get(_fold(" ".join(context.args)))
        if wanted is None:
            code = html.escape(" ".join(context.args)[:32])
            await message.reply_text(_(texts.LANGUAGE_UNKNOWN, code=code))
            return
        if not await may_manage(update, context, chat):
            await message.reply_text(_(texts.LANGUAGE_ADMINS_ONLY))
            return
        await _switch(update, context, wanted)
        await message.reply_text(_(texts.LANGUAGE_SWITCHED))
        return
    languages = await context.services.chats.languages(chat.id)
    await message.reply_text(menu_text(languages), reply_markup=menu_keyboard(languages))


async def _switch(update: Update, context: BotContext, wanted: str) -> ChatLanguages:
    """Speak `wanted` in this chat from now on: stored, this very reply, and the menu."""
    chat = chat_of(update)
    languages = await context.services.chats.choose_language(chat.id, wanted)
    i18n.use(languages.interface)
    user = update.effective_user
    private = chat.type == "private" and user is not None
    role = menus.role_of(context.services, user.id) if private and user else None
    newsroom = menus.newsroom_app(context.services.settings)
    await menus.set_chat_menu(
        context.bot, chat.id, languages.interface, role=role, newsroom=newsroom
    )
    return languages


async def on_button(update: Update, context: BotContext) -> None:
    query = query_of(update)
    try:
        choice = decode(query.data, (ChooseLanguage,))
    except StaleCallback:
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return
    assert isinstance(choice, ChooseLanguage)
    chat = chat_of(update)
    if not await may_manage(update, context, chat):
        await query.answer(_(texts.LANGUAGE_ADMINS_ONLY_ALERT), show_alert=True)
        return
    chats = context.services.chats
    if not choice.news:
        languages = await _switch(update, context, choice.code)
        await query.answer(_(texts.LANGUAGE_SWITCHED))
    else:
        before = await chats.languages(chat.id)
        receiving = before.news if before.news is not None else frozenset(i18n.NEWS_CHOICES)
        turned_on = choice.code not in receiving
        after = receiving | {choice.code} if turned_on else receiving - {choice.code}
        if not after:
            await query.answer(_(texts.NEWS_IN_LAST), show_alert=True)
            return
        languages = await chats.choose_news(chat.id, frozenset(after))
        if choice.code == i18n.OTHER_LANGUAGES:
            await query.answer(
                _(texts.NEWS_IN_OTHERS_ON if turned_on else texts.NEWS_IN_OTHERS_OFF)
            )
        else:
            name = news_choice_name(current(), choice.code)
            await query.answer(
                _(texts.NEWS_IN_ON if turned_on else texts.NEWS_IN_OFF, language=name)
            )
    try:
        await query.edit_message_text(menu_text(languages), reply_markup=menu_keyboard(languages))
    except BadRequest as exc:  # "message is not modified": two taps on the same button
        if "not modified" not in exc.message:
            raise
