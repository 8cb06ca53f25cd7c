"""The sender: claims due deliveries, sends them within the budget, records each outcome.

    publish ─▶ broadcast_queue ─expand─▶ deliveries (pending)
                                              │ claim (lease) ─▶ queue ─▶ workers ─▶ Telegram
                                              ◀──────── outcomes, written in batches ◀──┘

One loop claims rows while there is room in an in-memory queue; `concurrency` workers send;
a writer commits outcomes every few milliseconds. A row is marked sent only after Telegram
answered with the message, so a crash can re-send at most what was in flight. Edits and
deletions of sent messages go the same way beside it (`bot.delivery.corrections`).

Stopping is cooperative: every loop checks the stop signal, and every wait of theirs also
ends when it is set (`bot.delivery.stopping`). Cancelling is only the last resort for a task
that overruns its bound.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.db.base import utcnow
from bot.db.models.delivery import CANCELLED, FAILED, PENDING, SENT
from bot.delivery.budget import Budget
from bot.delivery.content import ItemMessage, Shape, is_picture_error
from bot.delivery.corrections import CorrectionSender, Rendered
from bot.delivery.leader import Leadership
from bot.delivery.options import DeliveryOptions
from bot.delivery.pictures import Pictures, Turn
from bot.delivery.stopping import Stopping, StopSignal, flood_wait, send_turn
from bot.delivery.store import Claimed, DeliveryStore, Outcome, TopicGone
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

FLUSH_EVERY = 0.02  # seconds between outcome writes while busy
FLUSH_BATCH = 500
LEADER_CHECK_EVERY = 1.0
_GONE_CHAT = ("chat not found", "peer_id_invalid", "user not found")
# a forum topic that takes no messages: the push goes to General instead
_GONE_TOPIC = ("topic_closed", "message thread not found", "topic_deleted")


@dataclass
class EngineStats:
    sent: int = 0
    failed: int = 0
    cancelled: int = 0
    retries: int = 0  # timeouts, network errors, 5xx
    flood_waits: int = 0  # 429s answered
    migrated: int = 0
    expanded: int = 0  # delivery rows created
    photos: int = 0  # sent as photos (the rest of `sent` as text)
    picture_fallbacks: int = 0  # a refused picture: sent as text instead
    topic_fallbacks: int = 0  # a closed or deleted forum topic: sent to General instead
    silent: int = 0  # sent without a sound: inside the chat's quiet hours


# the message for an item as subscribers get it, in an interface language (item id,
# language): its text, caption, picture and button (or just an HTML text); None once the
# item is withdrawn
RenderItem = Callable[[int, str], Awaitable[ItemMessage | str | None]]
# told the outcome of each delivery attempt: "sent", "blocked" (the chat is gone: blocked,
# kicked, deleted), "failed" (for good), "retried" (it will be tried again), "cancelled"
OnOutcome = Callable[[str], None]
# the notice for a group's admins when its forum topic stopped taking pushes (HTML, in the
# chat's language); None: no notice
TopicNotice = Callable[[TopicGone], str | None]


class DeliveryEngine:
    """Sends what the store holds. It knows nothing of items or how they look: the composition
    root hands it `render` (the message for an item) and `after_fanout` (called once new
    deliveries were created, e.g. so listings read the items that another process added)
    and `on_outcome` (each attempt's outcome, e.g. for metrics)."""

    def __init__(
        self,
        *,
        store: DeliveryStore,
        render: RenderItem,
        after_fanout: Callable[[], None] = lambda: None,
        on_outcome: OnOutcome = lambda _outcome: None,
        topic_notice: TopicNotice = lambda _gone: None,
        bot: BroadcastBot,
        budget: Budget,
        leadership: Leadership,
        options: DeliveryOptions,
        poll_seconds: float,
    ) -> None:
        self._store = store
        self._render_item = render
        self._after_fanout = after_fanout
        self._on_outcome = on_outcome
        self._topic_notice = topic_notice
        self._bot = bot
        self._budget = budget
        self._leadership = leadership
        self._options = options
        self._poll_seconds = poll_seconds
        self.owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stats = EngineStats()
        # True while this process holds the sender lock: it alone sends, and it alone runs
        # the jobs that must run once (see `on_became_leader`)
        self.is_leader = False
        self._on_leader: list[Callable[[], None]] = []
        self._wake = asyncio.Event()
        # set once by stop(); every loop checks it, and every wait of theirs ends on it
        self._stop = StopSignal()
        # None: a wake-up call for a worker, so it sees the stop
        self._queue: asyncio.Queue[Claimed | None] = asyncio.Queue()
        self._capacity = max(options.claim_batch, options.concurrency * 2)
        self._queued: set[tuple[int, int]] = set()  # claimed, not yet recorded
        self._outcomes: list[Outcome] = []
        self._flushed = asyncio.Event()
        # sent but not yet recorded: what a crash could send twice. No send starts while this
        # many are unrecorded, so requests in flight + unrecorded < 3 × concurrency even
        # when the database is slow
        self.max_unrecorded = 2 * options.concurrency
        self._recorded = asyncio.Event()
        self._inactive: set[int] = set()
        # one text per (item, interface language), however many chats read it
        self._texts: dict[tuple[int, str], asyncio.Future[Rendered | None]] = {}
        # each item's picture: by URL once, then by the file_id Telegram gave for it
        self.pictures = Pictures(store, self._stop)
        self._tasks: list[asyncio.Task[None]] = []
        self.cancelled_on_stop = 0  # tasks that overran the stop's bound (0 when all is well)
        self.corrections = CorrectionSender(
            store=store,
            bot=bot,
            budget=budget,
            options=options,
            owner=self.owner,
            rendered=self._text,
            is_leader=lambda: self.is_leader,
            stop=self._stop,
            pictures=self.pictures,
            poll_seconds=poll_seconds,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._stop.arm()
        await self._bot.initialize()
        self._tasks = [asyncio.create_task(self._claim_loop(), name="delivery-claim")]
        self._tasks.append(asyncio.create_task(self._flush_loop(), name="delivery-flush"))
        self._tasks += [
            asyncio.create_task(self._worker(), name=f"delivery-worker-{n}")
            for n in range(self._options.concurrency)
        ]
        self._tasks += self._correction_tasks()

    def _correction_tasks(self) -> list[asyncio.Task[None]]:
        corrections = self.corrections
        tasks = [asyncio.create_task(corrections.claim_loop(), name="corrections-claim")]
        tasks += [
            asyncio.create_task(corrections.worker(), name=f"corrections-worker-{n}")
            for n in range(corrections.concurrency)
        ]
        return tasks

    async def stop(self) -> None:
        """Stop sending and record what was sent (deliveries and corrections alike).

        Messages already on their way get up to `send_timeout` to be answered and recorded,
        so a clean stop sends nothing twice. What was claimed but not sent stays claimed by
        this process until `release()`.
        """
        self._stop.set()
        tasks, self._tasks = self._tasks, []
        for _worker in range(self._options.concurrency):
            self._queue.put_nowait(None)  # a worker waiting for a row sees the stop at once
        self.corrections.stopping()
        if tasks:
            bound = self._options.send_timeout + STOP_GRACE_SECONDS
            _done, late = await asyncio.wait(tasks, timeout=bound)
            if late:
                await self._cancel_late(late, bound)
        while not self._queue.empty():
            self._queue.get_nowait()
        self.corrections.drop_queued()
        await bounded("record outcomes", self._write_outcomes(), STOP_STEP_SECONDS, log)
        # claimed but not sent: still leased in the database until release() frees them, and
        # no longer held here, so that a start after the stop claims them again
        self._queued = {(outcome.item_id, outcome.chat_id) for outcome in self._outcomes}
        await bounded(
            "close the sender's connections", self._bot.shutdown(), STOP_STEP_SECONDS, log
        )

    @property
    def stop_seconds(self) -> float:
        """The longest `stop()` can take: each of its steps has a bound."""
        return (
            self._options.send_timeout + STOP_GRACE_SECONDS + CANCEL_SECONDS + 2 * STOP_STEP_SECONDS
        )

    async def release(self) -> None:
        """Give up what this process holds: its claimed but unsent rows (free at once for
        the next sender) and the sender lock."""
        if self.is_leader:
            await bounded(
                "release leases", self._store.release_own_leases(self.owner), STOP_STEP_SECONDS, log
            )
        await bounded("release the sender lock", self._leadership.release(), STOP_STEP_SECONDS, log)
        self.is_leader = False

    async def _cancel_late(self, late: set[asyncio.Task[None]], bound: float) -> None:
        """The last resort: a task still running after the stop's bound is cancelled, and
        the log says where it was."""
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

    def chat_reachable(self, chat_id: int) -> None:
        """The chat let the bot back in (unblocked, re-added)."""
        self._inactive.discard(chat_id)

    def on_became_leader(self, callback: Callable[[], None]) -> None:
        """Call `callback` each time this process takes the sender lock (at start, or when
        the old leader died), so the jobs that must run once catch up at once instead of
        waiting a whole interval."""
        self._on_leader.append(callback)

    def _became_leader(self) -> None:
        for callback in self._on_leader:
            try:
                callback()
            except Exception:  # a listener's bug must not stop the sender
                log.exception("delivery: a became-leader callback failed")

    def wake(self) -> None:
        """New work may be waiting (an item was published, or the poll job ticked)."""
        self._wake.set()
        self.corrections.wake()

    def corrected(self, item_id: int) -> None:
        """An item was just edited or deleted: send it as it is now, and correct what was sent."""
        self.forget(item_id)
        self.pictures.forget(item_id)
        self.corrections.wake()

    # -- claiming ----------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        checked_at = 0.0
        failures = 0  # in a row: the database is away
        while not self._stop.is_set():
            try:
                if not self.is_leader:
                    if not await self._leadership.try_acquire():
                        # a wake() meant for a leader must not turn this wait into a busy
                        # loop of lock attempts
                        self._wake.clear()
                        await self._sleep(self._options.leader_poll_seconds)
                        continue
                    released = await self._store.release_stale_leases(self.owner)
                    self.is_leader = True
                    log.info("delivery: this process leads now (%d leases taken over)", released)
                    checked_at = time.monotonic()
                    self._became_leader()
                elif time.monotonic() - checked_at > LEADER_CHECK_EVERY:
                    checked_at = time.monotonic()
                    if not await self._leadership.still_held():
                        self.is_leader = False  # the jobs stand by from their next tick on
                        log.warning("delivery: lost the sender lock; standing by")
                        continue
                self._wake.clear()
                fanouts = await self._store.expand()
                if failures:
                    log.info("delivery: the claim loop works again after %d failure(s)", failures)
                    failures = 0
                if fanouts:
                    # items published by another process (CLI, replica) arrive here first
                    self._after_fanout()
                for fanout in fanouts:
                    self.stats.expanded += fanout.deliveries
                room = self._capacity - len(self._queued)
                claimed: list[Claimed] = []
                if room >= min(self._options.claim_batch, self._capacity // 2):
                    claimed = await self._store.claim(
                        self.owner,
                        min(room, self._options.claim_batch),
                        self._options.lease_seconds,
                    )
                    for row in claimed:
                        key = (row.item_id, row.chat_id)
                        if key not in self._queued:
                            self._queued.add(key)
                            self._queue.put_nowait(row)
                if claimed:
                    self._texts = {}
                    continue
                if room < self._capacity // 2:  # busy: claim again once workers made room
                    self._flushed.clear()
                    await self._wait(self._flushed, self._poll_seconds)
                else:
                    await self._wait(self._wake, self._poll_seconds)
            except Exception as exc:
                failures += 1
                if failures == 1:
                    log.exception("delivery: claim loop failed; retrying")
                else:  # the same outage: one line each time, not a traceback
                    log.warning("delivery: claim loop failed again (%s); retrying", _reason(exc))
                # not a wait for `_wake`: a wake-up (the poll job's, or a publish) must not
                # turn the retries into a busy loop while the database is away
                await self._stop.pause(1.0)

    async def _sleep(self, seconds: float) -> None:
        await self._wait(self._wake, seconds)

    async def _wait(self, event: asyncio.Event, seconds: float) -> None:
        await self._stop.wait(event, seconds)

    # -- sending -----------------------------------------------------------------------------

    async def _worker(self) -> None:
        while not self._stop.is_set():
            row = await self._queue.get()
            if row is None or self._stop.is_set():
                return  # a row left in the queue stays claimed; release() frees it
            try:
                outcome = await self._deliver(row)
            except Stopping:
                return
            except Exception as exc:  # a bug must not lose the row: retry it later
                log.exception("delivery: unexpected error for %s", row)
                outcome = self._transient(row, row.chat_id, f"internal: {exc!r}")
            self._outcomes.append(outcome)

    def forget(self, item_id: int) -> None:
        """An item was just corrected or withdrawn: the next send reads it again."""
        for key in [key for key in self._texts if key[0] == item_id]:
            del self._texts[key]

    async def _text(self, item_id: int, revision: int = 0, language: str = "en") -> Rendered | None:
        """The message for an item, read once per claimed batch, and again when a row was
        claimed at a newer revision than the text cached (so an item withdrawn or corrected
        meanwhile, here or by another process, is not sent, or sent as corrected)."""
        key = (item_id, language)
        task = self._texts.get(key)
        if task is not None and task.done() and not task.cancelled() and not task.exception():
            cached = task.result()
            if cached is not None and cached.revision < revision:
                task = None
        if task is None:
            task = self._texts[key] = asyncio.ensure_future(self._render(item_id, language))
        return await asyncio.shield(task)

    async def _render(self, item_id: int, language: str) -> Rendered | None:
        # the revision first: the text read after it is at least that new, so a message is
        # never recorded as newer than it is (a stale one gets its edit when recorded); the
        # picture's file_id and state come with it, fresh, whatever the renderer cached
        state = await self._store.item_state(item_id)
        message = await self._render_item(item_id, language)
        if message is None or state is None:
            return None
        if isinstance(message, str):
            message = ItemMessage(text=message, caption=message)
        if message.image_url or message.image_file_id:
            message = replace(
                message,
                image_file_id=state.image_file_id or message.image_file_id,
                image_broken=state.image_broken,
            )
        return Rendered(state.revision, message)

    async def _deliver(self, row: Claimed) -> Outcome:
        chat_id = row.chat_id
        rendered = await self._text(row.item_id, row.revision, row.language)
        if rendered is None:  # the item was deleted before it reached everyone
            self._on_outcome("cancelled")
            return Outcome(row.item_id, chat_id, CANCELLED, row.attempts, last_error="item gone")
        message = rendered.message
        shape = message.shape
        turn: Turn | None = None  # the picture, while it goes as a photo
        thread_id = row.thread_id  # None once the topic turned out closed or deleted
        try:
            while True:
                if chat_id in self._inactive:
                    self.stats.cancelled += 1
                    self._on_outcome("cancelled")
                    return Outcome(
                        row.item_id, chat_id, CANCELLED, row.attempts, last_error="inactive"
                    )
                while len(self._outcomes) >= self.max_unrecorded and not self._stop.is_set():
                    self._recorded.clear()
                    await self._wait(self._recorded, 0.5)
                if shape is Shape.PHOTO and turn is None:
                    turn = await self.pictures.take(row.item_id, message)
                    if turn is None:  # refused: the item goes as text
                        shape = Shape.TEXT
                await send_turn(self._stop, self._budget, chat_id)
                file_id = None
                # decided at the send itself: a row claimed before the window opened is quiet
                silent = row.quiet is not None and row.quiet.covers(utcnow())
                try:
                    if turn is not None:
                        message_id, file_id = await self._bot.send_picture(
                            chat_id,
                            turn.picture,
                            message.caption,
                            read_timeout=self._options.send_timeout,
                            markup=message.markup_json,
                            thread_id=thread_id,
                            silent=silent,
                        )
                    else:
                        message_id = await self._bot.send_html(
                            chat_id,
                            message.text,
                            read_timeout=self._options.send_timeout,
                            preview_url=message.image_url if shape is Shape.PREVIEW else None,
                            markup=message.markup_json,
                            thread_id=thread_id,
                            silent=silent,
                        )
                except RetryAfter as exc:  # flood control: wait, then the very same message
                    self.stats.flood_waits += 1
                    await flood_wait(self._stop, self._budget, exc)
                    continue
                except ChatMigrated as exc:
                    migrated = await self._store.migrate_chat(chat_id, exc.new_chat_id)
                    self.stats.migrated += 1
                    log.info("delivery: chat %s moved to %s", chat_id, migrated.new_chat_id)
                    key = (row.item_id, chat_id)
                    self._queued.discard(key)
                    chat_id = exc.new_chat_id
                    self._queued.add((row.item_id, chat_id))
                    continue
                except Forbidden as exc:
                    return await self._gone(row, chat_id, exc.message)
                except BadRequest as exc:
                    if thread_id is not None and _topic_gone(exc):
                        await self._to_general(chat_id, thread_id)
                        thread_id = None  # the same message, to General, at once
                        continue
                    if any(reason in exc.message.lower() for reason in _GONE_CHAT):
                        return await self._gone(row, chat_id, exc.message)
                    if turn is not None and is_picture_error(exc):
                        # a broken picture does not lose the delivery: text, at once
                        await self.pictures.refused(turn, exc.message)
                        self.stats.picture_fallbacks += 1
                        turn, shape = None, Shape.TEXT
                        continue
                    self.stats.failed += 1  # the message itself is wrong: retrying cannot help
                    self._on_outcome("failed")
                    return Outcome(
                        row.item_id, chat_id, FAILED, row.attempts + 1, last_error=exc.message
                    )
                except (NetworkError, TelegramError) as exc:  # timeouts, dropped connections, 5xx
                    return self._transient(row, chat_id, f"{exc.__class__.__name__}: {exc.message}")
                if turn is not None:
                    await self.pictures.learned(turn, file_id)
                    turn = None
                    self.stats.photos += 1
                self.stats.sent += 1
                self.stats.silent += silent
                self._on_outcome("sent")
                return Outcome(
                    row.item_id,
                    chat_id,
                    SENT,
                    row.attempts + 1,
                    message_id=message_id,
                    sent_at=utcnow(),
                    revision=rendered.revision,
                    photo=shape is Shape.PHOTO,
                )
        finally:
            if turn is not None:  # a first send that did not settle: another worker tries
                self.pictures.released(turn)

    async def _to_general(self, chat_id: int, thread_id: int) -> None:
        """A forum topic refused the push: its subscriptions go to General from now on, and
        whoever noticed first tells the group's admins there (once per chat and topic)."""
        self.stats.topic_fallbacks += 1
        gone = await self._store.topic_gone(chat_id, thread_id)
        notice = self._topic_notice(gone) if gone is not None else None
        if notice is None:
            return
        await send_turn(self._stop, self._budget, chat_id)
        try:
            await self._bot.send_html(chat_id, notice, read_timeout=self._options.send_timeout)
        except TelegramError as exc:  # the push itself matters more: it goes on regardless
            log.warning("delivery: could not tell chat %s its topic is gone: %s", chat_id, exc)

    async def _gone(self, row: Claimed, chat_id: int, reason: str) -> Outcome:
        if len(self._inactive) > 100_000:
            self._inactive.clear()
        self._inactive.add(chat_id)
        await self._store.deactivate_chat(chat_id, reason)
        self.stats.cancelled += 1
        self._on_outcome("blocked")
        return Outcome(row.item_id, chat_id, CANCELLED, row.attempts + 1, last_error=reason)

    def _transient(self, row: Claimed, chat_id: int, error: str) -> Outcome:
        attempts = row.attempts + 1
        if attempts >= self._options.max_attempts:
            self.stats.failed += 1
            self._on_outcome("failed")
            log.warning(
                "delivery: giving up on item %s in chat %s: %s", row.item_id, chat_id, error
            )
            return Outcome(row.item_id, chat_id, FAILED, attempts, last_error=error)
        self.stats.retries += 1
        self._on_outcome("retried")
        return Outcome(
            row.item_id,
            chat_id,
            PENDING,
            attempts,
            next_attempt_at=utcnow() + self._options.backoff(attempts),
            last_error=error,
        )

    # -- writing outcomes --------------------------------------------------------------------

    async def _flush_loop(self) -> None:
        # stop() writes what the workers record after this loop has ended
        failures = 0  # in a row: the database is away
        while not self._stop.is_set():
            await self._stop.pause(FLUSH_EVERY)
            try:
                await self._write_outcomes()
            except Exception as exc:
                failures += 1
                if failures == 1:
                    log.exception("delivery: could not record outcomes; will retry")
                else:
                    log.warning("delivery: could not record outcomes again (%s)", _reason(exc))
                await self._stop.pause(1.0)
            else:
                if failures:
                    log.info("delivery: outcomes recorded again after %d failure(s)", failures)
                    failures = 0

    async def _write_outcomes(self) -> None:
        while self._outcomes:
            batch = self._outcomes[:FLUSH_BATCH]
            if await self._store.record(batch):  # sent while an edit or delete landed
                self.corrections.wake()
            del self._outcomes[: len(batch)]
            for outcome in batch:
                self._queued.discard((outcome.item_id, outcome.chat_id))
            self._flushed.set()
            self._recorded.set()
        await self.corrections.write_outcomes()


def _topic_gone(exc: BadRequest) -> bool:
    reason = exc.message.lower()
    return any(marker in reason for marker in _GONE_TOPIC)


def _reason(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {str(exc)[:200]}"
