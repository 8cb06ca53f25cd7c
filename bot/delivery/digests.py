"""The digest sender: claims due digest rows with a lease, sends each one's pages within the
shared budget, records the outcome.

    jobs: create_due ─▶ digests (pending) ─claim (lease)─▶ compose (items read now) ─▶ pages
                                          ◀── page by page: pages_sent, then sent/empty ◀─┘

Like deliveries: only the leader sends; a row is marked sent only after Telegram answered,
and each page is recorded as it goes, so a crash re-sends at most the page in flight and a
long digest resumes at its next page. 429s wait and resend the same page; a blocked chat
cancels the digest (and deactivates the chat); timeouts and 5xx retry with back-off.
The sender knows nothing of items: the composition root hands it `compose`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import literal_column, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.db.base import utcnow
from bot.db.models import Chat, Digest
from bot.db.models.digests import (
    DIGEST_CANCELLED,
    DIGEST_EMPTY,
    DIGEST_FAILED,
    DIGEST_PENDING,
    DIGEST_SENT,
)
from bot.delivery.budget import Budget
from bot.delivery.options import DeliveryOptions
from bot.delivery.stopping import Stopping, StopSignal, flood_wait, send_turn
from bot.delivery.transport import BroadcastBot

log = logging.getLogger(__name__)

IS_PENDING = Digest.status == literal_column("'pending'")
CLAIM_BATCH = 200
_GONE_CHAT = ("chat not found", "peer_id_invalid", "user not found")

# the pages of one chat's digest for (since, until], read now; [] when it lists nothing
Compose = Callable[[int, datetime, datetime], Awaitable[list[str]]]


@dataclass(frozen=True, slots=True)
class ClaimedDigest:
    chat_id: int
    period: str
    since: datetime
    until: datetime
    attempts: int
    pages_sent: int


@dataclass
class DigestStats:
    sent: int = 0  # digests fully sent
    pages: int = 0  # messages sent
    empty: int = 0
    cancelled: int = 0
    failed: int = 0
    retries: int = 0
    flood_waits: int = 0


class DigestStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def claim(self, owner: str, limit: int, lease_seconds: float) -> list[ClaimedDigest]:
        now = utcnow()
        due = (
            select(Digest.chat_id, Digest.period)
            .where(
                IS_PENDING,
                or_(Digest.lease_until.is_(None), Digest.lease_until < now),
                or_(Digest.next_attempt_at.is_(None), Digest.next_attempt_at <= now),
            )
            .order_by(Digest.chat_id, Digest.period)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(Digest)
            .where(tuple_(Digest.chat_id, Digest.period).in_(due.scalar_subquery()))
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
            .returning(
                Digest.chat_id,
                Digest.period,
                Digest.since,
                Digest.until,
                Digest.attempts,
                Digest.pages_sent,
            )
            .execution_options(synchronize_session=False)
        )
        async with self._sessions.begin() as session:
            rows = (await session.execute(statement)).all()
        return sorted((ClaimedDigest(*row) for row in rows), key=lambda r: (r.chat_id, r.period))

    async def _set(self, row: ClaimedDigest, owner: str, **values: object) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(Digest)
                .where(
                    Digest.chat_id == row.chat_id,
                    Digest.period == row.period,
                    Digest.lease_owner == owner,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    async def page_sent(self, row: ClaimedDigest, owner: str, pages_sent: int) -> None:
        await self._set(row, owner, pages_sent=pages_sent)

    async def finish(self, row: ClaimedDigest, owner: str, status: str, **values: object) -> None:
        values.setdefault("lease_owner", None)
        values.setdefault("lease_until", None)
        if values.get("last_error"):
            values["last_error"] = str(values["last_error"])[:500]
        await self._set(row, owner, status=status, **values)

    async def deactivate_chat(self, chat_id: int, reason: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(Chat).where(Chat.id == chat_id).values(active=False, updated_at=utcnow())
            )
            await session.execute(
                update(Digest)
                .where(Digest.chat_id == chat_id, IS_PENDING)
                .values(status=DIGEST_CANCELLED, last_error=reason[:500], lease_owner=None)
                .execution_options(synchronize_session=False)
            )

    async def release_own_leases(self, owner: str) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Digest)
                .where(Digest.lease_owner == owner, IS_PENDING)
                .values(lease_owner=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )
        return result.rowcount


class DigestSender:
    """Sends the due digest rows while this process leads (see the module docstring)."""

    def __init__(
        self,
        *,
        store: DigestStore,
        compose: Compose,
        bot: BroadcastBot,
        budget: Budget,
        options: DeliveryOptions,
        owner: str,
        is_leader: Callable[[], bool],
        poll_seconds: float,
        migrate_chat: Callable[[int, int], Awaitable[object]] | None = None,
    ) -> None:
        self._store = store
        self._compose = compose
        # a group that became a supergroup: move its subscriptions and settings, as the
        # delivery engine does (DeliveryStore.migrate_chat), so later digests go to the new id
        self._migrate_chat = migrate_chat
        self._bot = bot
        self._budget = budget
        self._options = options
        self.owner = owner
        self._is_leader = is_leader
        self._poll_seconds = poll_seconds
        self._stop = StopSignal()
        self._wake = asyncio.Event()
        self._running = asyncio.Lock()  # one pass at a time in this process
        self._task: asyncio.Task[None] | None = None
        self.stats = DigestStats()

    async def start(self) -> None:
        self._stop.arm()
        self._task = asyncio.create_task(self._loop(), name="digest-sender")

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            _done, late = await asyncio.wait((task,), timeout=self._options.send_timeout + 5)
            for pending in late:
                pending.cancel()

    async def release(self) -> None:
        await self._store.release_own_leases(self.owner)

    def wake(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                if self._is_leader():
                    await self.run_due()
            except Exception:
                log.exception("digests: sending failed; retrying")
                await self._stop.pause(1.0)
            await self._stop.wait(self._wake, self._poll_seconds)

    async def run_due(self) -> int:
        """Claim and send every due digest row; returns how many rows were claimed.

        A pipeline, not batch after batch: the next rows are claimed (and composed) while
        the last half of the previous claim is still being sent, so the budget never waits
        for a claim."""
        claimed = 0
        gate = asyncio.Semaphore(self._options.concurrency)
        sending: set[asyncio.Task[None]] = set()
        async with self._running:
            try:
                while not self._stop.is_set():
                    rows = await self._store.claim(
                        self.owner, CLAIM_BATCH - len(sending), self._options.lease_seconds
                    )
                    claimed += len(rows)
                    sending |= {asyncio.create_task(self._gated(gate, row)) for row in rows}
                    if not sending:
                        break
                    # no rows: wait for the rest, then look once more; else refill at half
                    low = 0 if not rows else CLAIM_BATCH // 2
                    while len(sending) > low:
                        done, sending = await asyncio.wait(
                            sending, return_when=asyncio.FIRST_COMPLETED
                        )
                        _log_failures(done)
            finally:
                if sending:  # stopping: the sends see the stop signal and end
                    done, _late = await asyncio.wait(sending)
                    _log_failures(done)
        return claimed

    async def _gated(self, gate: asyncio.Semaphore, row: ClaimedDigest) -> None:
        async with gate:
            await self._send(row)

    async def _send(self, row: ClaimedDigest) -> None:
        try:
            pages = await self._compose(row.chat_id, row.since, row.until)
        except Exception as exc:
            log.exception("digests: could not compose chat %s's digest", row.chat_id)
            await self._transient(row, f"internal: {exc!r}")
            return
        if not pages:
            self.stats.empty += 1
            await self._store.finish(row, self.owner, DIGEST_EMPTY, items=0)
            return
        chat_id = row.chat_id
        page = row.pages_sent
        try:
            while page < len(pages):
                await send_turn(self._stop, self._budget, chat_id)
                try:
                    await self._bot.send_html(
                        chat_id, pages[page], read_timeout=self._options.send_timeout
                    )
                except RetryAfter as exc:
                    self.stats.flood_waits += 1
                    await flood_wait(self._stop, self._budget, exc)
                    continue
                except ChatMigrated as exc:  # the group became a supergroup
                    if self._migrate_chat is not None:
                        await self._migrate_chat(chat_id, exc.new_chat_id)
                    chat_id = exc.new_chat_id
                    continue
                except Forbidden as exc:
                    await self._gone(row, exc.message)
                    return
                except BadRequest as exc:
                    if any(reason in exc.message.lower() for reason in _GONE_CHAT):
                        await self._gone(row, exc.message)
                        return
                    self.stats.failed += 1
                    await self._store.finish(
                        row,
                        self.owner,
                        DIGEST_FAILED,
                        attempts=row.attempts + 1,
                        last_error=exc.message,
                    )
                    return
                except (NetworkError, TelegramError) as exc:  # timeouts, 5xx
                    await self._transient(row, f"{exc.__class__.__name__}: {exc.message}")
                    return
                page += 1
                self.stats.pages += 1
                if page < len(pages):
                    await self._store.page_sent(row, self.owner, page)
        except Stopping:
            if page > row.pages_sent:
                await self._store.page_sent(row, self.owner, page)
            return
        self.stats.sent += 1
        await self._store.finish(
            row,
            self.owner,
            DIGEST_SENT,
            attempts=row.attempts + 1,
            pages_sent=page,
            sent_at=utcnow(),
        )

    async def _gone(self, row: ClaimedDigest, reason: str) -> None:
        self.stats.cancelled += 1
        await self._store.deactivate_chat(row.chat_id, reason)

    async def _transient(self, row: ClaimedDigest, error: str) -> None:
        attempts = row.attempts + 1
        if attempts >= self._options.max_attempts:
            self.stats.failed += 1
            await self._store.finish(
                row, self.owner, DIGEST_FAILED, attempts=attempts, last_error=error
            )
            return
        self.stats.retries += 1
        await self._store.finish(
            row,
            self.owner,
            DIGEST_PENDING,
            attempts=attempts,
            next_attempt_at=utcnow() + self._options.backoff(attempts),
            last_error=error,
        )


def _log_failures(done: set[asyncio.Task[None]]) -> None:
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            log.error("digests: a send failed", exc_info=task.exception())
