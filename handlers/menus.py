"""Telegram's command menu and the bot's description, in each chat's language.

Telegram picks a chat's menu from the most specific scope it has: this chat, then the
language of the user's app, then the default. So the default menu is English, each other
language has its own (a French app shows French descriptions before the first message), and
a chat that chose a language with /language, or whose user has a role (owner, editor,
author), gets a menu of its own in the chat's language, with the commands of that role.
"""

from __future__ import annotations

import contextlib
import logging

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    MenuButtonDefault,
    MenuButtonWebApp,
    WebAppInfo,
)
from telegram.error import TelegramError

from bot import i18n, texts
from bot.config import Settings
from bot.context import Services
from bot.services.admins import Role

log = logging.getLogger(__name__)


def commands_for(role: Role | None) -> list[texts.Command]:
    """What `role` may use (None: a reader): owners and editors everything, authors the
    readers' commands and what they prepare items with."""
    if role in (Role.OWNER, Role.EDITOR):
        return list(texts.COMMANDS)
    if role is Role.AUTHOR:
        return [c for c in texts.COMMANDS if not c.admin_only or c.authors]
    return [c for c in texts.COMMANDS if not c.admin_only]


def role_of(services: Services, user_id: int) -> Role | None:
    """The person's role as the handlers' filters hold it (None: a reader)."""
    if services.admin_roster.is_owner(user_id):
        return Role.OWNER
    if user_id in services.admins.user_ids:
        return Role.EDITOR
    if user_id in services.authors.user_ids:
        return Role.AUTHOR
    return None


def command_menu(tr: i18n.Translator, *, role: Role | None) -> list[BotCommand]:
    """The same commands as /help, in `tr`'s language: those `role` may use."""
    return [BotCommand(c.name, tr(c.description)) for c in commands_for(role)]


def newsroom_app(settings: Settings) -> str | None:
    """The newsroom's Mini App page, when it can be one (Telegram opens only https)."""
    return f"{settings.web_url}/app" if settings.web_secure else None


async def publish_menus(
    bot: Bot, people: dict[int, tuple[str, Role]], *, newsroom: str | None = None
) -> None:
    """At start-up: the menus and descriptions per language, and the own menu of each person
    with a role (by user id: their language and role)."""
    for language in i18n.LANGUAGES:
        tr = i18n.translator(language)
        code = None if language == i18n.ENGLISH else language  # English is the default
        await bot.set_my_commands(command_menu(tr, role=None), language_code=code)
        with contextlib.suppress(TelegramError):
            await bot.set_my_description(tr(texts.BOT_DESCRIPTION), language_code=code)
            await bot.set_my_short_description(tr(texts.BOT_SHORT_DESCRIPTION), language_code=code)
    for user_id, (language, role) in people.items():
        await set_chat_menu(bot, user_id, language, role=role, newsroom=newsroom)


async def set_chat_menu(
    bot: Bot, chat_id: int, language: str, *, role: Role | None, newsroom: str | None = None
) -> None:
    """One chat's menu in its language (a chat the bot cannot reach yet is skipped). Owners
    and editors also get a "Newsroom" button that opens the web newsroom as a Mini App, when
    `newsroom` (its https page) is given; anyone else gets the default button back."""
    tr = i18n.translator(language)
    menu = command_menu(tr, role=role)
    try:
        await bot.set_my_commands(menu, scope=BotCommandScopeChat(chat_id))
        if newsroom is not None and role in (Role.OWNER, Role.EDITOR):
            button = MenuButtonWebApp(tr(texts.WEB_BUTTON_NEWSROOM), WebAppInfo(newsroom))
            await bot.set_chat_menu_button(chat_id, button)
        elif newsroom is not None:
            await bot.set_chat_menu_button(chat_id, MenuButtonDefault())
    except TelegramError as exc:  # e.g. an admin who has not opened a chat with the bot yet
        log.info("no command menu for chat %s: %s", chat_id, exc.message)


async def drop_chat_menu(bot: Bot, chat_id: int, *, newsroom: str | None = None) -> None:
    """Back to the menu of the user's app language; and the default menu button, when the
    newsroom may have given them its own."""
    with contextlib.suppress(TelegramError):
        await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id))
        if newsroom is not None:
            await bot.set_chat_menu_button(chat_id, MenuButtonDefault())
