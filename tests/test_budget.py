"""The sending budget on a virtual clock: Telegram's limits hold exactly, and replies go first.

The event loop below keeps its own time, which moves only when every task is waiting for a
timer, and then jumps straight to the next one. So "the 31st message waits about a second"
is checked to the millisecond in no time, whatever the machine's load.
"""

from __future__ import annotations

import asyncio
import itertools
import selectors
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from telegram.error import RetryAfter

from bot.delivery.budget import BULK, SAFETY, URGENT, Budget, SharedRateLimiter
from bot.delivery.options import DeliveryOptions

T = TypeVar("T")
LIMITS = DeliveryOptions()  # Telegram's: 30/s overall, 1/s per private chat, 20/min per group
GROUP = -100_200_300
SLOT = SAFETY / LIMITS.per_second  # the spacing the budget promises


class _Selector(selectors.DefaultSelector):
    """Never blocks: a wait for a timer moves the loop's clock instead."""

    def __init__(self, loop: VirtualClockLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[Any]:
        ready = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            raise RuntimeError("every task waits and no timer is set: it would never end")
        self._loop.now += timeout
        return []


class VirtualClockLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self.now = 0.0
        super().__init__(_Selector(self))

    def time(self) -> float:
        return self.now


def run(main: Callable[[VirtualClockLoop], Awaitable[T]]) -> T:
    loop = VirtualClockLoop()
    try:
        return loop.run_until_complete(main(loop))
    finally:
        loop.close()


async def _grant_times(
    budget: Budget, loop: VirtualClockLoop, chats: list[int], priority: int = BULK
) -> list[float]:
    """Ask for one slot per entry of `chats` (in that order); return when each was granted."""
    granted: list[float] = []

    async def one(chat_id: int) -> None:
        await budget.acquire(chat_id, priority)
        granted.append(loop.time())

    await asyncio.gather(*(one(c) for c in chats))
    return granted


def test_thirty_a_second_overall() -> None:
    async def main(loop: VirtualClockLoop) -> list[float]:
        budget = Budget(LIMITS, clock=loop.time)
        return await _grant_times(budget, loop, list(range(1, 91)))  # 90 private chats

    times = run(main)
    assert len(times) == 90 and times == sorted(times)
    # never more than 30 in any second...
    assert min(b - a for a, b in zip(times, times[30:], strict=False)) >= 1.0
    # ...and not needlessly fewer: evenly spaced, just wider than the limit
    assert times[0] == 0.0
    assert times[-1] == pytest.approx(89 * SLOT)


def test_one_a_second_in_a_private_chat_without_holding_up_other_chats() -> None:
    async def main(loop: VirtualClockLoop) -> tuple[list[float], list[float]]:
        budget = Budget(LIMITS, clock=loop.time)
        same, others = await asyncio.gather(
            _grant_times(budget, loop, [7] * 4), _grant_times(budget, loop, [8, 9, 10])
        )
        return same, others

    same, others = run(main)
    gaps = [b - a for a, b in itertools.pairwise(same)]
    assert min(gaps) >= LIMITS.private_interval
    assert max(gaps) < LIMITS.private_interval + 2 * SLOT
    assert max(others) < 5 * SLOT  # the other chats went out in the first slots


def test_twenty_a_minute_in_a_group_or_channel() -> None:
    async def main(loop: VirtualClockLoop) -> list[float]:
        budget = Budget(LIMITS, clock=loop.time)
        return await _grant_times(budget, loop, [GROUP] * 45)

    times = run(main)
    assert len(times) == 45
    # a burst of 20 at the global pace, then each waits for a minute-old one to expire
    assert times[19] < 1.0
    assert min(b - a for a, b in zip(times, times[20:], strict=False)) >= 60.0
    assert times[20] == pytest.approx(times[0] + 60 * SAFETY)
    assert times[40] == pytest.approx(times[0] + 120 * SAFETY)


def test_a_reply_takes_the_next_slot_ahead_of_a_waiting_broadcast() -> None:
    async def main(loop: VirtualClockLoop) -> tuple[list[tuple[str, float]], float]:
        budget = Budget(LIMITS, clock=loop.time)
        limiter = SharedRateLimiter(budget)
        sent: list[tuple[str, float]] = []

        async def send(chat_id: int, kind: str, rate_limit_args: int | None) -> None:
            async def callback() -> bool:
                sent.append((kind, loop.time()))
                return True

            await limiter.process_request(
                callback, (), {}, "sendMessage", {"chat_id": chat_id}, rate_limit_args
            )

        # the delivery engine passes BULK; a handler's reply passes nothing
        broadcast = [asyncio.create_task(send(c, "bulk", BULK)) for c in range(100, 160)]
        await asyncio.sleep(0.5)  # virtual: 15 broadcast messages are out by now
        asked = loop.time()
        await send(42, "reply", None)
        await asyncio.gather(*broadcast)
        return sent, asked

    sent, asked = run(main)
    kinds = [kind for kind, _ in sent]
    at = kinds.index("reply")
    assert kinds.count("bulk") == 60
    # 15 slots had passed (0, SLOT, … 14·SLOT ≤ 0.5 s); the reply took the very next one
    assert at == 15
    assert sent[at][1] - asked < SLOT
    assert sent[at + 1][1] - sent[at][1] == pytest.approx(SLOT)  # the broadcast goes on


def test_urgent_and_bulk_order_in_the_budget_itself() -> None:
    async def main(loop: VirtualClockLoop) -> list[str]:
        budget = Budget(LIMITS, clock=loop.time)
        order: list[str] = []

        async def one(chat_id: int, priority: int, name: str) -> None:
            await budget.acquire(chat_id, priority)
            order.append(name)

        tasks = [asyncio.create_task(one(c, BULK, f"bulk{c}")) for c in range(1, 6)]
        tasks += [asyncio.create_task(one(c, URGENT, f"reply{c}")) for c in range(11, 13)]
        await asyncio.gather(*tasks)
        return order

    # all ask at once: the first slot was already granted on arrival, then replies come first
    assert run(main) == ["bulk1", "reply11", "reply12", "bulk2", "bulk3", "bulk4", "bulk5"]


def test_a_person_gets_two_quick_answers_at_once() -> None:
    async def main(loop: VirtualClockLoop) -> list[float]:
        budget = Budget(LIMITS, clock=loop.time)
        return await _grant_times(budget, loop, [42, 42], URGENT)

    first, second = run(main)
    assert second - first == pytest.approx(SLOT)  # only the global pace, not a second


def test_flood_control_holds_everything_back_then_sends_the_same_request_again() -> None:
    async def main(loop: VirtualClockLoop) -> list[tuple[str, float]]:
        budget = Budget(LIMITS, clock=loop.time)
        limiter = SharedRateLimiter(budget)
        calls: list[tuple[str, float]] = []
        refused = False

        async def flooded() -> bool:
            nonlocal refused
            calls.append(("flooded", loop.time()))
            if not refused:
                refused = True
                raise RetryAfter(3)
            return True

        async def other() -> bool:
            calls.append(("other", loop.time()))
            return True

        first = asyncio.create_task(
            limiter.process_request(flooded, (), {}, "sendMessage", {"chat_id": 1}, BULK)
        )
        await asyncio.sleep(0.1)  # virtual: the 429 has come back
        await limiter.process_request(other, (), {}, "sendMessage", {"chat_id": 2}, BULK)
        await first
        return calls

    calls = run(main)
    assert [name for name, _ in calls] == ["flooded", "other", "flooded"]
    assert calls[1][1] >= 3.0 and calls[2][1] >= 3.0  # nobody sent during the wait


def test_turned_off_it_never_waits() -> None:
    async def main(loop: VirtualClockLoop) -> list[float]:
        budget = Budget(DeliveryOptions(rate_limits=False), clock=loop.time)
        return await _grant_times(budget, loop, [GROUP] * 50 + [7] * 50)

    assert set(run(main)) == {0.0}
