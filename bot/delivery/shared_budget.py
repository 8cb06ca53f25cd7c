"""One sending budget for all the bot's processes: a slot clock in PostgreSQL or Redis.

Telegram counts messages per token, so when several `coopbot run` processes share a token
(replies from any of them, broadcasts from the leader), each one pacing itself at 30/s would
send N × 30/s together. Here every message first takes its slot in one central place:

* the global slot clock: one value, `next`. Taking a slot gives `slot = max(next, now)` and
  moves `next` to `slot + interval` (the in-process `Budget`'s spacing: 1.03/30 s);
* the chat's own limit, checked and recorded in the same atomic step: a private chat's next
  free moment (1.03 s after its last message) or a group's last 20 slots (a sliding window of
  61.8 s). A chat that is not free by the slot takes nothing: the caller is told when it will
  be, waits, and asks again. A reply to a person skips that check (as in `Budget`: two quick
  answers go at once), but is counted;
* replies before broadcasts, across processes: a reply (URGENT) reserves the next slot however
  far ahead it is and sleeps until it; a broadcast (BULK) is granted a slot only when it is due
  (up to 5 ms early), else it is told when to come back and reserves nothing. So broadcasts
  never hold slots ahead of now, and a reply from any process goes within about one slot. It
  also keeps a late process from bunching its messages: a broadcast slot is taken at the
  moment it is used, so a process held up (a busy event loop, a slow network) takes a later
  slot instead of sending a stale one next to someone else's. Inside a process, its waiting
  requests are ordered replies first, as in `Budget`;
* a 429 moves `next` to now + retry_after: every process holds back until it passes;
* time is the store's clock (PostgreSQL `clock_timestamp()`, Redis `TIME`); answers carry
  durations from the store's now, so the processes' own clocks never need to agree.

One pump per process asks the store for one slot at a time: one statement per message (a
PL/pgSQL function, or a Lua script in Redis). After a broadcast slot it waits locally until
the next one is due, so a steady broadcast costs one round trip per message, not a poll loop.

If the store cannot be reached, the process falls back to its in-process `Budget` for a few
seconds at a time (each process then keeps Telegram's limits on its own; together they may
draw 429s, which are waited out) and logs it once per outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

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

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

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


# -- PostgreSQL --------------------------------------------------------------------------------

# UNLOGGED: the state lives a few seconds; no need for it to survive a crash, nor for WAL
POSTGRES_SCHEMA = (
    """CREATE UNLOGGED TABLE IF NOT EXISTS send_budget (
        bot text PRIMARY KEY,
        next_slot double precision NOT NULL
    )""",
    """CREATE UNLOGGED TABLE IF NOT EXISTS send_budget_chats (
        bot text NOT NULL,
        chat text NOT NULL,
        next_at double precision NOT NULL,
        recent double precision[] NOT NULL,
        expires double precision NOT NULL,
        PRIMARY KEY (bot, chat)
    )""",
    "CREATE INDEX IF NOT EXISTS send_budget_chats_expires ON send_budget_chats (expires)",
    # the global row's lock orders every take of a bot, so the chat rows need none of their
    # own. A changed signature takes a new name: CREATE OR REPLACE cannot rename parameters,
    # and during a rolling update the old processes still call the old one.
    """CREATE OR REPLACE FUNCTION send_budget_take_v1(
        p_bot text, p_chat text, p_private boolean, p_urgent boolean, p_check_chat boolean,
        p_interval double precision, p_early double precision,
        p_private_interval double precision, p_group_limit integer,
        p_group_window double precision,
        OUT granted boolean, OUT chat_busy boolean, OUT slot_at double precision,
        OUT wait_s double precision)
    LANGUAGE plpgsql AS $fn$
    DECLARE
        v_now double precision;
        v_next double precision;
        v_recent double precision[];
        v_ready double precision := 0;
        v_n integer;
    BEGIN
        granted := false;
        chat_busy := false;
        SELECT next_slot INTO slot_at FROM send_budget WHERE bot = p_bot FOR UPDATE;
        IF NOT FOUND THEN
            INSERT INTO send_budget (bot, next_slot) VALUES (p_bot, 0) ON CONFLICT DO NOTHING;
            SELECT next_slot INTO slot_at FROM send_budget WHERE bot = p_bot FOR UPDATE;
        END IF;
        v_now := extract(epoch FROM clock_timestamp());
        slot_at := greatest(slot_at, v_now);
        IF NOT p_urgent AND slot_at > v_now + p_early THEN
            slot_at := slot_at - p_early;
            wait_s := slot_at - v_now;
            RETURN;
        END IF;
        SELECT next_at, recent INTO v_next, v_recent FROM send_budget_chats
         WHERE bot = p_bot AND chat = p_chat AND expires > v_now;
        IF NOT FOUND THEN
            v_next := 0;
            v_recent := '{}';
        END IF;
        IF p_private THEN
            v_ready := v_next;
        ELSE
            v_n := cardinality(v_recent);
            IF v_n >= p_group_limit THEN
                v_ready := v_recent[v_n - p_group_limit + 1] + p_group_window;
            END IF;
        END IF;
        IF p_check_chat AND v_ready > slot_at THEN
            chat_busy := true;
            slot_at := v_ready;
            wait_s := v_ready - v_now;
            RETURN;
        END IF;
        UPDATE send_budget SET next_slot = slot_at + p_interval WHERE bot = p_bot;
        IF p_private THEN
            v_next := slot_at + p_private_interval;
            v_recent := '{}';
        ELSE
            v_recent := v_recent || slot_at;
            v_n := cardinality(v_recent);
            v_recent := v_recent[greatest(1, v_n - p_group_limit + 1):v_n];
            v_next := slot_at + p_group_window;
        END IF;
        INSERT INTO send_budget_chats (bot, chat, next_at, recent, expires)
        VALUES (p_bot, p_chat, v_next, v_recent, v_next)
        ON CONFLICT (bot, chat) DO UPDATE
        SET next_at = excluded.next_at, recent = excluded.recent, expires = excluded.expires;
        granted := true;
        wait_s := slot_at - v_now;
    END
    $fn$""",
)
# an arbitrary key that names "installing the send budget's tables"
SCHEMA_LOCK_KEY = 0x636F_6F70_6275_6467  # "coopbudg"

_TAKE = text(
    "SELECT granted, chat_busy, slot_at, wait_s FROM send_budget_take_v1("
    ":bot, :chat, :private, :urgent, :check_chat, :interval, :early, :private_interval, "
    ":group_limit, :group_window)"
)
_PENALIZE = text(
    "INSERT INTO send_budget AS b (bot, next_slot) "
    "VALUES (:bot, extract(epoch FROM clock_timestamp()) + :seconds) "
    "ON CONFLICT (bot) DO UPDATE SET next_slot = greatest(b.next_slot, excluded.next_slot)"
)
_PRUNE = text("DELETE FROM send_budget_chats WHERE expires < extract(epoch FROM clock_timestamp())")


class PostgresSlots(SlotStore):
    """The slot clock in the bot's own database: two small UNLOGGED tables and a function,
    created on first use (they hold nothing worth a migration: a few seconds of state)."""

    def __init__(self, engine: AsyncEngine, bot: str, limits: Limits) -> None:
        self._engine = engine
        self._bot = bot
        self.limits = limits
        self._installed = False

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[SlotSession]:
        # held while this process has messages waiting, returned to the pool when idle
        async with self._engine.connect() as connection:
            if not self._installed:
                await _install(connection)
                self._installed = True
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            yield _PostgresSession(connection, self._bot, self.limits)

    async def penalize(self, seconds: float) -> None:
        async with self._engine.connect() as connection:
            if not self._installed:
                await _install(connection)
                self._installed = True
            await connection.execute(_PENALIZE, {"bot": self._bot, "seconds": seconds})
            await connection.commit()


async def _install(connection: AsyncConnection) -> None:
    async with connection.begin():
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY}
        )
        for statement in POSTGRES_SCHEMA:
            await connection.exec_driver_sql(statement)


class _PostgresSession(SlotSession):
    def __init__(self, connection: AsyncConnection, bot: str, limits: Limits) -> None:
        self._connection = connection
        self._params: dict[str, Any] = {
            "bot": bot,
            "interval": limits.interval,
            "early": limits.early,
            "private_interval": limits.private_interval,
            "group_limit": limits.group_limit,
            "group_window": limits.group_window,
        }

    async def take(self, chat: str, *, private: bool, urgent: bool, check_chat: bool) -> Slot:
        result = await self._connection.execute(
            _TAKE,
            {
                **self._params,
                "chat": chat,
                "private": private,
                "urgent": urgent,
                "check_chat": check_chat,
            },
        )
        granted, chat_busy, at, wait = result.one()
        return Slot(bool(granted), bool(chat_busy), float(at), max(0.0, float(wait)))

    async def prune(self) -> None:
        await self._connection.execute(_PRUNE)


# -- Redis -------------------------------------------------------------------------------------

# KEYS: the slot clock, the chat. ARGV: urgent, check_chat, private (1/0), interval, early,
# private_interval, group_limit, group_window. Keys expire once they no longer matter.
_REDIS_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local urgent, check, private = ARGV[1] == '1', ARGV[2] == '1', ARGV[3] == '1'
local interval, early = tonumber(ARGV[4]), tonumber(ARGV[5])
local private_interval, limit = tonumber(ARGV[6]), tonumber(ARGV[7])
local window = tonumber(ARGV[8])
local function num(x) return string.format('%.6f', x) end
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
if not urgent and slot > now + early then
  return {'0', '0', num(slot - early), num(slot - early - now)}
end
local ready = 0
if private then
  ready = tonumber(redis.call('GET', KEYS[2]) or '0')
else
  local n = redis.call('LLEN', KEYS[2])
  if n >= limit then
    ready = tonumber(redis.call('LINDEX', KEYS[2], n - limit)) + window
  end
end
if check and ready > slot then
  return {'0', '1', num(ready), num(ready - now)}
end
local next_slot = slot + interval
redis.call('SET', KEYS[1], num(next_slot), 'PX', math.ceil((next_slot - now) * 1000) + 60000)
if private then
  local free = slot + private_interval
  redis.call('SET', KEYS[2], num(free), 'PX', math.ceil((free - now) * 1000) + 1000)
else
  redis.call('RPUSH', KEYS[2], num(slot))
  redis.call('LTRIM', KEYS[2], -limit, -1)
  redis.call('PEXPIRE', KEYS[2], math.ceil((slot + window - now) * 1000) + 1000)
end
return {'1', '0', num(slot), num(slot - now)}
"""
_REDIS_PENALIZE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local until_ = now + tonumber(ARGV[1])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot > until_ then until_ = slot end
redis.call('SET', KEYS[1], string.format('%.6f', until_), 'PX',
  math.ceil((until_ - now) * 1000) + 60000)
