"""Sending: fan-out of new items, their corrections and digests, within Telegram's limits,
run by one leased-work runner (`runner`) for every kind of send (`kinds/`)."""

from bot.delivery.budget import Budget, SharedRateLimiter
from bot.delivery.chat_life import ChatLife
from bot.delivery.content import ItemMessage, Shape, send_item_message
from bot.delivery.engine import DeliveryEngine
from bot.delivery.leader import AlreadyRunning, SqliteGuard, leadership_for
from bot.delivery.options import DeliveryOptions
from bot.delivery.store import DeliveryStore
from bot.delivery.telegram_errors import is_picture_error
from bot.delivery.transport import AiohttpRequest, BroadcastBot

__all__ = [
    "AiohttpRequest",
    "AlreadyRunning",
    "BroadcastBot",
    "Budget",
    "ChatLife",
    "DeliveryEngine",
    "DeliveryOptions",
    "DeliveryStore",
    "ItemMessage",
    "Shape",
    "SharedRateLimiter",
    "SqliteGuard",
    "is_picture_error",
    "leadership_for",
    "send_item_message",
]
