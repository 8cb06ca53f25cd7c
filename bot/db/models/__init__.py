"""All ORM models, imported here so `Base.metadata` knows every table (Alembic relies on it)."""

from bot.db.base import Base
from bot.db.models.chats import Chat
from bot.db.models.delivery import BroadcastQueue
from bot.db.models.news import Category, Item

__all__ = ["Base", "BroadcastQueue", "Category", "Chat", "Item"]