return 1
"""


class RedisSlots(SlotStore, SlotSession):
    """The slot clock in Redis: one key for the clock and one per chat, each changed by a Lua
    script (atomic, one round trip); all of a bot's keys share a hash slot (`{...}`)."""

    def __init__(self, url: str, bot: str, limits: Limits) -> None:
        self._url = url
        self._prefix = f"coopbot:budget:{{{bot}}}"
        self._clock_key = f"{self._prefix}:next"
        self.limits = limits
        self._client: Redis | None = None
        self._take: Any = None
        self._penalize: Any = None

    def _redis(self) -> Redis:
        if self._client is None:
            from redis.asyncio import Redis

            self._client = Redis.from_url(self._url)
            self._take = self._client.register_script(_REDIS_TAKE)
            self._penalize = self._client.register_script(_REDIS_PENALIZE)
        return self._client

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[SlotSession]:
        self._redis()
        yield self

    async def take(self, chat: str, *, private: bool, urgent: bool, check_chat: bool) -> Slot:
        self._redis()
        limits = self.limits
        answer = await self._take(
            keys=[self._clock_key, f"{self._prefix}:chat:{chat}"],
            args=[
                int(urgent),
                int(check_chat),
                int(private),
                repr(limits.interval),
                repr(limits.early),
                repr(limits.private_interval),
                limits.group_limit,
                repr(limits.group_window),
            ],
        )
        granted, chat_busy, at, wait = (x.decode() if isinstance(x, bytes) else x for x in answer)
        return Slot(granted == "1", chat_busy == "1", float(at), max(0.0, float(wait)))

    async def penalize(self, seconds: float) -> None:
        self._redis()
        await self._penalize(keys=[self._clock_key], args=[repr(float(seconds))])

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


# -- choosing ----------------------------------------------------------------------------------


def budget_for(
    options: DeliveryOptions, engine: AsyncEngine, *, bot_id: str, redis_url: str | None = None
) -> Budget:
    """Redis when REDIS_URL is set, else PostgreSQL when that is the database: shared by all
    of the token's processes. SQLite (one process only) keeps the in-process budget."""
    if not options.rate_limits:
        return Budget(options)
    limits = Limits.of(options)
    if redis_url:
        return SharedBudget(options, RedisSlots(redis_url, bot_id, limits))
    if engine.dialect.name == "postgresql":
        return SharedBudget(options, PostgresSlots(engine, bot_id, limits))
    return Budget(options)
