"""One sending budget per bot token, shared by replies and broadcasts.

Telegram allows about 30 messages a second overall, one a second in a private chat and 20 a
minute in a group or channel. Every message the bot sends takes a slot here first. Slots are
handed out evenly spaced (a little wider than the limit, to absorb network jitter), and a
reply to a person always takes the next free slot ahead of any waiting broadcast.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.ext import BaseRateLimiter

from bot.delivery.options import DeliveryOptions
from bot.delivery.telegram_errors import Next, Verdict, answered

URGENT = 0  # replies to people
BULK = 1  # broadcasts
# spacing slots 3 % wider than the limit leaves ~30 ms of jitter before a 429
SAFETY = 1.03
CATCH_UP = 0.005


class Budget:
    def __init__(self, options: DeliveryOptions, clock: Callable[[], float] = time.monotonic):
        self.enabled = options.rate_limits
        self._clock = clock
        self._interval = SAFETY / options.per_second
        self._private_interval = options.private_interval * SAFETY
        self._group_limit = options.group_per_minute
        self._group_window = 60.0 * SAFETY
        self._next_slot = 0.0
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._arrivals = itertools.count()  # (for SharedBudget, which orders by arrival)
        self._wakeup: asyncio.TimerHandle | None = None
        self._private_next: dict[int | str, float] = {}
        self._group_sent: dict[int | str, deque[float]] = {}
        self._chat_locks: dict[int | str, asyncio.Lock] = {}
        self._pruned_at = 0.0

    async def acquire(self, chat_id: int | str, priority: int = BULK) -> None:
        """Wait until a message to `chat_id` may go out now."""
        if not self.enabled:
            return
        arrival = next(self._arrivals)
        lock = self._chat_locks.get(chat_id)
        if lock is None:
            lock = self._chat_locks[chat_id] = asyncio.Lock()
        try:
            async with lock:  # one message per chat at a time passes the chat's check
                await self._acquire_locked(chat_id, priority, arrival)
        finally:
            if not lock.locked() and not getattr(lock, "_waiters", None):
                self._chat_locks.pop(chat_id, None)
        self._prune()

    async def _acquire_locked(self, chat_id: int | str, priority: int, arrival: int) -> None:
        # a person who sends two commands in a second gets both answers at once
        # (Telegram tolerates short bursts in private chats; PTB's limiter does the same)
        delay = 0.0 if skips_chat_check(chat_id, priority) else self._chat_delay(chat_id)
        if delay > 0:
            await asyncio.sleep(delay)
        await self._global_slot(priority)
        self._record_chat(chat_id)

    def penalize(self, retry_after: float) -> None:
        """Telegram answered 429: nothing goes out for `retry_after` seconds."""
        if self.enabled:
            self._next_slot = max(self._next_slot, self._clock() + retry_after)
            self._schedule()

    async def close(self) -> None:
        """Release what the budget holds (nothing here; a shared budget's connections)."""

    # -- the global slot ---------------------------------------------------------------------

    async def _global_slot(self, priority: int) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._order), future))
        self._schedule()
        try:
            await future
        except asyncio.CancelledError:
            if not future.cancelled():  # granted, but we are gone: give the slot back
                self._next_slot -= self._interval
            raise

    def _schedule(self) -> None:
        if self._wakeup is not None:
            self._wakeup.cancel()
            self._wakeup = None
        self._grant()
        if self._waiting:
            delay = max(0.0, self._next_slot - self._clock())
            self._wakeup = asyncio.get_running_loop().call_later(delay, self._schedule)

    def _grant(self) -> None:
        now = self._clock()
        while self._waiting and self._next_slot <= now:
            _priority, _order, future = heapq.heappop(self._waiting)
            if future.cancelled():
                continue
            future.set_result(None)
            # a timer that fired a little late may catch up that little, never more
            self._next_slot = max(self._next_slot, now - CATCH_UP) + self._interval

    # -- per chat ----------------------------------------------------------------------------

    def _chat_delay(self, chat_id: int | str) -> float:
        now = self._clock()
        if is_private(chat_id):
            return self._private_next.get(chat_id, 0.0) - now
        sent = self._group_sent.get(chat_id)
        if sent is None or len(sent) < self._group_limit:
            return 0.0
        return sent[-self._group_limit] + self._group_window - now

    def _record_chat(self, chat_id: int | str) -> None:
        now = self._clock()
        if is_private(chat_id):
            self._private_next[chat_id] = now + self._private_interval
            return
        sent = self._group_sent.get(chat_id)
        if sent is None:
            sent = self._group_sent[chat_id] = deque(maxlen=self._group_limit)
        sent.append(now)

    def _prune(self) -> None:
        """Forget chats whose limits no longer matter, so memory stays flat at any scale."""
        now = self._clock()
        if now - self._pruned_at < 5.0:
            return
        self._pruned_at = now
        self._private_next = {c: t for c, t in self._private_next.items() if t > now}
        self._group_sent = {
            c: s for c, s in self._group_sent.items() if s and s[-1] + self._group_window > now
        }


def is_private(chat_id: int | str) -> bool:
    """A private chat (a person): a positive id; groups and channels are negative or @names."""
    return isinstance(chat_id, int) and chat_id > 0


def skips_chat_check(chat_id: int | str, priority: int) -> bool:
    """A reply to a person does not wait for the chat's second (it is still counted)."""
    return priority == URGENT and is_private(chat_id)


# Methods that put a message in a chat (Telegram counts them all against the limits).
_LIMITED_PREFIXES = ("send", "edit", "copy", "forward")


class SharedRateLimiter(BaseRateLimiter[int]):
    """PTB's hook for every Bot API call made by handlers: replies take URGENT slots.

    The delivery engine passes `rate_limit_args=BULK` for its own calls; a 429 waits the
    `retry_after` and sends the same request again, up to `max_retries` times.
    """

    def __init__(self, budget: Budget, max_retries: int = 3) -> None:
        self._budget = budget
        self._max_retries = max_retries

    @property
    def budget(self) -> Budget:
        return self._budget

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        # PTB calls this when the bot shuts down (before its HTTP clients close)
        await self._budget.close()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat_id = _chat_key(data.get("chat_id")) if _limited(endpoint) else None
        priority = URGENT if rate_limit_args is None else rate_limit_args
        for attempt in itertools.count():
            if chat_id is not None:
                await self._budget.acquire(chat_id, priority)
            answer = await answered(callback(*args, **kwargs))
            if not isinstance(answer, Verdict):
                return answer
            if answer.next is not Next.RETRY_AFTER or attempt >= self._max_retries:
                answer.raise_again()
            self._budget.penalize(answer.seconds)
            await asyncio.sleep(answer.seconds)
        raise AssertionError("unreachable")


def _limited(endpoint: str) -> bool:
    return endpoint.startswith(_LIMITED_PREFIXES) and endpoint != "sendChatAction"


def _chat_key(chat_id: Any) -> int | str | None:
    if chat_id is None:
        return None
    try:
        return int(chat_id)
    except (TypeError, ValueError):
        return str(chat_id)
