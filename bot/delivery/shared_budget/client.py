"""The backend-independent half of the shared budget: the `SharedBudget` (a `Budget` whose
slots come from a `SlotStore`), its one pump per process, and the fallback to the in-process
`Budget` while the store is down. The rules and the reasons are in the package's docstring;
the stores are in `postgres.py` and `redis.py`."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.delivery.budget import (
    BULK,
    CATCH_UP,
    SAFETY,
    URGENT,
    Budget,
    is_private,
    skips_chat_check,
)
from bot.delivery.options import DeliveryOptions

# the package's one logger name, whichever module logs: operators filter on it
log = logging.getLogger("bot.delivery.shared_budget")

STORE_RETRY_SECONDS = 5.0  # after a failure, the in-process budget this long, then try again
PRUNE_SECONDS = 60.0  # how often a busy process deletes chats whose limits have passed


@dataclass(frozen=True, slots=True)
class Limits:
    interval: float  # between two global slots
    early: float  # how far ahead of its moment a broadcast slot may be granted
    private_interval: float
    group_limit: int
    group_window: float

    @classmethod
    def of(cls, options: DeliveryOptions) -> Limits:
        interval = SAFETY / options.per_second
        return cls(
            interval=interval,
            early=CATCH_UP,
            private_interval=options.private_interval * SAFETY,
            group_limit=options.group_per_minute,
            group_window=60.0 * SAFETY,
        )


@dataclass(frozen=True, slots=True)
class Slot:
    """The store's answer. Granted: send at `at` (on the store's clock), `wait` seconds after
    the store's now. Not granted: nothing was reserved; ask again at `at` (the chat is busy,
    or a broadcast asked too early)."""

    granted: bool
    chat_busy: bool
    at: float
    wait: float
    due: float = 0.0  # `wait` on this process's monotonic clock, set by the budget


class StoreUnavailable(Exception):
    """The slot store failed; the budget falls back to this process's own pacing."""


class SlotSession(ABC):
    @abstractmethod
    async def take(self, chat: str, *, private: bool, urgent: bool, check_chat: bool) -> Slot:
        """Atomically reserve the next global slot and the chat's, or say when to ask again."""

    async def prune(self) -> None:  # noqa: B027 (only PostgreSQL has something to delete)
        """Forget chats whose limits have passed."""


class SlotStore(ABC):
    """Where the processes' shared slot clock lives."""

    limits: Limits

    @abstractmethod
    def session(self) -> contextlib.AbstractAsyncContextManager[SlotSession]:
        """A session for a run of `take`s (a held connection, for PostgreSQL)."""

    @abstractmethod
    async def penalize(self, seconds: float) -> None:
        """Nobody may send for `seconds`, from the store's now."""

    async def close(self) -> None:  # noqa: B027
        pass


@dataclass(slots=True)
class _Ask:
    chat: str
    private: bool
    priority: int
    check_chat: bool
    future: asyncio.Future[Slot]


