"""The one rule for Telegram's errors: what happens next, whatever kind of send met them.

    RetryAfter (429)                         ─▶ RETRY_AFTER: everything waits, the same call again
    ChatMigrated                             ─▶ CHAT_MOVED: the chat moves, sends go on there
    Forbidden, "chat not found", …           ─▶ CHAT_GONE: the chat is marked gone, nothing more
    "topic closed", "thread not found", …    ─▶ TOPIC_GONE: the push goes to General
    a picture Telegram cannot use            ─▶ PICTURE_REFUSED: the item goes as text
    "message is not modified"                ─▶ NOT_MODIFIED: an edit that is already done
    "message to delete not found", …         ─▶ MESSAGE_GONE: the message is no longer there
    any other 400                            ─▶ PERMANENT: the request itself is wrong
    timeouts, dropped connections, 5xx       ─▶ TRANSIENT: tried again later, with back-off

This module is the only place in `bot.delivery` that looks at `telegram.error` classes; the
kinds of send (`bot.delivery.kinds`) see only a `Verdict`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bot.delivery.budget import retry_after
from bot.delivery.content import is_picture_error

# what Telegram says of a chat the bot can no longer reach (beside 403 Forbidden)
_GONE_CHAT = ("chat not found", "peer_id_invalid", "user not found")
# a forum topic that takes no messages (closed or deleted)
_GONE_TOPIC = ("topic_closed", "message thread not found", "topic_deleted")
_NOT_MODIFIED = ("message is not modified",)
_GONE_MESSAGE = ("message to delete not found", "message to edit not found", "message not found")


class Next(enum.Enum):
    RETRY_AFTER = "retry after"
    CHAT_MOVED = "chat moved"
    CHAT_GONE = "chat gone"
    TOPIC_GONE = "topic gone"
    PICTURE_REFUSED = "picture refused"
    NOT_MODIFIED = "not modified"
    MESSAGE_GONE = "message gone"
    PERMANENT = "permanent"
    TRANSIENT = "transient"


@dataclass(frozen=True, slots=True)
class Verdict:
    next: Next
    reason: str
    seconds: float = 0.0  # RETRY_AFTER: how long everything waits
    new_chat_id: int | None = None  # CHAT_MOVED: where the chat is now


def verdict(exc: TelegramError) -> Verdict:
    """What happens after Telegram answered `exc`."""
    if isinstance(exc, RetryAfter):
        return Verdict(Next.RETRY_AFTER, exc.message, seconds=retry_after(exc))
    if isinstance(exc, ChatMigrated):
        return Verdict(Next.CHAT_MOVED, exc.message, new_chat_id=exc.new_chat_id)
    if isinstance(exc, Forbidden):
        return Verdict(Next.CHAT_GONE, exc.message)
    if isinstance(exc, BadRequest):
        reason = exc.message.lower()
        if _mentions(reason, _GONE_TOPIC):
            return Verdict(Next.TOPIC_GONE, exc.message)
        if _mentions(reason, _GONE_CHAT):
            return Verdict(Next.CHAT_GONE, exc.message)
        if is_picture_error(exc):
            return Verdict(Next.PICTURE_REFUSED, exc.message)
        if _mentions(reason, _NOT_MODIFIED):
            return Verdict(Next.NOT_MODIFIED, exc.message)
        if _mentions(reason, _GONE_MESSAGE):
            return Verdict(Next.MESSAGE_GONE, exc.message)
        return Verdict(Next.PERMANENT, exc.message)
    # timeouts, dropped connections (NetworkError), 5xx and anything else Telegram-side
    return Verdict(Next.TRANSIENT, f"{exc.__class__.__name__}: {exc.message}")


def _mentions(reason: str, markers: tuple[str, ...]) -> bool:
    return any(marker in reason for marker in markers)
