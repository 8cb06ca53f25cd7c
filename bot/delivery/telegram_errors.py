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

This module is the only place in `bot.delivery` that catches `telegram.error` classes
(`answered`); the kinds of send (`bot.delivery.kinds`), the reply budget and the single-item
views see only a `Verdict` (tests/test_layers.py keeps it so).
"""

from __future__ import annotations

import enum
import warnings
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

T = TypeVar("T")

# what Telegram says of a chat the bot can no longer reach (beside 403 Forbidden)
_GONE_CHAT = ("chat not found", "peer_id_invalid", "user not found")
# a forum topic that takes no messages (closed or deleted)
_GONE_TOPIC = ("topic_closed", "message thread not found", "topic_deleted")
_NOT_MODIFIED = ("message is not modified",)
_GONE_MESSAGE = ("message to delete not found", "message to edit not found", "message not found")
# what Telegram answers when the picture itself is the problem (not the chat, not the text):
# the URL cannot be fetched or is no image, the file_id is wrong, the image is too big
_PICTURE_ERRORS = (
    "wrong file identifier",
    "wrong remote file identifier",
    "failed to get http url content",
    "wrong type of the web page content",
    "image_process_failed",
    "photo_",  # PHOTO_INVALID_DIMENSIONS, PHOTO_SAVE_FILE_INVALID, PHOTO_EXT_INVALID …
    "file is too big",
    "webpage_",  # WEBPAGE_CURL_FAILED, WEBPAGE_MEDIA_EMPTY
    "media_empty",
    "there is no photo in the request",
    "file reference",
)


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
    # Telegram's answer itself, for a caller to raise again what is not its to handle
    error: TelegramError | None = field(default=None, compare=False, repr=False)

    def raise_again(self) -> None:
        if self.error is not None:
            raise self.error
        raise RuntimeError(f"Telegram refused: {self.next.value}: {self.reason}")


async def answered(call: Awaitable[T]) -> T | Verdict:
    """The call's answer, or what happens next when Telegram refused it."""
    try:
        return await call
    except TelegramError as exc:
        return verdict(exc)


def verdict(exc: TelegramError) -> Verdict:
    """What happens after Telegram answered `exc`."""
    found = _classify(exc)
    return Verdict(found.next, found.reason, found.seconds, found.new_chat_id, error=exc)


def _classify(exc: TelegramError) -> Verdict:
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


def is_picture_error(exc: BadRequest) -> bool:
    """Telegram refused the picture: the message can still go out as text."""
    return _mentions(exc.message.lower(), _PICTURE_ERRORS)


def retry_after(exc: RetryAfter) -> float:
    """Seconds to wait, whichever type this PTB version gives (int now, timedelta later)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _mentions(reason: str, markers: tuple[str, ...]) -> bool:
    return any(marker in reason for marker in markers)
