"""Retention: the rows that only grow are removed once finished and old, in small batches.

A year of ten items a day to 100,000 subscribers writes 365 million delivery rows. The leader
removes, every hour (`bot.jobs`):
- deliveries, corrections, filtered pushes and broadcast reports of the items created more than
  DELIVERY_KEEP_DAYS ago, digests of periods older than that and the desk's notices queued
  before it, once finished (a pending row stays, whatever its age);
- admins' actions older than AUDIT_KEEP_DAYS.

Before a delivery row goes, what it came to (sent, failed, blocked) is added to the item's
figure for that day (`DeliveryDay`), in the transaction that deletes it: a figure is what
`delivery_days` holds plus the rows still there, so it stays right whatever is removed. /forget
folds a chat's rows the same way (`forget_deliveries`), so totals keep the chat's messages.

Each batch is one short transaction over at most `batch` rows, found through the primary key
(an item's deliveries are one range of it): no lock is held for long and no index is added to
the tables the fan-out writes. docs/operations.md says why this rather than partitions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    and_,
    cast,
    delete,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import utcnow
from bot.db.models import AuditEntry, Delivery, DeliveryDay, Item
from bot.db.models.corrections import Correction, CorrectionRequest
from bot.db.models.delivery import CANCELLED, FAILED, NOT_BLOCKED, PENDING, SENT
from bot.db.models.desk import Notice
from bot.db.models.digests import Digest
from bot.db.models.filters import FilteredPush
from bot.db.models.publishing import BroadcastReport
from bot.db.results import rowcount
from bot.db.rollups import Tally

BATCH = 5_000
# a run stops after this many batches (another comes an hour later): a backlog of months is
# worked off over a few runs rather than in one that holds the leader's jobs up
RUN_BATCHES = 400


@dataclass(frozen=True, slots=True)
class Figures:
    """What one item's deliveries came to, on one day or in all."""

    sent: int = 0
    failed: int = 0
    blocked: int = 0

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.sent + other.sent, self.failed + other.failed, self.blocked + other.blocked
        )


@dataclass(frozen=True, slots=True)
class Purged:
    """How many rows one run removed, by table."""

    deliveries: int = 0
    corrections: int = 0
    digests: int = 0
    notices: int = 0
    filtered: int = 0
    audit: int = 0

    @property
    def total(self) -> int:
        return (
            self.deliveries
            + self.corrections
            + self.digests
            + self.notices
            + self.filtered
            + self.audit
        )


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _day(dialect: str, sent_at: Any, created_at: Any) -> ColumnElement[date]:
    """The UTC day a delivery is counted on: when it was sent, else when it was created."""
    moment = func.coalesce(sent_at, created_at)
    if dialect == "postgresql":
        return cast(func.timezone("UTC", moment), Date)
    return func.date(moment)


def _outcomes(status: Any, last_error: Any) -> tuple[ColumnElement[int], ...]:
    blocked = and_(status == CANCELLED, or_(last_error.is_(None), last_error.not_in(NOT_BLOCKED)))
    return (
        func.count().filter(status == SENT),
        func.count().filter(status == FAILED),
        func.count().filter(blocked),
    )


