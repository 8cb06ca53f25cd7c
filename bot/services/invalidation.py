"""Per-process caches kept right across processes, with PostgreSQL's LISTEN/NOTIFY.

Every change a cache depends on sends, inside its own transaction, a notification on
`CHANNEL`: `items` (an item published, edited or withdrawn), `chat:<id>` (a chat's
languages), `forgotten:<id>` (a chat erased by /forget: its languages, and the sends the
leading process had claimed for it) or `roles` (someone added, removed or given another role:
the handlers' filters are read again). PostgreSQL delivers it to every listening connection
when, and only if, that transaction commits. Each bot process listens on a connection of its
own (`CacheListener`) and drops what the change made stale.

A missed notification would leave a cache stale for its whole lifetime, so caches are off
whenever the listener cannot vouch for its connection: before it first listens, once the
connection is lost (noticed at once when the server closes it, within a heartbeat when the
network silently drops it) and until it listens again; they start empty after each reconnect.
Rights are handled alike: while the listener cannot vouch, the roster holds the owners only,
and it is read again in full once the listener listens (again).

SQLite runs one process: nothing is sent and nobody listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

log = logging.getLogger(__name__)

CHANNEL = "coopbot_cache"
ITEMS = "items"
CHAT = "chat"
FORGOTTEN = "forgotten"
QUEUE = "queue"  # the review queue changed: a draft submitted, decided or held
ROLES = "roles"

# a heartbeat every HEARTBEAT_SECONDS, answered within as long: a connection gone silent is
# noticed (and the caches turned off) at most about 2 × HEARTBEAT_SECONDS after the last
# answer that proved every earlier notification had arrived
HEARTBEAT_SECONDS = 0.5
RETRY_FIRST_SECONDS = 0.1
RETRY_MAX_SECONDS = 10.0


def chat_changed(chat_id: int) -> str:
    return f"{CHAT}:{chat_id}"


def chat_forgotten(chat_id: int) -> str:
    return f"{FORGOTTEN}:{chat_id}"


async def announce(session: AsyncSession, payload: str) -> None:
    """Tell every process, once `session`'s transaction commits, that `payload` changed."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload}
        )


class _NewsCache(Protocol):
    def invalidate(self) -> None: ...
    def set_caching(self, on: bool) -> None: ...


STOP_SECONDS = 2.0  # for the listener's own stop, well within its stop step's bound


class _ChatCache(Protocol):
    def forget_cached(self, chat_id: int) -> None: ...
    def set_caching(self, on: bool) -> None: ...


class _Roster(Protocol):
    def suspend(self) -> None: ...
    async def vouch(self) -> object: ...
    async def refresh(self) -> object: ...


