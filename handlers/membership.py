"""The bot's own membership: blocked, kicked, re-added; and groups becoming supergroups."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatMemberStatus

from bot.context import BotContext
from handlers.updates import MissingPart, message_of

log = logging.getLogger(__name__)

_GONE = {ChatMemberStatus.BANNED, ChatMemberStatus.LEFT}


async def on_my_chat_member(update: Update, context: BotContext) -> None:
    """Telegram tells us at once when a user blocks the bot or a group removes it, so the
    chat is marked inactive before any send to it fails (and active again when it is back)."""
    change = update.my_chat_member
    if change is None:
        raise MissingPart("chat member update", update)
    status = change.new_chat_member.status
    chat_id = change.chat.id
    active = status not in _GONE
    # (the service tells the sender: sends to the chat stop, or may start again)
    await context.services.subscriptions.set_chat_active(chat_id, active, reason=f"bot {status}")
    log.info("chat %s: bot is now %s", chat_id, status)


async def on_migrate(update: Update, context: BotContext) -> None:
    """The service message in the old group that names the new supergroup."""
    message = message_of(update)
    if message.migrate_to_chat_id:
        await context.services.subscriptions.migrate_chat(
            message.chat.id, message.migrate_to_chat_id
        )
