"""All ORM models, imported here so `Base.metadata` knows every table (Alembic relies on it)."""

from bot.db.base import Base
from bot.db.models.chats import Chat
from bot.db.models.corrections import Correction, CorrectionRequest
from bot.db.models.delivery import BroadcastQueue, Delivery, DeliveryDay, Subscription
from bot.db.models.desk import Notice, Submission, SuggestBlock, Suggestion
from bot.db.models.digests import Digest
from bot.db.models.feeds import Feed, FeedEntrySeen
from bot.db.models.filters import ChatFilter, FilteredPush
from bot.db.models.news import Category, CategoryName, Item
from bot.db.models.publishing import Admin, AuditEntry, BroadcastReport, Draft, ScheduledItem
from bot.db.models.reach import ItemOpenDay, ItemReach, MessageReaction, ReachDay, ReachTotal
from bot.db.models.search import Search
from bot.db.models.updates import UpdateSeen
from bot.db.models.web import WebLogin, WebSession

__all__ = [
    "Admin",
    "AuditEntry",
    "Base",
    "BroadcastQueue",
    "BroadcastReport",
    "Category",
    "CategoryName",
    "Chat",
    "ChatFilter",
    "Correction",
    "CorrectionRequest",
    "Delivery",
    "DeliveryDay",
    "Digest",
    "Draft",
    "Feed",
    "FeedEntrySeen",
    "FilteredPush",
    "Item",
    "ItemOpenDay",
    "ItemReach",
    "MessageReaction",
    "Notice",
    "ReachDay",
    "ReachTotal",
    "ScheduledItem",
    "Search",
    "Submission",
    "Subscription",
    "SuggestBlock",
    "Suggestion",
    "UpdateSeen",
    "WebLogin",
    "WebSession",
]