class CacheListener:
    """Listens on `CHANNEL` over a connection taken from `engine` for as long as it runs, and
    clears `news`'s listings and `chats`'s entries as notifications name them; a forgotten
    chat is also handed to `forgotten` (the sender's `ChatLife`, which drops what it holds);
    `roles` has `roster` read again (the admins' service, which sets the handlers' filters)."""

    def __init__(
        self,
        engine: AsyncEngine,
        news: _NewsCache,
        chats: _ChatCache,
        forgotten: Callable[[int], None] = lambda _chat_id: None,
        roster: _Roster | None = None,
        queue: _NewsCache | None = None,
    ) -> None:
        self._engine = engine
        self._news = news
        self._chats = chats
        self._forgotten = forgotten
        self._roster = roster
        self._queue = queue  # the review queue's first page (`ReviewService`)
        self._roster_unread = False  # a read after a notification failed: read at the heartbeat
        self._reads: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        # the listener's waits all end on this, so stopping needs no cancel (a cancel that
        # lands as an event fires can be lost in Python 3.11's wait_for)
        self._stopping = asyncio.Event()
        # what happened so far, for tests and logs
        self.connections = 0  # times it started listening (1 + reconnections)
        self.losses = 0  # times the listening connection was lost
        # notifications received, by kind (ITEMS, CHAT, FORGOTTEN; ROLES once read again)
        self.heard: Counter[str] = Counter()
        self.heard_at = 0.0  # time.monotonic() of the last one
        self.backend_pid: int | None = None  # the server process of the listening connection
        self.live = False  # caches on: listening, and the connection answers

    def start(self) -> None:
        self._set_caching(False)  # until it listens
        self._task = asyncio.create_task(self._run(), name="cache listener")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        await asyncio.wait((task,), timeout=STOP_SECONDS)
        if not task.done():  # stuck in the driver: the last resort
            log.warning("the cache listener did not stop within %.0fs; cancelling it", STOP_SECONDS)
            task.cancel()
            await asyncio.wait((task,), timeout=STOP_SECONDS)
        if self._reads:  # the roles being read again: a moment's work, or cancelled
            await asyncio.wait(self._reads, timeout=STOP_SECONDS)
            for read in self._reads:
                read.cancel()

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait until `condition()` holds; checked after every notification and connection
        change."""
        while not condition():
            self._changed.clear()
            await self._changed.wait()

    def _set_caching(self, on: bool) -> None:
        self._news.set_caching(on)
        self._chats.set_caching(on)
        if self._queue is not None:
            self._queue.set_caching(on)
        if not on and self._roster is not None:
            self._roster.suspend()  # turned back on by a read, once listening (`_listen`)
        self.live = on
        self._wake()

    def _wake(self) -> None:
        self._changed.set()

    async def _pause(self, event: asyncio.Event, seconds: float) -> None:
        """Wait until `event` is set, the listener stops, or `seconds` pass."""
        waits = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(self._stopping.wait())}
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    async def _run(self) -> None:
        delay = RETRY_FIRST_SECONDS
        while not self._stopping.is_set():
            connections = self.connections
            try:
                await self._listen()
            except Exception as exc:
                reason = f"{exc.__class__.__name__}: {exc}"
                if self.connections == connections:
                    log.warning(
                        "cannot listen for cache changes (%s); caches off, retrying in %.1fs",
                        reason,
                        delay,
                    )
                else:
                    log.warning(
                        "lost the connection listening for cache changes (%s); caches off "
                        "until it is back",
                        reason,
                    )
            if self.connections != connections:
                self.losses += 1
                self._wake()
                delay = RETRY_FIRST_SECONDS
            await self._pause(self._stopping, delay)
            delay = min(2 * delay, RETRY_MAX_SECONDS)

    async def _listen(self) -> None:
        """Listen until the connection fails (raises then) or the listener stops."""
        closed = asyncio.Event()

        def on_close(_connection: object) -> None:
            self._set_caching(False)  # at once, not at the next heartbeat
            closed.set()

        connection = await self._engine.connect()
        raw = None
        try:
            driver = (await connection.get_raw_connection()).driver_connection
            if driver is None:  # only a pool's detached or invalidated record has none
                raise ConnectionError("no driver connection to listen on")
            raw = driver
            raw.add_termination_listener(on_close)
            await raw.add_listener(CHANNEL, self._notified)
            self.backend_pid = raw.get_server_pid()
            await self._read_roster()  # heard from now on: read now, whatever was missed
            self._set_caching(True)  # empty: whatever was missed before is gone
            self.connections += 1
            if self.connections > 1:
                log.info("listening for cache changes again; caches cleared")
            self._wake()
            while not closed.is_set():
                try:
                    await asyncio.wait_for(raw.fetchval("SELECT 1"), HEARTBEAT_SECONDS)
                except TimeoutError:
                    raise TimeoutError("no answer to the heartbeat") from None
                await self._pause(closed, HEARTBEAT_SECONDS)
                if self._stopping.is_set():
                    return
                if self._roster_unread and not closed.is_set():
                    await self._read_roster()
            raise ConnectionError("the server closed the connection")
        finally:
            self._set_caching(False)
            if raw is not None:
                raw.remove_termination_listener(on_close)
            # never back to the pool: it listens, and may be broken
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.invalidate(), STOP_SECONDS)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), STOP_SECONDS)

    async def _read_roster(self) -> None:
        """Vouch for the roster: read it again in full (raises if it cannot be read)."""
        if self._roster is not None:
            await self._roster.vouch()
            self._roster_unread = False

    async def _roster_changed(self) -> None:
        """A `roles` notification: the roster read again, then counted as heard."""
        assert self._roster is not None
        try:
            await self._roster.refresh()
        except Exception as exc:
            log.warning("cannot read the roles again (%s); owners only until it can", exc)
            self._roster.suspend()
            self._roster_unread = True  # the heartbeat tries again
            return
        self.heard[ROLES] += 1
        self.heard_at = time.monotonic()
        self._wake()

    def _notified(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        kind, _, chat_id = payload.partition(":")
        if kind == ROLES and self._roster is not None:
            task = asyncio.create_task(self._roster_changed(), name="roles read again")
            self._reads.add(task)
            task.add_done_callback(self._reads.discard)
            return  # counted once read
        if kind == ROLES:
            pass  # no roster to read again (a listener of caches only)
        elif kind == ITEMS:
            self._news.invalidate()
        elif kind == QUEUE:
            if self._queue is not None:
                self._queue.invalidate()
        elif kind == CHAT and chat_id.lstrip("-").isdigit():
            self._chats.forget_cached(int(chat_id))
        elif kind == FORGOTTEN and chat_id.lstrip("-").isdigit():
            self._chats.forget_cached(int(chat_id))
            self._forgotten(int(chat_id))
        else:
            log.warning("unknown cache notification %r", payload)
            return
        self.heard[kind] += 1
        self.heard_at = time.monotonic()
        self._wake()