class SharedBudget(Budget):
    """`Budget`'s interface (acquire, penalize), with the slots reserved in a `SlotStore`."""

    def __init__(
        self,
        options: DeliveryOptions,
        store: SlotStore,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(options, clock)
        self.store = store
        self._next_bulk_after = store.limits.interval - store.limits.early
        self._asks: list[tuple[int, int, _Ask]] = []
        self._pump_task: asyncio.Task[None] | None = None
        self._wake: asyncio.Future[None] | None = None
        self._bulk_not_before = 0.0
        self._penalties: set[asyncio.Task[None]] = set()
        self._store_down_until = float("-inf")
        self._store_failing = False  # (logged once per outage)
        self._store_pruned_at = clock()

    async def reserve(
        self, chat_id: int | str, priority: int = BULK, arrival: int | None = None
    ) -> Slot:
        """Reserve a slot for one message to `chat_id`: waits while the chat is busy, not for
        the slot itself (`acquire` does that). Raises `StoreUnavailable`.

        Requests of one priority are served in order of arrival (`acquire`'s), so a message
        that waited for its chat (a second message to a person) keeps its place."""
        check_chat = not skips_chat_check(chat_id, priority)
        order = next(self._arrivals) if arrival is None else arrival
        while True:
            future: asyncio.Future[Slot] = asyncio.get_running_loop().create_future()
            ask = _Ask(str(chat_id), is_private(chat_id), priority, check_chat, future)
            self._enqueue(ask, order)
            slot = await future
            if slot.granted:
                return slot
            await asyncio.sleep(max(0.0, slot.due - self._clock()))

    async def _acquire_locked(self, chat_id: int | str, priority: int, arrival: int) -> None:
        if self._clock() < self._store_down_until:
            await super()._acquire_locked(chat_id, priority, arrival)
            return
        try:
            slot = await self.reserve(chat_id, priority, arrival)
        except StoreUnavailable:
            await super()._acquire_locked(chat_id, priority, arrival)
            return
        delay = slot.due - self._clock()
        if delay > 0:
            await asyncio.sleep(delay)

    def penalize(self, retry_after: float) -> None:
        if not self.enabled:
            return
        super().penalize(retry_after)  # for the in-process fallback
        task = asyncio.get_running_loop().create_task(self._penalize(retry_after))
        self._penalties.add(task)  # the pump takes no slot before it is written
        task.add_done_callback(self._penalties.discard)

    async def _penalize(self, seconds: float) -> None:
        try:
            await self.store.penalize(seconds)
        except Exception:
            log.warning("could not share a 429's wait through the slot store", exc_info=True)

    async def close(self) -> None:
        if self._penalties:
            await asyncio.wait(tuple(self._penalties))
        await self.store.close()

    # -- the pump: one request to the store at a time, replies first -------------------------

    def _enqueue(self, ask: _Ask, order: int) -> None:
        heapq.heappush(self._asks, (ask.priority, order, ask))
        if ask.priority == URGENT and self._wake is not None and not self._wake.done():
            self._wake.set_result(None)
        if self._pump_task is None:
            self._pump_task = asyncio.get_running_loop().create_task(
                self._pump(), name="shared-budget"
            )

    async def _pump(self) -> None:
        asking: _Ask | None = None
        try:
            async with self.store.session() as session:
                while self._asks:
                    priority, order, ask = self._asks[0]
                    if ask.future.done():  # its caller is gone
                        heapq.heappop(self._asks)
                        continue
                    if self._penalties:
                        await asyncio.wait(tuple(self._penalties))
                        continue
                    if priority != URGENT:
                        delay = self._bulk_not_before - self._clock()
                        if delay > 0:
                            await self._nap(delay)  # (a reply wakes it)
                            continue
                    heapq.heappop(self._asks)
                    asking = ask
                    slot = await session.take(
                        ask.chat,
                        private=ask.private,
                        urgent=priority == URGENT,
                        check_chat=ask.check_chat,
                    )
                    asking = None
                    if self._store_failing:
                        self._store_failing = False
                        log.warning("the shared sending budget's store is back")
                    now = self._clock()
                    if not slot.granted and not slot.chat_busy:  # a broadcast came too early
                        heapq.heappush(self._asks, (priority, order, ask))
                        self._bulk_not_before = now + slot.wait
                        continue
                    if slot.granted and priority != URGENT:
                        # the next broadcast slot is due one interval after this one
                        self._bulk_not_before = now + slot.wait + self._next_bulk_after
                    if not ask.future.done():
                        ask.future.set_result(replace(slot, due=now + slot.wait))
                    if now - self._store_pruned_at >= PRUNE_SECONDS:
                        self._store_pruned_at = now
                        await session.prune()
        except BaseException as exc:
            self._fail(asking, exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            self._pump_task = None
        if self._asks:  # asked while the session was closing
            self._pump_task = asyncio.get_running_loop().create_task(
                self._pump(), name="shared-budget"
            )

    async def _nap(self, seconds: float) -> None:
        self._wake = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait((self._wake,), timeout=seconds)
        finally:
            self._wake = None

    def _fail(self, asking: _Ask | None, exc: BaseException) -> None:
        if isinstance(exc, Exception):
            if not self._store_failing:
                log.warning(
                    "the shared sending budget's store failed (%s: %s); until it is back, "
                    "this process keeps Telegram's limits on its own",
                    type(exc).__name__,
                    exc,
                )
            self._store_failing = True
            self._store_down_until = self._clock() + STORE_RETRY_SECONDS
        asks = [ask for _p, _o, ask in self._asks]
        self._asks.clear()
        if asking is not None:
            asks.append(asking)
        for ask in asks:
            if not ask.future.done():
                ask.future.set_exception(StoreUnavailable(str(exc)))
