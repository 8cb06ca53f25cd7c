"""Who may change a chat's settings (its subscriptions, its languages).

In groups only the group's administrators may, asked of Telegram with getChatMember, so it is
right even after admins change. In a channel, posting a command already takes a channel admin.
"""

from __future__ import annotations

from telegram import Chat, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from bot.context import BotContext
from handlers.updates import user_of

_ADMIN_STATUSES = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR}


async def may_manage(update: Update, context: BotContext, chat: Chat) -> bool:
    """Private chats and channels: yes. Groups: only the group's administrators."""
    if chat.type in (ChatType.PRIVATE, ChatType.CHANNEL):
        if chat.type == ChatType.CHANNEL and update.callback_query is not None:
            return await is_chat_admin(context, chat.id, user_of(update).id)
        return True
    message = update.effective_message
    if update.callback_query is None and message is not None and message.sender_chat:
        # an anonymous administrator posts as the group itself
        return message.sender_chat.id == chat.id
    user = update.effective_user
    return user is not None and await is_chat_admin(context, chat.id, user.id)


async def is_chat_admin(context: BotContext, chat_id: int, user_id: int) -> bool:
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
    except TelegramError:
        return False
    return member.status in _ADMIN_STATUSES
