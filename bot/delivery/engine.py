"""The sender: one process at a time (the leader) runs every kind of send on the one runner.

    publish ─▶ broadcast_queue ─fan-out─▶ deliveries ─┐
    /edit, /delete ─────────────────────▶ corrections ├─ Runner(kind) ─▶ Telegram
    jobs: digests due ──────────────────▶ digests ────┤
    desk: queue_notice ─────────────────▶ notices ────┘

The engine holds the sender lock (`bot.delivery.leader`), builds one `Runner` per kind, and
starts, wakes and stops them together. A chat's life (gone, moved) is `ChatLife`'s, for every
kind at once. Stopping is cooperative and bounded: every loop checks the stop signal; only a
task that overruns its bound is cancelled, and the log says where it was.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

from bot.delivery.budget import Budget
from bot.delivery.chat_life import ChatLife
from bot.delivery.kinds.corrections import Corrections
from bot.delivery.kinds.digests import Compose, Digests
from bot.delivery.kinds.notices import Notices
from bot.delivery.kinds.pushes import OnOutcome, Pushes, PushStats, RenderItem, TopicNotice
from bot.delivery.leader import Leadership
from bot.delivery.options import DeliveryOptions
from bot.delivery.pictures import Pictures
from bot.delivery.runner import OutageLog, Runner
from bot.delivery.stopping import StopSignal
from bot.delivery.store import DeliveryStore
from bot.delivery.transport import BroadcastBot
from bot.tasks import awaiting, bounded

log = logging.getLogger(__name__)
# the longest any one step of a stop may take (record outcomes, release leases and lock)
STOP_STEP_SECONDS = 10.0
# beyond `send_timeout`: how long the loops get to notice the stop (a claim or an outcome
# write in progress ends first) before the leftovers are cancelled
STOP_GRACE_SECONDS = 5.0
# the last resort after that: cancelling the leftovers, for at most this long
CANCEL_SECONDS = 5.0
LEADER_CHECK_EVERY = 1.0


class DeliveryEngine:
    """Sends what the store holds. It knows nothing of items or how they look: the composition
    root hands it `render` (an item's message), `compose` (a chat's digest pages) and hooks."""

    def __init__(
        self,
        *,
        store: DeliveryStore,
        render: RenderItem,
        compose: Compose,
        bot: BroadcastBot,
        budget: Budget,
        leadership: Leadership,
        options: DeliveryOptions,
        poll_seconds: float,
        after_fanout: Callable[[], None] = lambda: None,
        on_outcome: OnOutcome = lambda _outcome: None,
        topic_notice: TopicNotice = lambda _gone: None,
    ) -> None:
        self.store = store
        self._bot = bot
        self._leadership = leadership
        self._options = options
        self.owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # True while this process holds the sender lock: it alone sends, and it alone runs the
        # jobs that must run once (see `on_became_leader`)
        self.is_leader = False
        self._on_leader: list[Callable[[], None]] = []
        # set once by stop(); every loop checks it, and every wait of theirs ends on it
        self._stop = StopSignal()
        self.outages = OutageLog()
        self.chats = ChatLife(store.chats)
        # each item's picture: by URL once, then by the file_id Telegram gave for it
        self.pictures = Pictures(store.items, self._stop)
        self.pushes = Pushes(
            store=store,
            bot=bot,
            options=options,
            pictures=self.pictures,
            render=render,
            after_fanout=after_fanout,
            after_stale_sent=lambda: self.corrections_runner.wake(),
            on_outcome=on_outcome,
            topic_notice=topic_notice,
        )
        self.corrections = Corrections(
            store=store,
            bot=bot,
            options=options,
            pictures=self.pictures,
            rendered=self.pushes.rendered,
        )
        self.digests = Digests(
            store=store, bot=bot, options=options, compose=compose, owner=self.owner
        )
        self.notices = Notices(store=store, bot=bot, options=options, owner=self.owner)

        def runner(kind: Any) -> Runner[Any, Any]:
            return Runner(
                kind,
                owner=self.owner,
                options=options,
                budget=budget,
                chats=self.chats,
                stop=self._stop,
                outages=self.outages,
                is_leader=lambda: self.is_leader,
                poll_seconds=poll_seconds,
            )

        self.pushes_runner = runner(self.pushes)
        self.corrections_runner = runner(self.corrections)
        self.digests_runner = runner(self.digests)
        self.notices_runner = runner(self.notices)
        self.runners: tuple[Runner[Any, Any], ...] = (
            self.pushes_runner,
            self.corrections_runner,
            self.digests_runner,
            self.notices_runner,
        )
        self._tasks: list[asyncio.Task[None]] = []
        self.cancelled_on_stop = 0  # tasks that overran the stop's bound (0 when all is well)

    @property
    def stats(self) -> PushStats:
        return self.pushes.stats

    @property
    def max_unrecorded(self) -> int:
        """Pushes sent and not yet recorded, at most (what a crash could send twice)."""
        return self.pushes_runner.max_unrecorded

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._stop.arm()
        await self._bot.initialize()
        self._tasks = [asyncio.create_task(self._lead(), name="delivery-lead")]
        for runner in self.runners:
            self._tasks += runner.tasks()

    async def stop(self) -> None:
        """Stop sending and record what was sent (every kind alike).

        Requests already on their way get up to `send_timeout` to be answered and recorded,
        so a clean stop sends nothing twice. What was claimed but not sent stays claimed by
        this process until `release()`.
        """
        self._stop.set()
        tasks, self._tasks = self._tasks, []
        for runner in self.runners:
            runner.stopping()
        if tasks:
            bound = self._options.send_timeout + STOP_GRACE_SECONDS
            _done, late = await asyncio.wait(tasks, timeout=bound)
            if late:
                await self._cancel_late(late, bound)
        for runner in self.runners:
            runner.drop_queued()
            await bounded(
                f"record {runner.kind.name}", runner.write_outcomes(), STOP_STEP_SECONDS, log
            )
        await bounded(
            "close the sender's connections", self._bot.shutdown(), STOP_STEP_SECONDS, log
        )

    @property
    def stop_seconds(self) -> float:
        """The longest `stop()` can take: each of its steps has a bound."""
        steps = len(self.runners) + 1
        return (
            self._options.send_timeout
            + STOP_GRACE_SECONDS
            + CANCEL_SECONDS
            + (steps * STOP_STEP_SECONDS)
        )

    async def release(self) -> None:
        """Give up what this process holds: its claimed but unsent units (free at once for the
        next sender) and the sender lock."""
        if self.is_leader:
            for runner in self.runners:
                await bounded(
                    f"release {runner.kind.name} leases",
                    runner.kind.release_own(self.owner),
                    STOP_STEP_SECONDS,
                    log,
                )
        await bounded("release the sender lock", self._leadership.release(), STOP_STEP_SECONDS, log)
        self.is_leader = False

    async def _cancel_late(self, late: set[asyncio.Task[None]], bound: float) -> None:
        """The last resort: a task still running after the stop's bound is cancelled, and the
        log says where it was."""
        self.cancelled_on_stop += len(late)
        for task in late:
            log.error(
                "delivery: %s ignored the stop for %.0fs; cancelling it, waiting at %s",
                task.get_name(),
                bound,
                awaiting(task),
            )
        deadline = time.monotonic() + CANCEL_SECONDS
        while late and time.monotonic() < deadline:
            for task in late:  # again and again: a cancel can be swallowed
                task.cancel()
            _done, late = await asyncio.wait(late, timeout=0.1)
        if late:
            log.error("delivery: %d task(s) would not stop even when cancelled", len(late))

    # -- events from the services (wired by the composition root) ----------------------------

    def wake(self) -> None:
        """New work may be waiting (an item was published, or the poll job ticked)."""
        for runner in self.runners:
            runner.wake()

    def digests_due(self) -> None:
        """Digest rows were just made."""
        self.digests_runner.wake()

    def notices_queued(self) -> None:
        """Notices were just committed: send them now rather than at the next poll (another
        process's notices wait for that poll, or for this process to lead)."""
        self.notices_runner.wake()

    def corrected(self, item_id: int) -> None:
        """An item was just edited or deleted: send it as it is now, and correct what was sent."""
        self.pushes.forget(item_id)
        self.pictures.forget(item_id)
        self.corrections_runner.wake()

    def on_became_leader(self, callback: Callable[[], None]) -> None:
        """Call `callback` each time this process takes the sender lock (at start, or when the
        old leader died), so the jobs that must run once catch up at once instead of waiting a
        whole interval."""
        self._on_leader.append(callback)

    # -- leading -----------------------------------------------------------------------------

    async def _lead(self) -> None:
        """Take the sender lock, and keep checking it is still held."""
        while not self._stop.is_set():
            try:
                if not self.is_leader:
                    if not await self._leadership.try_acquire():
                        await self._stop.pause(self._options.leader_poll_seconds)
                        continue
                    released = 0
                    for runner in self.runners:
                        released += await runner.kind.release_stale(self.owner)
                    self.is_leader = True
                    log.info("delivery: this process leads now (%d leases taken over)", released)
                    self._became_leader()
                    self.wake()
                else:
                    await self._stop.pause(LEADER_CHECK_EVERY)
                    if self._stop.is_set():
                        return
                    if not await self._leadership.still_held():
                        self.is_leader = False  # the runners and jobs stand by from now on
                        log.warning("delivery: lost the sender lock; standing by")
            except Exception as exc:  # (the runners' next claim tells when it answers again)
                self.outages.failed("leading", exc)
                await self._stop.pause(1.0)

    def _became_leader(self) -> None:
        for callback in self._on_leader:
            try:
                callback()
            except Exception:  # a listener's bug must not stop the sender
                log.exception("delivery: a became-leader callback failed")
