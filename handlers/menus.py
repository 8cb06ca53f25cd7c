"""Telegram's command menu and the bot's description, in each chat's language.

Telegram picks a chat's menu from the most specific scope it has: this chat, then the
language of the user's app, then the default. So the default menu is English, each other
language has its own (a French app shows French descriptions before the first message), and
a chat that chose a language with /language, or whose user is an admin, gets a menu of its
own in the chat's language.
"""

from __future__ import annotations

import contextlib
import logging

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from bot import i18n, texts

log = logging.getLogger(__name__)


def command_menu(tr: i18n.Translator, *, admin: bool) -> list[BotCommand]:
    """The same commands as /help, in `tr`'s language; admin commands only for admins."""
    return [
        BotCommand(c.name, tr(c.description)) for c in texts.COMMANDS if admin or not c.admin_only
    ]


async def publish_menus(bot: Bot, admin_languages: dict[int, str]) -> None:
    """At start-up: the menus and descriptions per language, and each admin's own menu."""
    for language in i18n.LANGUAGES:
        tr = i18n.translator(language)
        code = None if language == i18n.ENGLISH else language  # English is the default
        await bot.set_my_commands(command_menu(tr, admin=False), language_code=code)
        with contextlib.suppress(TelegramError):
            await bot.set_my_description(tr(texts.BOT_DESCRIPTION), language_code=code)
            await bot.set_my_short_description(tr(texts.BOT_SHORT_DESCRIPTION), language_code=code)
    for admin_id, language in admin_languages.items():
        await set_chat_menu(bot, admin_id, language, admin=True)


async def set_chat_menu(bot: Bot, chat_id: int, language: str, *, admin: bool) -> None:
    """One chat's menu in its language (a chat the bot cannot reach yet is skipped)."""
    menu = command_menu(i18n.translator(language), admin=admin)
    try:
        await bot.set_my_commands(menu, scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:  # e.g. an admin who has not opened a chat with the bot yet
        log.info("no command menu for chat %s: %s", chat_id, exc.message)


async def drop_chat_menu(bot: Bot, chat_id: int) -> None:
    with contextlib.suppress(TelegramError):
        await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id))
