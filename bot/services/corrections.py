"""Corrections by admins: edit a published item, or withdraw it (soft delete).

Both write, in the transaction that changes the item, one correction row per message already
sent (edit it, or delete it), and a request row that says who asked and where to report. The
delivery engine carries the rows out like deliveries (leased, retried, resumed after a crash),
and the report job tells the admin once every row is final (`ReportService`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    delete,
    func,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import BigIntId, UTCDateTime, utcnow
from bot.db.locks import writing_for_chats
from bot.db.models import BroadcastQueue, Category, Correction, CorrectionRequest, Delivery, Item
from bot.db.models.corrections import DELETE, EDIT, insert_corrections
from bot.db.models.delivery import CANCELLED, SENT
from bot.db.results import rowcount
from bot.db.rollups import cancelled_pushes
from bot.services.audit import record
from bot.services.invalidation import ITEMS, announce
from bot.services.news import NewsService, item_view
from bot.services.validation import Problem, ValidationFailed
from bot.services.views import ItemView, names_of

# Telegram lets a bot delete its messages for everyone for 48 hours
DELETE_WINDOW = timedelta(hours=48)
EDITABLE = ("title", "summary", "url", "category")
# literals, so PostgreSQL matches the partial indexes on pending rows
_PENDING = Delivery.status == literal_column("'pending'")
_CORRECTION_PENDING = Correction.status == literal_column("'pending'")


@dataclass(frozen=True, slots=True)
class Edited:
    item: ItemView
    before: ItemView
    request_id: int
    messages: int  # sent messages that will be edited


@dataclass(frozen=True, slots=True)
class Deleted:
    item: ItemView
    request_id: int
    cancelled: int  # pending deliveries that will not go out
    messages: int  # sent messages that will be deleted (younger than 48 h)
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
        self._on_corrected: list[Callable[[int], None]] = []

    def on_corrected(self, listener: Callable[[int], None]) -> None:
        """Call `listener(item_id)` once an edit or deletion is committed (the sender sends
        the item as it is now, and starts correcting what it sent)."""
        self._on_corrected.append(listener)

    def _corrected(self, item_id: int) -> None:
        self._news.invalidate()
        for listener in self._on_corrected:
            listener(item_id)

    @staticmethod
    async def _request(
        session: AsyncSession,
        actor_id: int,
        item_id: int,
        action: str,
        report_chat_id: int | None,
        now: datetime,
    ) -> CorrectionRequest:
        request = CorrectionRequest(
            item_id=item_id,
            action=action,
            actor_id=actor_id,
            report_chat_id=report_chat_id,
            created_at=now,
        )
        session.add(request)
        await session.flush()
        return request

    @staticmethod
    async def _arm(
        session: AsyncSession,
        request: CorrectionRequest,
        revision: int,
        *conditions: ColumnElement[bool],
        media: bool = False,
    ) -> int:
        """One correction row per sent message of the item (INSERT ... SELECT, re-arming a
        row that is there already); returns how many. `media`: the picture changed."""
        now = request.created_at
        sent = select(
            Delivery.item_id,
            Delivery.chat_id,
            literal(request.action),
            Delivery.message_id,
            literal(revision),
            literal(request.id, BigIntId),
            literal(media),
            literal(now, UTCDateTime()),
            literal(now, UTCDateTime()),
        ).where(
            Delivery.item_id == request.item_id,
            Delivery.status == SENT,
            Delivery.message_id.is_not(None),
            *conditions,
        )
        columns = [
            "item_id",
            "chat_id",
            "action",
            "message_id",
            "revision",
            "request_id",
            "media",
            "created_at",
            "updated_at",
        ]
        await writing_for_chats(session)  # not while a chat is being forgotten
        statement = insert_corrections(session.get_bind().dialect.name).from_select(columns, sent)
        result = await session.execute(statement)
        armed = rowcount(result)
        if armed >= 0:
            return armed
        counted = select(func.count()).where(Correction.request_id == request.id)
        return (await session.execute(counted)).scalar_one()

    async def edit(
        self,
        actor_id: int,
        item_id: int,
        field: str,
        value: str | None,
        *,
        report_chat_id: int | None = None,
    ) -> Edited:
        """Change one field (already cleaned by `bot.services.validation`), and have every
        message already sent for the item edited to match; `report_chat_id` hears how that
        went once it is done.

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
                    # a story has one category: its other versions move too (their sent
                    # messages keep the old name; only this version's are corrected)
                    await session.execute(
                        update(Item)
                        .where(or_(Item.id == item.story, Item.story_id == item.story))
                        .values(category_id=category.id)
                    )
                    item.category_id = category.id
                category_name, category_names = category.name, names_of(category.names)
            else:
                setattr(item, field, value)
                category_name, category_names = before.category, before.category_names
            item.revision += 1
            record(
                session,
                actor_id,
                "edit",
                item_id=item_id,
                detail=f"{field}: {getattr(before, field)!r} -> {value!r}",
            )
            await session.flush()
            after = item_view(item, category_name, category_names)
            request = await self._request(
                session, actor_id, item_id, EDIT, report_chat_id, self.now()
            )
            request.total = await self._arm(session, request, item.revision)
            await announce(session, ITEMS)
        self._corrected(item_id)
        return Edited(after, before, request.id, request.total)

    async def set_image(
        self,
        item_id: int,
        *,
        image_url: str | None,
        image_file_id: str | None,
        actor_id: int,
        report_chat_id: int | None = None,
    ) -> Edited:
        """Give the item a new picture (an https URL already validated, or a photo's file_id),
        or none (both None), and have the messages already sent follow: photos get the new
        picture (editMessageMedia), text messages a preview of it. An edit like any other:
        the revision moves on, the audit log and the report say who did it.

        A picture Telegram refused before is forgiven: the new one is tried. Raises
        LookupError when the item is unknown or deleted."""
        before = await self._news.get_item(item_id)
        if before is None:
            raise LookupError(item_id)
        async with self._sessions.begin() as session:
            item = await session.get(Item, item_id, with_for_update=True)
            if item is None or item.deleted_at is not None:
                raise LookupError(item_id)
            item.image_url = image_url
            item.image_file_id = image_file_id
            item.image_error = None
            item.image_error_reported_at = None
            item.revision += 1
            old = before.image_url or before.image_file_id
            new = image_url or image_file_id
            record(session, actor_id, "edit", item_id=item_id, detail=f"image: {old!r} -> {new!r}")
            await session.flush()
            after = item_view(item, before.category, before.category_names)
            request = await self._request(
                session, actor_id, item_id, EDIT, report_chat_id, self.now()
            )
            request.total = await self._arm(session, request, item.revision, media=True)
            await announce(session, ITEMS)
        self._corrected(item_id)
        return Edited(after, before, request.id, request.total)

    async def delete(
        self, actor_id: int, item_id: int, *, report_chat_id: int | None = None
    ) -> Deleted:
        """Withdraw an item: it leaves every listing, its pending deliveries are cancelled,
        and the messages sent in the last 48 hours are deleted (`report_chat_id` hears how
        that went once it is done).

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
                .values(deleted_at=now, url=None, revision=Item.revision + 1)
            )
            if rowcount(gone) != 1:
                raise LookupError(item_id)
            if before.story_id is None:  # a category counts stories, not their versions
                await self._count(session, before.category_id, -1)
            await session.execute(delete(BroadcastQueue).where(BroadcastQueue.item_id == item_id))
            cancelled = (
                await session.scalars(
                    update(Delivery)
                    .where(Delivery.item_id == item_id, _PENDING)
                    .values(
                        status=CANCELLED,
                        last_error="item deleted",
                        lease_owner=None,
                        lease_until=None,
                    )
                    .execution_options(synchronize_session=False)
                    .returning(Delivery.item_id)
                )
            ).all()
            # the item's pending pushes are pending no more (none of them counts as blocked)
            await cancelled_pushes(cancelled, "item deleted").apply(session)
            # edits still waiting are moot: the messages go
            await session.execute(
                update(Correction)
                .where(
                    Correction.item_id == item_id, Correction.action == EDIT, _CORRECTION_PENDING
                )
                .values(status=CANCELLED, last_error="item deleted", updated_at=now)
                .execution_options(synchronize_session=False)
            )
            detail = before.title if before.url is None else f"{before.title} <{before.url}>"
            record(session, actor_id, "delete", item_id=item_id, detail=detail)
            request = await self._request(session, actor_id, item_id, DELETE, report_chat_id, now)
            revision = (
                await session.execute(select(Item.revision).where(Item.id == item_id))
            ).scalar_one()
            young = or_(Delivery.sent_at.is_(None), Delivery.sent_at > now - DELETE_WINDOW)
            request.total = await self._arm(session, request, revision, young)
            too_old = select(func.count()).where(
                Delivery.item_id == item_id,
                Delivery.status == SENT,
                Delivery.message_id.is_not(None),
                ~young,
            )
            request.too_old = (await session.execute(too_old)).scalar_one()
            request.cancelled = len(cancelled)
            await announce(session, ITEMS)
        self._corrected(item_id)
        return Deleted(before, request.id, request.cancelled, request.total, request.too_old)

    @staticmethod
    async def _count(session: AsyncSession, category_id: int, delta: int) -> None:
        await session.execute(
            update(Category)
            .where(Category.id == category_id)
            .values(item_count=Category.item_count + delta)
        )