async def fold(session: AsyncSession, where: ColumnElement[bool]) -> int:
    """Delete the delivery rows matching `where` and add what they came to into their items'
    daily figures, in the caller's transaction; returns how many went.

    PostgreSQL counts exactly the rows its DELETE removed (DELETE … RETURNING feeding the
    INSERT), so two runs that overlapped (a leader handing over mid-run) never count a row
    twice; SQLite has one writer at a time, so reading then deleting is as exact there."""
    dialect = _dialect(session)
    if dialect == "postgresql":
        gone = (
            delete(Delivery)
            .where(where)
            .returning(
                Delivery.item_id,
                Delivery.status,
                Delivery.last_error,
                Delivery.sent_at,
                Delivery.created_at,
            )
            .cte("gone")
        )
        day = _day(dialect, gone.c.sent_at, gone.c.created_at)
        grouped = select(
            gone.c.item_id, day, *_outcomes(gone.c.status, gone.c.last_error)
        ).group_by(gone.c.item_id, day)
    else:
        day = _day(dialect, Delivery.sent_at, Delivery.created_at)
        grouped = (
            select(Delivery.item_id, day, *_outcomes(Delivery.status, Delivery.last_error))
            .where(where)
            .group_by(Delivery.item_id, day)
        )
    insert: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(DeliveryDay)
    upsert = insert.from_select(["item_id", "day", "sent", "failed", "blocked"], grouped)
    upsert = upsert.on_conflict_do_update(
        index_elements=["item_id", "day"],
        set_={
            name: getattr(DeliveryDay, name) + getattr(upsert.excluded, name)
            for name in ("sent", "failed", "blocked")
        },
    )
    if dialect == "postgresql":
        # one statement: the DELETE's rows feed the INSERT, and their count is the answer
        folded = upsert.returning(DeliveryDay.item_id).cte("folded")
        counted = select(func.count()).select_from(gone).add_cte(folded)
        return int(await session.scalar(counted) or 0)
    await session.execute(upsert)
    return max(rowcount(await session.execute(delete(Delivery).where(where))), 0)


async def forget_deliveries(session: AsyncSession, chat_id: int) -> int:
    """A chat's delivery rows, all gone: the finished ones counted in the daily figures first
    (totals keep them, without the chat), the pending ones simply dropped (never sent)."""
    finished = and_(Delivery.chat_id == chat_id, Delivery.status != PENDING)
    gone = await fold(session, finished)
    pending = (
        await session.scalars(
            delete(Delivery).where(Delivery.chat_id == chat_id).returning(Delivery.item_id)
        )
    ).all()
    # the reach roll-ups keep what was sent; the pushes that will never go are pending no more
    tally = Tally()
    for item_id in pending:
        tally.item(item_id, PENDING, -1)
    await tally.apply(session)
    return gone + len(pending)


async def _delete_corrections(session: AsyncSession, where: ColumnElement[bool]) -> int:
    return max(rowcount(await session.execute(delete(Correction).where(where))), 0)


class _Ranges:
    """Batches of finished rows of old items, in primary-key order (item, chat), each batch
    starting after the last one's end: the scan never walks again over the index entries of
    rows just deleted (left dead until VACUUM), so a run of many batches stays linear."""

    def __init__(
        self,
        model: type[Delivery] | type[Correction],
        remove: Callable[[AsyncSession, ColumnElement[bool]], Awaitable[int]],
    ) -> None:
        self._model = model
        self._remove = remove
        self._after: tuple[int, int] | None = None

    async def next(self, session: AsyncSession, cut: int, size: int) -> int:
        model = self._model
        key = tuple_(model.item_id, model.chat_id)
        old = and_(model.item_id <= cut, model.status != PENDING)
        if self._after is not None:
            old = and_(old, key > self._after)
        edge = (
            await session.execute(
                select(model.item_id, model.chat_id)
                .where(old)
                .order_by(model.item_id, model.chat_id)
                .offset(size - 1)
                .limit(1)
            )
        ).first()
        if edge is not None:
            old = and_(old, key <= tuple(edge))
            self._after = (edge[0], edge[1])
        return await self._remove(session, old)


