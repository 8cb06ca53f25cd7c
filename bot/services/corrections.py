"""Corrections by admins: edit a published item, or withdraw it (soft delete).

Both return the messages already sent for the item, so the caller can edit or delete them
in the subscribers' chats (only the sender talks to Telegram).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import utcnow
from bot.db.models import BroadcastQueue, Category, Delivery, Item
from bot.db.models.delivery import CANCELLED
from bot.services.audit import record
from bot.services.news import NewsService, item_view
from bot.services.validation import Problem, ValidationFailed
from bot.services.views import ItemView

# Telegram lets a bot delete its messages for everyone for 48 hours
DELETE_WINDOW = timedelta(hours=48)
EDITABLE = ("title", "summary", "url", "category")
# a literal, so PostgreSQL matches the partial index on pending deliveries
_PENDING = Delivery.status == literal_column("'pending'")


@dataclass(frozen=True, slots=True)
class SentMessage:
    chat_id: int
    message_id: int
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class Edited:
    item: ItemView
    before: ItemView
    sent: tuple[SentMessage, ...]


@dataclass(frozen=True, slots=True)
class Deleted:
    item: ItemView
    cancelled: int  # pending deliveries that will not go out
    sent: tuple[SentMessage, ...]  # may still be deleted (younger than 48 h)
    too_old: int  # sent more than 48 h ago: stay in their chats


class CorrectionsService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        news: NewsService,
        *,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._news = news
        self.now = now

    @staticmethod
    async def _sent(session: AsyncSession, item_id: int) -> list[SentMessage]:
        rows = await session.execute(
            select(Delivery.chat_id, Delivery.message_id, Delivery.sent_at)
            .where(Delivery.item_id == item_id, Delivery.message_id.is_not(None))
            .order_by(Delivery.chat_id)
        )
        return [SentMessage(chat_id, message_id, sent_at) for chat_id, message_id, sent_at in rows]

    async def edit(self, actor_id: int, item_id: int, field: str, value: str | None) -> Edited:
        """Change one field (already cleaned by `bot.services.validation`).

        Raises LookupError when the item is unknown or deleted, and
        ValidationFailed(DUPLICATE_URL) when the new link belongs to another item."""
        if field not in EDITABLE:
            raise ValueError(field)
        before = await self._news.get_item(item_id)
        if before is None:
            raise LookupError(item_id)
        if field == "url" and value is not None:
            existing = await self._news.find_by_url(value)
            if existing is not None and existing.id != item_id:
                raise ValidationFailed(Problem.DUPLICATE_URL, existing=existing)
        async with self._sessions.begin() as session:
            item = await session.get(Item, item_id, with_for_update=True)
            if item is None or item.deleted_at is not None:
                raise LookupError(item_id)
            if field == "category":
                category, _created = await NewsService._category_for_update(session, value or "")
                if category.id != item.category_id:
                    await self._count(session, item.category_id, -1)
                    await self._count(session, category.id, +1)
                    item.category_id = category.id
                category_name = category.name
            else:
                setattr(item, field, value)
                category_name = before.category
            record(
                session,
                actor_id,
                "edit",
                item_id=item_id,
                detail=f"{field}: {getattr(before, field)!r} -> {value!r}",
            )
            await session.flush()
            after = item_view(item, category_name)
            sent = await self._sent(session, item_id)
        self._news.invalidate()
        return Edited(after, before, tuple(sent))

    async def delete(self, actor_id: int, item_id: int) -> Deleted:
        """Withdraw an item: it leaves every listing, its pending deliveries are cancelled.

        Raises LookupError when the item is unknown or already deleted."""
        before = await self._news.get_item(item_id)
        if before is None:
            raise LookupError(item_id)
        now = self.now()
        async with self._sessions.begin() as session:
            # the link is freed (it is unique), so the item can be published again, corrected;
            # the audit entry keeps it
            gone = await session.execute(
                update(Item)
                .where(Item.id == item_id, Item.deleted_at.is_(None))
                .values(deleted_at=now, url=None)
            )
            if gone.rowcount != 1:
                raise LookupError(item_id)
            await self._count(session, before.category_id, -1)
            await session.execute(delete(BroadcastQueue).where(BroadcastQueue.item_id == item_id))
            cancelled = await session.execute(
                update(Delivery)
                .where(Delivery.item_id == item_id, _PENDING)
                .values(
                    status=CANCELLED,
                    last_error="item deleted",
                    lease_owner=None,
                    lease_until=None,
                )
                .execution_options(synchronize_session=False)
            )
            sent = await self._sent(session, item_id)
            detail = before.title if before.url is None else f"{before.title} <{before.url}>"
            record(session, actor_id, "delete", item_id=item_id, detail=detail)
        young = tuple(s for s in sent if s.sent_at is None or now - s.sent_at < DELETE_WINDOW)
        self._news.invalidate()
        return Deleted(before, max(cancelled.rowcount, 0), young, len(sent) - len(young))

    @staticmethod
    async def _count(session: AsyncSession, category_id: int, delta: int) -> None:
        await session.execute(
            update(Category)
            .where(Category.id == category_id)
            .values(item_count=Category.item_count + delta)
        )
