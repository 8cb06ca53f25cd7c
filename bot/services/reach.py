"""Reach: what each item came to (sent, pending, failed, blocked, links opened, reactions),
day by day, read from the roll-ups (`bot.db.models.reach`) that the sender and the services
keep up to date as it happens, never from the deliveries table.

Tracked links: with CLICK_TRACKING, a pushed item or digest links to `{WEB_URL}/r/<code>`,
which counts one open for the item and the day, then redirects to the item's own link. A code
is the item's id in base 36 and a MAC of it keyed from the bot's token: it names one item and
cannot be turned into another, and no address is taken from the request. No chat or user id
is stored with an open, nor with a reaction.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import utcnow
from bot.db.models import (
    Correction,
    Delivery,
    Digest,
    Item,
    ItemOpenDay,
    ItemReach,
    MessageReaction,
    ReachDay,
    ReachTotal,
    ScheduledItem,
)
from bot.db.models.delivery import PENDING
from bot.db.rollups import Tally, count_opens

log = logging.getLogger(__name__)

MAC_LENGTH = 10  # base32 characters: 50 bits
_CODE = re.compile(rf"[0-9a-z]{{1,13}}[a-z2-7]{{{MAC_LENGTH}}}")
LINK_SECONDS = 30.0
LINKS_KEPT = 10_000
# written as the partial index `ix_item_reach_pending` is, so the planner uses it (a bound
# parameter would not match the index's condition)
PENDING_ROWS = text("item_reach.pending <> 0")
PREVIEW_FETCHER = "TelegramBot"  # Telegram's link-preview fetcher: redirected, not counted


def link_key(token: str) -> bytes:
    """The key of tracked links' codes, derived from the bot's token (codes change with it)."""
    return hmac.new(token.encode(), b"coopbot reach links", hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class ItemReachView:
    item_id: int
    sent: int = 0
    pending: int = 0
    failed: int = 0
    blocked: int = 0
    opens: int = 0
    reactions: int = 0


@dataclass(frozen=True, slots=True)
class DayView:
    """One UTC day. `subscribers`: chats that were subscribers (active, following at least
    one category) at its end."""

    date: date
    subscribers: int
    joined: int = 0
    left: int = 0
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    opens: int = 0


@dataclass(frozen=True, slots=True)
class TopItem:
    item_id: int
    title: str
    opens: int


@dataclass(frozen=True, slots=True)
class Waiting:
    """What waits to be sent now."""

    pushes: int
    corrections: int
    digests: int
    scheduled: int


class ReachService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        key: bytes,
        web_url: str | None = None,
        now: Callable[[], datetime] = utcnow,
        flush_seconds: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._key = key
        self._web_url = web_url.rstrip("/") if web_url else None
        self.now = now
        self._flush_seconds = flush_seconds
        self._opens: dict[tuple[int, date], int] = {}  # counted, not written yet
        self._flusher: asyncio.Future[None] | None = None
        self._links: dict[int, tuple[float, str | None]] = {}  # item -> (until, link)

    # -- figures ---------------------------------------------------------------------------

    async def item(self, item_id: int) -> ItemReachView:
        return (await self.items([item_id]))[item_id]

    async def items(self, ids: Iterable[int]) -> dict[int, ItemReachView]:
        wanted = sorted(set(ids))
        found = {item_id: ItemReachView(item_id) for item_id in wanted}
        if not wanted:
            return found
        async with self._sessions() as session:
            rows = await session.scalars(select(ItemReach).where(ItemReach.item_id.in_(wanted)))
            for row in rows:
                found[row.item_id] = ItemReachView(
                    row.item_id,
                    sent=row.sent,
                    pending=max(row.pending, 0),
                    failed=row.failed,
                    blocked=row.blocked,
                    opens=row.opens,
                    reactions=max(row.reactions, 0),
                )
        return found

    async def daily(self, days: int) -> list[DayView]:
        """The last `days` UTC days, today included, oldest first."""
        if days < 1:
            raise ValueError(days)
        today = self.now().date()
        first = today - timedelta(days=days - 1)
        async with self._sessions() as session:
            rows = {
                row.day: row
                for row in await session.scalars(select(ReachDay).where(ReachDay.day >= first))
            }
            # kept as chats join and leave: counting them would read every subscription
            subscribers = int(
                await session.scalar(select(ReachTotal.subscribers).where(ReachTotal.id == 1)) or 0
            )
        found: list[DayView] = []
        for back in range(days):  # from today back: each day's end is the next day's start
            day = today - timedelta(days=back)
            row = rows.get(day)
            if row is None:
                found.append(DayView(day, subscribers))
                continue
            found.append(
                DayView(
                    day,
                    subscribers,
                    joined=row.joined,
                    left=row.left,
                    sent=row.sent,
                    failed=row.failed,
                    blocked=row.blocked,
                    opens=row.opens,
                )
            )
            subscribers = max(subscribers - row.joined + row.left, 0)
        found.reverse()
        return found

    async def top_by_opens(self, days: int, limit: int = 10) -> list[TopItem]:
        """The items whose links were opened most in the last `days` UTC days."""
        first = self.now().date() - timedelta(days=max(days, 1) - 1)
        opens = func.sum(ItemOpenDay.opens).label("opens")
        # the period's opens first (a few rows a day), then the titles of the top ones: the
        # planner must not walk every item looking for its opens
        top = (
            select(ItemOpenDay.item_id, opens)
            .where(ItemOpenDay.day >= first)
            .group_by(ItemOpenDay.item_id)
            .order_by(opens.desc(), ItemOpenDay.item_id.desc())
            .limit(limit)
            .subquery()
        )
        async with self._sessions() as session:
            rows = await session.execute(
                select(top.c.item_id, Item.title, top.c.opens)
                .join(Item, Item.id == top.c.item_id)
                .order_by(top.c.opens.desc(), top.c.item_id.desc())
            )
            return [TopItem(item_id, title, int(n)) for item_id, title, n in rows]

    async def waiting(self) -> Waiting:
        async with self._sessions() as session:
            pushes = await session.scalar(
                select(func.coalesce(func.sum(ItemReach.pending), 0)).where(PENDING_ROWS)
            )
            corrections = await session.scalar(
                select(func.count()).select_from(Correction).where(Correction.status == PENDING)
            )
            digests = await session.scalar(
                select(func.count()).select_from(Digest).where(Digest.status == PENDING)
            )
            scheduled = await session.scalar(select(func.count()).select_from(ScheduledItem))
        return Waiting(
            max(int(pushes or 0), 0), int(corrections or 0), int(digests or 0), int(scheduled or 0)
        )

    # -- tracked links ---------------------------------------------------------------------

    def link_code(self, item_id: int) -> str:
        return _base36(item_id) + self._mac(item_id)

    def tracked_url(self, item_id: int) -> str | None:
        """`{WEB_URL}/r/<code>` (None without WEB_URL)."""
        if self._web_url is None:
            return None
        return f"{self._web_url}/r/{self.link_code(item_id)}"

    def item_of(self, code: str) -> int | None:
        """The item a code names; None for a code this bot did not make."""
        if not _CODE.fullmatch(code):
            return None
        item_id = int(code[:-MAC_LENGTH], 36)
        if not hmac.compare_digest(code, self.link_code(item_id)):
            return None
        return item_id

    async def open_link(
        self, code: str, user_agent: str | None, *, count: bool = True
    ) -> str | None:
        """The item's own link, with one open counted for the item and today (not for
        Telegram's link-preview fetcher, nor when `count` is off, e.g. a HEAD); None for an
        unknown or forged code, or an item without a link (deleted)."""
        item_id = self.item_of(code)
        if item_id is None:
            return None
        url = await self._link(item_id)
        if url is not None and count and PREVIEW_FETCHER.lower() not in (user_agent or "").lower():
            self._count_later(item_id, self.now().date())
        return url

    async def _link(self, item_id: int) -> str | None:
        """The item's link, kept `LINK_SECONDS` (a redirect then reads no database: at 30
        sends a second the sender keeps SQLite busy); a link edited or an item deleted is
        followed within that time."""
        clock = time.monotonic()
        kept = self._links.get(item_id)
        if kept is not None and kept[0] > clock:
            return kept[1]
        async with self._sessions() as session:
            url = await session.scalar(
                select(Item.url).where(Item.id == item_id, Item.deleted_at.is_(None))
            )
        if len(self._links) >= LINKS_KEPT:
            self._links.clear()
        self._links[item_id] = (clock + LINK_SECONDS, url)
        return url

    # -- opens, written in batches ---------------------------------------------------------

    def _count_later(self, item_id: int, day: date) -> None:
        """A write per open would queue each redirect behind the sender's writes (SQLite has
        one writer): opens are added up here and written together within `flush_seconds`.
        A process killed in between loses those seconds' opens, nothing else."""
        self._opens[(item_id, day)] = self._opens.get((item_id, day), 0) + 1
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self._flush_seconds)
        try:
            await self.flush_opens()
        except Exception:  # the store is down: kept, and tried again with the next open
            log.warning("reach: opens not written yet", exc_info=True)

    async def flush_opens(self) -> int:
        """Write the opens counted so far (one transaction); returns how many."""
        opens, self._opens = self._opens, {}
        if not opens:
            return 0
        try:
            async with self._sessions.begin() as session:
                await count_opens(session, opens)
        except BaseException:
            for key, n in opens.items():
                self._opens[key] = self._opens.get(key, 0) + n
            raise
        return sum(opens.values())

    async def close(self) -> None:
        """Write what is counted (at a clean stop)."""
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
        await self.flush_opens()

    def _mac(self, item_id: int) -> str:
        digest = hmac.new(self._key, f"item:{item_id}".encode(), hashlib.sha256).digest()
        return base64.b32encode(digest).decode().lower()[:MAC_LENGTH]

    # -- reactions -------------------------------------------------------------------------

    async def reacted(self, chat_id: int, message_id: int, old: int, new: int) -> int | None:
        """One person's reactions on a sent message went from `old` to `new` (how many each):
        the item's total follows. Returns the item, None when the message showed none."""
        return await self._reactions(chat_id, message_id, lambda count: count + new - old)

    async def reaction_count(self, chat_id: int, message_id: int, total: int) -> int | None:
        """A channel's message now carries `total` reactions (Telegram sends counts for
        channels, anonymously): the item's total follows."""
        return await self._reactions(chat_id, message_id, lambda _count: total)

    async def _reactions(
        self, chat_id: int, message_id: int, change: Callable[[int], int]
    ) -> int | None:
        async with self._sessions.begin() as session:
            row = await _message(session, chat_id, message_id)
            if row is None:
                return None
            count = max(change(row.count), 0)
            tally = Tally()
            tally.item(row.item_id, "reactions", count - row.count)
            row.count = count
            await session.flush()
            await tally.apply(session)
            return row.item_id


async def _message(session: AsyncSession, chat_id: int, message_id: int) -> MessageReaction | None:
    """The message's reactions row (locked), made on its first reaction from the delivery
    that sent it; None when no kept delivery sent that message."""
    key = (chat_id, message_id)
    row = await session.get(MessageReaction, key, with_for_update=True)
    if row is not None:
        return row
    item_id = await session.scalar(
        select(Delivery.item_id)
        .where(Delivery.chat_id == chat_id, Delivery.message_id == message_id)
        .limit(1)
    )
    if item_id is None:
        return None
    try:
        async with session.begin_nested():
            await session.execute(
                insert(MessageReaction).values(
                    chat_id=chat_id, message_id=message_id, item_id=item_id, count=0
                )
            )
    except IntegrityError:  # another update about the same message made it first
        pass
    return await session.get(MessageReaction, key, with_for_update=True, populate_existing=True)


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    if number < 0:
        raise ValueError(number)
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out