class RetentionService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        keep_days: int,
        audit_keep_days: int,
        batch: int = BATCH,
    ) -> None:
        self._sessions = sessions
        self.keep = timedelta(days=keep_days)
        self.audit_keep = timedelta(days=audit_keep_days)
        self._batch = batch

    def correctable(self, created_at: datetime, now: datetime | None = None) -> bool:
        """Whether an item created then still has its delivery rows, so that /edit and
        /delete can reach the messages it was sent as."""
        return created_at >= (now or utcnow()) - self.keep

    async def purge(self, now: datetime | None = None, *, batches: int = RUN_BATCHES) -> Purged:
        """One run: up to `batches` batches per table, oldest first."""
        now = now or utcnow()
        async with self._sessions() as session:
            cut = await session.scalar(
                select(func.max(Item.id)).where(Item.created_at < now - self.keep)
            )
        oldest_period = (now - self.keep).date().isoformat()
        deliveries, corrections = _Ranges(Delivery, fold), _Ranges(Correction, _delete_corrections)
        steps = {
            "deliveries": (lambda s: deliveries.next(s, cut, self._batch)) if cut else None,
            "corrections": (lambda s: corrections.next(s, cut, self._batch)) if cut else None,
            "filtered": (lambda s: self._small(s, cut)) if cut else None,
            "digests": lambda s: self._digests(s, oldest_period),
            "notices": lambda s: self._notices(s, now - self.keep),
            "audit": lambda s: self._audit(s, now - self.audit_keep),
        }
        counts: dict[str, int] = {}
        for name, step in steps.items():
            counts[name] = 0
            if step is None:
                continue
            for _batch in range(batches):
                async with self._sessions.begin() as session:
                    gone = await step(session)
                counts[name] += gone
                if gone < self._batch:
                    break
                await asyncio.sleep(0)  # let replies and sends run between batches
        return Purged(**counts)

    async def _small(self, session: AsyncSession, cut: int) -> int:
        """One row per item at most: filtered pushes, reports and correction requests."""
        gone = await session.execute(delete(FilteredPush).where(FilteredPush.item_id <= cut))
        await session.execute(delete(BroadcastReport).where(BroadcastReport.item_id <= cut))
        await session.execute(
            delete(CorrectionRequest).where(
                CorrectionRequest.item_id <= cut, CorrectionRequest.reported_at.is_not(None)
            )
        )
        return max(rowcount(gone), 0)

    async def _digests(self, session: AsyncSession, oldest: str) -> int:
        keys = (
            await session.execute(
                select(Digest.chat_id, Digest.period)
                .where(Digest.period < oldest, Digest.status != PENDING)
                .limit(self._batch)
            )
        ).all()
        if not keys:
            return 0
        chosen = tuple_(Digest.chat_id, Digest.period).in_([tuple(key) for key in keys])
        return max(rowcount(await session.execute(delete(Digest).where(chosen))), 0)

    async def _notices(self, session: AsyncSession, before: datetime) -> int:
        ids = (
            select(Notice.id)
            .where(Notice.created_at < before, Notice.status != PENDING)
            .order_by(Notice.id)
            .limit(self._batch)
        )
        chosen = list(await session.scalars(ids))
        if not chosen:
            return 0
        return max(rowcount(await session.execute(delete(Notice).where(Notice.id.in_(chosen)))), 0)

    async def _audit(self, session: AsyncSession, before: datetime) -> int:
        ids = select(AuditEntry.id).where(AuditEntry.created_at < before).limit(self._batch)
        chosen = list(await session.scalars(ids))
        if not chosen:
            return 0
        return max(
            rowcount(await session.execute(delete(AuditEntry).where(AuditEntry.id.in_(chosen)))), 0
        )

    async def figures(self, item_id: int) -> dict[date, Figures]:
        """An item's deliveries by UTC day: what was folded away plus the rows still kept."""
        async with self._sessions() as session:
            found: dict[date, Figures] = {}
            folded = await session.execute(
                select(
                    DeliveryDay.day, DeliveryDay.sent, DeliveryDay.failed, DeliveryDay.blocked
                ).where(DeliveryDay.item_id == item_id)
            )
            for day, sent, failed, blocked in folded:
                found[day] = found.get(day, Figures()) + Figures(sent, failed, blocked)
            on = _day(_dialect(session), Delivery.sent_at, Delivery.created_at)
            kept = await session.execute(
                select(on, *_outcomes(Delivery.status, Delivery.last_error))
                .where(Delivery.item_id == item_id, Delivery.status != PENDING)
                .group_by(on)
            )
            for row in kept:
                raw_day, sent, failed, blocked = row[0], row[1], row[2], row[3]
                # SQLite's date() is text
                when = raw_day if isinstance(raw_day, date) else date.fromisoformat(raw_day)
                found[when] = found.get(when, Figures()) + Figures(sent, failed, blocked)
        return found
