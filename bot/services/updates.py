"""Updates that Telegram posts to the webhook: each handled once, one chat's one at a time.

Telegram posts an update again when it got no 2xx answer (a slow or failed one), and with
several bot processes behind one webhook, two of them can hold updates of the same chat at
the same moment. `UpdateService.claim` is the door every webhook update goes through:

- One chat at a time. In this process, a lock per chat (a second update of the chat waits
  without holding anything). On PostgreSQL also, across processes, a transaction-level
  advisory lock keyed by the chat, `pg_advisory_xact_lock(NAMESPACE, key)`, taken on a
  connection of its own that is held while the update is handled.
- Once. The update's id goes into `updates_seen` (kept a day, see `purge`). On PostgreSQL
  the `INSERT … ON CONFLICT DO NOTHING` is made in that same transaction, before handling:
  nothing inserted means another attempt already handled it (or is handling it: the insert
  waits for that one's transaction to end). The transaction commits once the update was
  handled, and rolls back when handling failed because the store was unavailable, or when
  the process dies meanwhile, so Telegram's resend is handled then. On SQLite (one process,
  and one writer: a transaction cannot stay open while handlers write) the id is looked up
  before handling and written after it, under the chat's lock.

So an update is handled at least once and, unless the store fails between handling and
recording, exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from bot.db.base import utcnow
from bot.db.models import UpdateSeen
from bot.db.results import rowcount
from bot.services.errors import STORE_UNAVAILABLE

log = logging.getLogger(__name__)

# the first key of the two-key advisory locks of chats ("coop"); two-key locks never
# collide with the one-key lock of the sender (bot.delivery.leader)
NAMESPACE = 0x636F_6F70
# how long an update waits for its chat's lock held by another process before giving up
# (its request is then answered 503, and Telegram sends it again)
LOCK_WAIT = timedelta(seconds=30)
KEEP_SEEN = timedelta(hours=24)


def chat_key(chat_id: int) -> int:
    """A chat id (up to 52 bits) folded into the signed 32-bit second key of the lock. Two
    chats that share a key only wait for each other; they are never handled wrongly."""
    folded = (chat_id ^ (chat_id >> 32)) & 0xFFFF_FFFF
    return folded - (1 << 32) if folded >= 1 << 31 else folded


@dataclass
class Claim:
    """One attempt at one update. `duplicate`: it was handled already, do nothing."""

    duplicate: bool
    abandoned: bool = False

    def abandon(self) -> None:
        """Handling failed for want of the store: forget the claim, so a resend is handled."""
        self.abandoned = True


@dataclass
class _ChatLock:
    lock: asyncio.Lock
    users: int = 0  # the updates of the chat holding or awaiting the lock


class UpdateService:
    def __init__(self, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._engine = engine
        self._sessions = sessions
        self._postgres = engine.dialect.name == "postgresql"
        self._chats: dict[object, _ChatLock] = {}
        # each update handled on PostgreSQL holds a connection for its lock; half the pool at
        # most, so handlers, the sender and the jobs always find connections of their own
        size = getattr(engine.pool, "size", lambda: 10)()
        self._connections = asyncio.Semaphore(max(1, size // 2))

    def in_progress(self, chat_id: int) -> int:
        """Updates of the chat being handled or waiting for it in this process."""
        held = self._chats.get(chat_id)
        return 0 if held is None else held.users

    @contextlib.asynccontextmanager
    async def claim(self, update_id: int, chat_id: int | None) -> AsyncIterator[Claim]:
        """Hold the update's chat and claim the update for the length of the block.

        Handle the update inside the block unless `claim.duplicate`; call `claim.abandon()`
        if handling failed for want of the store. An exception out of the block abandons
        the claim too. A store failure here (taking the lock, recording) is raised.
        """
        key: object = chat_id if chat_id is not None else ("update", update_id)
        async with self._one_at_a_time(key):
            if self._postgres:
                async with self._connections, self._claim_postgres(update_id, chat_id) as claim:
                    yield claim
            else:
                async with self._claim_sqlite(update_id) as claim:
                    yield claim

    @contextlib.asynccontextmanager
    async def _one_at_a_time(self, key: object) -> AsyncIterator[None]:
        held = self._chats.get(key)
        if held is None:
            held = self._chats[key] = _ChatLock(asyncio.Lock())
        held.users += 1
        try:
            async with held.lock:
                yield
        finally:
            held.users -= 1
            if held.users == 0:
                self._chats.pop(key, None)

    @contextlib.asynccontextmanager
    async def _claim_postgres(self, update_id: int, chat_id: int | None) -> AsyncIterator[Claim]:
        # On the driver's connection itself: the lock and the claim go to the server as one
        # script in one round trip, the end of the claim in a second. Through SQLAlchemy the
        # same took six round trips and most of the CPU a webhook update cost over a polled
        # one (docs/performance.md, "Production set-ups").
        pooled = await self._engine.raw_connection()
        driver = pooled.driver_connection
        assert driver is not None
        try:
            status = await driver.execute(_claim_script(update_id, chat_id))
        except BaseException as exc:
            await _discard(pooled)
            raise _store_failure("claim", exc) from exc
        claim = Claim(duplicate=status.endswith(" 0"))  # "INSERT 0 1": ours, "INSERT 0 0": seen
        try:
            yield claim
        except BaseException:
            await _discard(pooled)  # the server rolls back the transaction (and its lock)
            raise
        ending = "ROLLBACK" if claim.abandoned or claim.duplicate else "COMMIT"
        try:
            await driver.execute(ending)  # COMMIT: the update counts as handled from here on
        except BaseException as exc:
            await _discard(pooled)
            raise _store_failure(ending, exc) from exc
        await greenlet_spawn(pooled.close)

    @contextlib.asynccontextmanager
    async def _claim_sqlite(self, update_id: int) -> AsyncIterator[Claim]:
        async with self._sessions() as session:
            seen = await session.scalar(
                select(UpdateSeen.update_id).where(UpdateSeen.update_id == update_id)
            )
        claim = Claim(duplicate=seen is not None)
        yield claim
        if claim.abandoned or claim.duplicate:
            return
        async with self._sessions.begin() as session:
            await session.execute(
                sqlite_insert(UpdateSeen)
                .values(update_id=update_id, seen_at=utcnow())
                .on_conflict_do_nothing(index_elements=[UpdateSeen.update_id])
            )

    async def purge(self, older_than: timedelta = KEEP_SEEN) -> int:
        """Forget updates seen longer ago than Telegram resends them; returns how many."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(UpdateSeen).where(UpdateSeen.seen_at < utcnow() - older_than)
            )
        return max(rowcount(result), 0)

    async def store_answers(self, within: float) -> bool:
        """True when the database answers `SELECT 1` within `within` seconds."""
        try:
            async with asyncio.timeout(within), self._engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not ready"; the reason is for the log
            log.debug("database check failed: %s: %s", exc.__class__.__name__, exc)
            return False
        return True


