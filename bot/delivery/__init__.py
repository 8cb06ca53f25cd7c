"""Sending: fan-out of new items, their corrections and digests, within Telegram's limits,
run by one leased-work runner (`runner`) for every kind of send (`kinds/`)."""

from bot.delivery.budget import Budget, SharedRateLimiter
from bot.delivery.chat_life import ChatLife
from bot.delivery.content import ItemMessage, send_item_message
from bot.delivery.engine import DeliveryEngine
from bot.delivery.leader import AlreadyRunning, SqliteGuard, leadership_for
from bot.delivery.options import DeliveryOptions
from bot.delivery.store import DeliveryStore
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
    "SharedRateLimiter",
    "SqliteGuard",
    "leadership_for",
    "send_item_message",
]
