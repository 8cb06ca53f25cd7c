"""The one leased-work runner: what every kind of send does, written once.

    kind.claim (lease) ─▶ bounded queue ─▶ workers ─ kind.perform ─▶ Telegram (TelegramCalls)
                               ◀──────── outcomes ─ kind.record, in batches ◀──┘

A kind (`bot.delivery.kinds`) says only how to claim, perform and record one unit, and how
to write the outcome the runner decided for a refusal. The runner claims while it leads and
has room, keeps at most `capacity` units claimed and unrecorded, lets no send start while
`max_unrecorded` outcomes wait to be written (what a crash could do twice stays small even
when the database is slow), writes outcomes every few milliseconds, logs a database outage
once with its traceback and then one line per failure, and stops cooperatively: every loop
checks the stop signal, every wait of theirs ends on it (`bot.delivery.stopping`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from bot.db.base import utcnow
from bot.db.models.delivery import CANCELLED, FAILED, PENDING
from bot.delivery.budget import Budget
from bot.delivery.calls import CallStats, Refused, TelegramCalls
from bot.delivery.chat_life import CLAIMED_AT, ChatLife
from bot.delivery.options import DeliveryOptions
from bot.delivery.stopping import Stopping, StopSignal
from bot.delivery.telegram_errors import Next, Verdict

log = logging.getLogger(__name__)

FLUSH_EVERY = 0.02  # seconds between outcome writes while busy
FLUSH_BATCH = 500
RETRY_PAUSE = 1.0  # after a failed claim or write: not a busy loop while the database is away

U = TypeVar("U")  # a claimed unit of work
R = TypeVar("R")  # what happened to it (its outcome row)


@dataclass
class KindStats(CallStats):
    retries: int = 0  # timeouts, network errors, 5xx: tried again later
    failed: int = 0  # for good
    cancelled: int = 0  # the chat is gone, or the work no longer applies


@dataclass(frozen=True, slots=True)
class Fate:
    """What the runner decided for a unit Telegram refused (or that broke): the kind writes
    it as its own outcome row."""

    status: str  # PENDING (tried again at `next_attempt_at`), FAILED or CANCELLED
    attempts: int  # including this one, if a request was made
    error: str
    chat_id: int
    next_attempt_at: datetime | None = None
    label: str = ""  # for metrics: "blocked", "cancelled", "failed", "retried"


class Kind(Protocol[U, R]):
    name: str  # for logs and task names: "pushes", "corrections", "digests"
    stats: KindStats

    def key(self, unit: U) -> Hashable: ...

    def attempts(self, unit: U) -> int:
        """Attempts made before this one."""
        ...

    async def claim(self, owner: str, limit: int, lease_seconds: float) -> list[U]: ...

    async def perform(self, unit: U, calls: TelegramCalls) -> R:
        """Carry the unit out; raise `Refused` (from `calls`) or `Stopping` as they come."""
        ...

    def settle(self, unit: U, fate: Fate) -> R:
        """The outcome row for a unit that did not go through."""
        ...

    async def record(self, outcomes: Sequence[R]) -> None: ...

    async def release_own(self, owner: str) -> int: ...

    async def release_stale(self, owner: str) -> int: ...


class OutageLog:
    """One traceback per run of failures in this process, then one line for each failure."""

    def __init__(self) -> None:
        self.failures = 0  # in a row

    def failed(self, what: str, exc: BaseException) -> None:
        self.failures += 1
        if self.failures == 1:
            log.error("delivery: %s failed; retrying", what, exc_info=exc)
        else:
            log.warning("delivery: %s failed again (%s); retrying", what, reason(exc))

    def succeeded(self) -> None:
        if self.failures:
            log.info("delivery: the database answers again after %d failure(s)", self.failures)
            self.failures = 0


def reason(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {str(exc)[:200]}"


def fate_of(refusal: Refused, attempts_before: int, options: DeliveryOptions) -> Fate:
    """The one rule for what a refusal does to a unit, whatever its kind."""
    found, chat_id = refusal.verdict, refusal.chat_id
    tried = attempts_before + (1 if refusal.called else 0)
    if found.next is Next.CHAT_GONE:
        return Fate(CANCELLED, tried, found.reason, chat_id, label="blocked")
    if found.next is Next.CHAT_MOVED:  # a correction cannot follow its message there
        return Fate(CANCELLED, tried, "chat migrated", chat_id, label="cancelled")
    if found.next is Next.TRANSIENT:
        if tried >= options.max_attempts:
            return Fate(FAILED, tried, found.reason, chat_id, label="failed")
        next_at = utcnow() + options.backoff(tried)
        return Fate(PENDING, tried, found.reason, chat_id, next_at, label="retried")
    return Fate(FAILED, tried, found.reason, chat_id, label="failed")


class Runner(Generic[U, R]):
    """Runs one kind while this process leads (`is_leader`)."""

    def __init__(
        self,
        kind: Kind[U, R],
        *,
        owner: str,
        options: DeliveryOptions,
        budget: Budget,
        chats: ChatLife,
        stop: StopSignal,
        outages: OutageLog,
        is_leader: Callable[[], bool],
        poll_seconds: float,
    ) -> None:
        self.kind = kind
        self._owner = owner
        self._options = options
        self._stop = stop
        self._outages = outages
        self._is_leader = is_leader
        self._poll_seconds = poll_seconds
        self.concurrency = options.concurrency
        self.capacity = max(options.claim_batch, options.concurrency * 2)
        # sent but not yet recorded: what a crash could do twice. No send starts while this
        # many wait, so requests in flight + unrecorded < 3 × concurrency
        self.max_unrecorded = 2 * options.concurrency
        self.calls = TelegramCalls(
            stop=stop, budget=budget, chats=chats, backlog=self, stats=kind.stats
        )
        # (when claimed, unit); None: a worker's wake-up call
        self._queue: asyncio.Queue[tuple[float, U] | None] = asyncio.Queue()
        self._queued: set[Hashable] = set()  # claimed, not yet recorded
        self._outcomes: list[tuple[Hashable, R]] = []
        self._wake = asyncio.Event()
        self._flushed = asyncio.Event()
        self._recorded = asyncio.Event()
        self._outcome_waiting = asyncio.Event()  # the flush loop's wake-up
        self.claimed = 0  # units claimed so far
        # claim passes begun, and the last one that found nothing due and nothing in hand
        self._passes = 0
        self._idle_pass = 0
        self._went_idle = asyncio.Event()

    def tasks(self) -> list[asyncio.Task[None]]:
        name = self.kind.name
        tasks = [
            asyncio.create_task(self._claim_loop(), name=f"{name}-claim"),
            asyncio.create_task(self._flush_loop(), name=f"{name}-flush"),
        ]
        tasks += [
            asyncio.create_task(self._worker(), name=f"{name}-worker-{n}")
            for n in range(self.concurrency)
        ]
        return tasks

    def wake(self) -> None:
        """Work may be waiting (published, corrected, due, or the poll job ticked)."""
        self._wake.set()

    async def settled(self) -> None:
        """Until a claim pass begun after this call found nothing due and nothing in hand:
        everything due now has been carried out and recorded (what tests wait for)."""
        begun = self._passes
        while self._idle_pass <= begun and not self._stop.is_set():
            # again each time: a pass that found units still unrecorded is not idle, and the
            # next one would otherwise wait for the poll
            self.wake()
            self._went_idle.clear()
            await self._stop.wait(self._went_idle, 1.0)

    def stopping(self) -> None:
        """The sender stops: workers waiting for a unit see it at once."""
        for _worker in range(self.concurrency):
            self._queue.put_nowait(None)

    def drop_queued(self) -> None:
        """After the stop: units claimed but not carried out stay leased in the database until
        the release, and are no longer held here, so a start after the stop claims them again."""
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queued = {key for key, _outcome in self._outcomes}

    # -- claiming ----------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while not self._stop.is_set():
            try:
                if not self._is_leader():
                    # a wake() meant for a leader must not turn this wait into a busy loop
                    self._wake.clear()
                    await self._stop.wait(self._wake, self._options.leader_poll_seconds)
                    continue
                self._wake.clear()
                self._passes += 1
                this_pass = self._passes
                room = self.capacity - len(self._queued)
                claimed: list[U] = []
                if room >= min(self._options.claim_batch, self.capacity // 2):
                    claimed_at = time.monotonic()
                    claimed = await self.kind.claim(
                        self._owner,
                        min(room, self._options.claim_batch),
                        self._options.lease_seconds,
                    )
                    self.claimed += len(claimed)
                    for unit in claimed:
                        key = self.kind.key(unit)
                        if key not in self._queued:
                            self._queued.add(key)
                            self._queue.put_nowait((claimed_at, unit))
                self._outages.succeeded()
                if claimed:
                    continue
                if not self._queued:
                    self._idle_pass = this_pass
                    self._went_idle.set()
                if room < self.capacity // 2:  # busy: claim again once workers made room
                    self._flushed.clear()
                    await self._stop.wait(self._flushed, self._poll_seconds)
                else:
                    await self._stop.wait(self._wake, self._poll_seconds)
            except Exception as exc:
                self._outages.failed(f"{self.kind.name}: claiming", exc)
                # not a wait for `_wake`: a wake-up (the poll job's, or a publish) must not
                # turn the retries into a busy loop while the database is away
                await self._stop.pause(RETRY_PAUSE)

    # -- performing --------------------------------------------------------------------------

    async def _worker(self) -> None:
        kind = self.kind
        while not self._stop.is_set():
            queued = await self._queue.get()
            if queued is None or self._stop.is_set():
                return  # a unit left in the queue stays leased; the release frees it
            claimed_at, unit = queued
            CLAIMED_AT.set(claimed_at)
            try:
                outcome = await kind.perform(unit, self.calls)
            except Stopping:
                return
            except Refused as refused:
                outcome = self._settle(unit, refused)
            except Exception as exc:  # a bug must not lose the unit: tried again later
                log.exception("delivery: %s: unexpected error for %s", kind.name, unit)
                internal = Refused(Verdict(Next.TRANSIENT, f"internal: {exc!r}"), 0)
                outcome = self._settle(unit, internal)
            self._outcomes.append((kind.key(unit), outcome))
            self._outcome_waiting.set()

    def _settle(self, unit: U, refused: Refused) -> R:
        fate = fate_of(refused, self.kind.attempts(unit), self._options)
        stats = self.kind.stats
        if fate.status == PENDING:
            stats.retries += 1
        elif fate.status == FAILED:
            stats.failed += 1
            log.warning("delivery: %s: giving up on %s: %s", self.kind.name, unit, fate.error)
        else:
            stats.cancelled += 1
        return self.kind.settle(unit, fate)

    def full(self) -> bool:
        """Back-pressure: too many outcomes wait to be written for a send to start."""
        return len(self._outcomes) >= self.max_unrecorded

    async def room(self) -> None:
        while self.full() and not self._stop.is_set():
            self._recorded.clear()
            await self._stop.wait(self._recorded, 0.5)

    # -- recording ---------------------------------------------------------------------------

    async def _flush_loop(self) -> None:
        # the stop writes what the workers record after this loop has ended
        while not self._stop.is_set():
            if not self._outcomes:  # idle: no timer ticking until a worker has an outcome
                self._outcome_waiting.clear()
                await self._stop.wait(self._outcome_waiting, self._poll_seconds)
                continue
            await self._stop.pause(FLUSH_EVERY)  # a moment for the batch to grow
            try:
                await self.write_outcomes()
            except Exception as exc:
                self._outages.failed(f"{self.kind.name}: recording outcomes", exc)
                await self._stop.pause(RETRY_PAUSE)
            else:
                self._outages.succeeded()

    async def write_outcomes(self) -> None:
        while self._outcomes:
            batch = self._outcomes[:FLUSH_BATCH]
            await self.kind.record([outcome for _key, outcome in batch])
            del self._outcomes[: len(batch)]
            for key, _outcome in batch:
                self._queued.discard(key)
            self._flushed.set()
            self._recorded.set()
