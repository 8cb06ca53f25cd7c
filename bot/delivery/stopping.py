"""The sender's stop signal: every loop checks it, and every wait of theirs ends on it.

Not `asyncio.wait_for(event.wait(), seconds)`: on Python 3.11 that returns normally when a
cancel arrives just after the event was set, so a loop cancelled while `wake()` is being
called goes on running (the once-seen hang at stop). `asyncio.wait` never swallows a cancel,
and the stop signal ends every wait without any cancel at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from bot.delivery.budget import BULK, Budget


class Stopping(Exception):
    """The sender stops: leave this row claimed; the stop releases it for the next start."""


class StopSignal:
    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._waiter: asyncio.Task[bool] | None = None  # done once the signal is set

    def arm(self) -> None:
        """At start: clear the signal and watch it (needs the running loop)."""
        self._event.clear()
        self._waiter = asyncio.create_task(self._event.wait(), name="delivery-stop")

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self, event: asyncio.Event, seconds: float) -> None:
        """Until `event` is set, the sender stops, or `seconds` pass. It always yields to the
        loop, so a loop whose event stays set cannot starve the others."""
        waiter = self._waiter
        if event.is_set() or waiter is None or waiter.done():
            await asyncio.sleep(0)
            return
        woken = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait(
                (woken, waiter), timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            woken.cancel()

    async def pause(self, seconds: float) -> None:
        """Sleep, but not past the stop."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            await asyncio.wait((waiter,), timeout=seconds)

    async def unless_stopping(self, step: Awaitable[None]) -> None:
        """Await `step` (a wait for the budget); raise `Stopping` if the sender stops first."""
        task = asyncio.ensure_future(step)
        if self._waiter is None:  # not started: nothing can stop it
            await task
            return
        try:
            await asyncio.wait((task, self._waiter), return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            task.cancel()
            raise
        if not task.done():  # stopping
            task.cancel()  # a wait of our own, which the budget undoes cleanly
            await asyncio.wait((task,))
            raise Stopping
        task.result()


async def send_turn(stop: StopSignal, budget: Budget, chat_id: int) -> None:
    """Wait for a broadcast slot for `chat_id`; raise `Stopping` if the sender stops first
    (no request starts once it does)."""
    if budget.enabled:  # (when it is not, acquire() returns at once)
        await stop.unless_stopping(budget.acquire(chat_id, BULK))
    if stop.is_set():
        raise Stopping


async def flood_wait(stop: StopSignal, budget: Budget, wait: float) -> None:
    """A 429: everything waits `wait` seconds (its `retry_after`), then the very same request
    goes again; if the sender stops meanwhile, the row stays pending for the next start."""
    budget.penalize(wait)
    await stop.pause(wait)
    if stop.is_set():
        raise Stopping from None