def _claim_script(update_id: int, chat_id: int | None) -> str:
    """The transaction's start: its lock wait bounded, the chat's lock, the update's row.
    Only integers are put in the text (a script has no parameters)."""
    wait = int(LOCK_WAIT.total_seconds() * 1000)
    lock = (
        f"SELECT pg_advisory_xact_lock({NAMESPACE}, {chat_key(int(chat_id))});"
        if chat_id is not None
        else ""
    )
    return (
        f"BEGIN; SET LOCAL lock_timeout = {wait}; {lock}"
        f" INSERT INTO {UpdateSeen.__tablename__} (update_id, seen_at)"
        f" VALUES ({int(update_id)}, now()) ON CONFLICT (update_id) DO NOTHING"
    )


def _store_failure(step: str, exc: BaseException) -> BaseException:
    """The driver's own errors as the store failure the layers above know (a 503)."""
    if isinstance(exc, Exception) and not isinstance(exc, STORE_UNAVAILABLE):
        return OperationalError(step, None, exc)
    return exc


async def _discard(pooled: PoolProxiedConnection) -> None:
    """Drop a connection whose transaction may be open or broken: closing the socket ends the
    transaction (and its lock) on the server at once; the pool opens a new one later."""
    driver = pooled.driver_connection
    with contextlib.suppress(Exception):
        if driver is not None:
            driver.terminate()
    with contextlib.suppress(Exception):
        await greenlet_spawn(pooled.invalidate)
