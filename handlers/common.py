"""/start, /help, the catch-alls that keep the bot from ever going silent, and errors."""

from __future__ import annotations

import html
import logging

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import filters

from bot import i18n, texts
from bot.context import BotContext
from bot.i18n import _
from bot.services.admins import Role
from bot.services.chats import ChatInfo
from bot.services.errors import STORE_UNAVAILABLE
from handlers import deep_links, menus
from handlers.updates import chat_of, message_of

log = logging.getLogger(__name__)


class _AddressedToMe(filters.MessageFilter):
    """`/command@ThisBot`: in a group, a command meant for this bot and no other."""

    def filter(self, message: Message) -> bool:
        word = (message.text or "").split(maxsplit=1)[0] if message.text else ""
        _word, at, username = word.partition("@")
        return bool(at) and username.casefold() == message.get_bot().username.casefold()


ADDRESSED_TO_ME = _AddressedToMe()


def help_text(bot_username: str, *, role: Role | None) -> str:
    """Every command `role` may use (None: a reader's): the readers' first, then the role's."""
    lines = [_(texts.HELP_HEADER)]
    for command in texts.COMMANDS:
        if not command.admin_only:
            lines.append(_help_line(command))
    if role is not None:
        header = texts.HELP_AUTHOR_HEADER if role is Role.AUTHOR else texts.HELP_ADMIN_HEADER
        lines.append(_(header))
        lines.extend(_help_line(c) for c in menus.commands_for(role) if c.admin_only)
        if role is not Role.AUTHOR:
            lines.append(_(texts.HELP_ADMIN_PICTURES))
        lines.append(_(texts.HELP_ROLES))
    lines.append(_(texts.HELP_FOOTER, bot_username=html.escape(bot_username)))
    return "\n".join(lines)


def _help_line(command: texts.Command) -> str:
    usage = f"<code>{html.escape(_(command.usage))}</code> " if command.usage else ""
    return _(
        texts.HELP_LINE,
        name=command.name,
        usage=usage,
        description=html.escape(_(command.description)),
    )


def _role(update: Update, context: BotContext) -> Role | None:
    user = update.effective_user
    return None if user is None else menus.role_of(context.services, user.id)


async def remember_chat(update: Update, context: BotContext) -> None:
    """Runs first for every update: records the chat and sets the language of the reply.

    The app's language is set before the database is asked, so an update still gets the
    user's language (not an earlier update's) if the store is down."""
    user = update.effective_user
    app_language = i18n.negotiate(user.language_code) if user and user.language_code else None
    i18n.use(app_language or i18n.ENGLISH)
    chat = update.effective_chat
    if chat is None:
        return
    languages = await context.services.chats.remember(
        ChatInfo(
            id=chat.id,
            type=chat.type,
            title=chat.title or chat.full_name,
            username=chat.username,
            app_language=app_language,
        )
    )
    i18n.use(languages.interface)


async def start(update: Update, context: BotContext) -> None:
    """The welcome; with a deep link's payload (`t.me/<bot>?start=item_12`), what it names."""
    message = message_of(update)
    payload = context.args[0] if context.args and len(context.args) == 1 else ""
    if payload.startswith((deep_links.ITEM_PREFIX, deep_links.SUBSCRIBE_PREFIX)):
        await deep_links.open_link(update, context, payload)
        return
    # anything else (`inline`, from the inline button; an unknown payload): the welcome
    if chat_of(update).type == ChatType.PRIVATE:
        name = html.escape(update.effective_user.first_name if update.effective_user else "")
        await message.reply_text(_(texts.WELCOME, name=name))
    else:
        await message.reply_text(_(texts.WELCOME_GROUP))


async def show_help(update: Update, context: BotContext) -> None:
    await message_of(update).reply_text(
        help_text(context.bot.username, role=_role(update, context))
    )


async def unknown_command(update: Update, context: BotContext) -> None:
    await message_of(update).reply_text(_(texts.UNKNOWN_COMMAND))


async def plain_text(update: Update, context: BotContext) -> None:
    await message_of(update).reply_text(_(texts.PLAIN_TEXT_HINT))


async def edited_message(update: Update, context: BotContext) -> None:
    # An edit must not run a command a second time (an edited /add would publish twice).
    await message_of(update).reply_text(_(texts.EDITED_MESSAGE_HINT))


async def on_error(update: object, context: BotContext) -> None:
    error = context.error
    if isinstance(error, STORE_UNAVAILABLE):
        reply = _(texts.STORE_UNAVAILABLE)
        log.error("database unavailable: %s", error.__class__.__name__, exc_info=error)
    else:
        reply = _(texts.INTERNAL_ERROR)
        log.error("handler failed", exc_info=error)
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(reply, show_alert=True)
        elif update.effective_message is not None:
            await message_of(update).reply_text(reply)
    except TelegramError:
        log.warning("could not tell the user about the error", exc_info=True)
