"""Keeping the reach roll-ups (`bot.db.models.reach`) up to date, in the caller's transaction.

Whoever changes what a figure counts (the fan-out, a batch of outcomes, a cancellation, a chat
joining or leaving) adds its changes to a `Tally` and applies it once, just before its commit:
one upsert per table, whatever the batch's size, rows in key order (two transactions that
touch the same rows lock them in the same order, so they cannot deadlock on them).

Shared by the sender's store and the services, so it sits with the models: it knows the
tables and SQL only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.base import utcnow
from bot.db.models import Chat, Subscription
from bot.db.models.delivery import CANCELLED, FAILED, NOT_BLOCKED, PENDING, SENT
from bot.db.models.reach import ItemOpenDay, ItemReach, ReachDay, ReachTotal

ITEM_COUNTS = ("sent", "failed", "blocked", "pending", "opens", "reactions")
DAY_COUNTS = ("sent", "failed", "blocked", "joined", "left", "opens")


def bucket(status: str, last_error: str | None) -> str | None:
    """Which figure one delivery row counts in: pending, sent, failed, blocked (cancelled
    because its chat was gone, as reports and daily figures say), or none (cancelled for
    another reason: item deleted, item gone, chat migrated)."""
    if status in (PENDING, SENT, FAILED):
        return status
    if status == CANCELLED and (last_error is None or last_error not in NOT_BLOCKED):
        return "blocked"
    return None


def today() -> date:
    return utcnow().date()


@dataclass
class Tally:
    """Changes to the roll-ups, gathered while a transaction works, applied at its end."""

    items: defaultdict[int, defaultdict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    days: defaultdict[date, defaultdict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    subscribers: int = 0  # chats that joined, less those that left

    def item(self, item_id: int, figure: str | None, n: int = 1) -> None:
        if figure is not None and n:
            self.items[item_id][figure] += n

    def day(self, day: date, figure: str | None, n: int = 1) -> None:
        if figure is not None and n:
            self.days[day][figure] += n

    def moved(
        self, item_id: int, before: str | None, after: str | None, day: date | None = None
    ) -> None:
        """One delivery went from figure `before` to `after`; its day's outcomes follow
        (pending is no day's outcome)."""
        if before == after:
            return
        self.item(item_id, before, -1)
        self.item(item_id, after, 1)
        on = day or today()
        if before not in (None, PENDING):
            self.day(on, before, -1)
        if after not in (None, PENDING):
            self.day(on, after, 1)

    async def apply(self, session: AsyncSession) -> None:
        items = _rows("item_id", self.items, ITEM_COUNTS)
        if items:
            await session.execute(_adding(session, ItemReach, ["item_id"], ITEM_COUNTS), items)
        days = _rows("day", self.days, DAY_COUNTS)
        if days:
            await session.execute(_adding(session, ReachDay, ["day"], DAY_COUNTS), days)
        if self.subscribers:
            row = {"id": 1, "subscribers": self.subscribers}
            await session.execute(_adding(session, ReachTotal, ["id"], ("subscribers",)), [row])
        self.items.clear()
        self.days.clear()
        self.subscribers = 0


def cancelled_pushes(item_ids: Sequence[int], reason: str) -> Tally:
    """The roll-ups' changes for pending pushes (one item id each) cancelled for `reason`."""
    tally = Tally()
    after = bucket(CANCELLED, reason)
    for item_id in item_ids:
        tally.moved(item_id, PENDING, after)
    return tally


async def count_opens(session: AsyncSession, opens: dict[tuple[int, date], int]) -> None:
    """Tracked links opened, by (item, UTC day): the items' totals, the days', and each
    item's on each day; one upsert per table."""
    tally = Tally()
    for (item_id, day), n in opens.items():
        tally.item(item_id, "opens", n)
        tally.day(day, "opens", n)
    await tally.apply(session)
    rows = [{"item_id": i, "day": d, "opens": n} for (i, d), n in sorted(opens.items()) if n]
    if rows:
        await session.execute(_adding(session, ItemOpenDay, ["item_id", "day"], ("opens",)), rows)


async def subscribers_among(session: AsyncSession, chat_ids: Iterable[int]) -> set[int]:
    """Those of these chats that are subscribers: active, following at least one category.
    Their rows are locked (PostgreSQL) so that two changes to one chat count it once."""
    ids = sorted(set(chat_ids))
    if not ids:
        return set()
    await session.execute(
        select(Chat.id).where(Chat.id.in_(ids)).order_by(Chat.id).with_for_update()
    )
    follows = exists().where(Subscription.chat_id == Chat.id)
    found = await session.scalars(
        select(Chat.id).where(Chat.id.in_(ids), Chat.active.is_(True), follows)
    )
    return set(found)


class Membership:
    """Chats that may join or leave the subscribers in this transaction: their state is read
    before the change (`start`) and after it (`settle`), and the difference counted."""

    def __init__(self, chat_ids: Iterable[int], before: set[int]) -> None:
        self._ids = sorted(set(chat_ids))
        self._before = before

    @classmethod
    async def start(cls, session: AsyncSession, *chat_ids: int) -> Membership:
        return cls(chat_ids, await subscribers_among(session, chat_ids))

    async def settle(self, session: AsyncSession, tally: Tally | None = None) -> None:
        after = await subscribers_among(session, self._ids)
        own = tally or Tally()
        day = today()
        joined, left = len(after - self._before), len(self._before - after)
        own.day(day, "joined", joined)
        own.day(day, "left", left)
        own.subscribers += joined - left
        if tally is None:
            await own.apply(session)


def _rows(
    key: str, changes: dict[Any, defaultdict[str, int]], names: tuple[str, ...]
) -> list[dict[str, Any]]:
    rows = []
    for value in sorted(changes):
        counts = changes[value]
        if any(counts.values()):
            rows.append({key: value, **{name: counts.get(name, 0) for name in names}})
    return rows


def _adding(session: AsyncSession, model: Any, keys: list[str], names: tuple[str, ...]) -> Any:
    """INSERT of deltas that adds them to the row already there (one statement, run once for
    many rows)."""
    dialect = session.get_bind().dialect.name
    insert: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)
    return insert.on_conflict_do_update(
        index_elements=keys,
        set_={name: getattr(model, name) + getattr(insert.excluded, name) for name in names},
    )
