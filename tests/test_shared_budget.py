"""The budget shared by several processes of one token, in PostgreSQL and in Redis.

Each "process" here is a `SharedBudget` with a store of its own (its own connection pool or
Redis client), sending through its own PTB bot to the emulator with Telegram's limits on; one
test runs three real OS processes. The emulator answers 429 to any message over the limits,
so "0 × 429" is the check. Limits that take long to show (20 a minute in a group, a reply's
place in the queue) are checked on the reserved slots' times, on the store's clock.

PostgreSQL runs when TEST_DATABASE_URL is set, Redis when TEST_REDIS_URL is.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import importlib.util
import itertools
import logging
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from types import ModuleType

import pytest
from alembic import command
from sqlalchemy import bindparam, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.app import build_application
from bot.config import ConfigError, load_settings
from bot.db.engine import create_engine
from bot.db.migrate import MIGRATIONS_DIR, _alembic_config, upgrade
from bot.delivery.budget import BULK, SAFETY, URGENT, Budget, SharedRateLimiter
from bot.delivery.options import DeliveryOptions
from bot.delivery.shared_budget import (
    Limits,
    PostgresSlots,
    RedisSlots,
    SharedBudget,
    SlotSchemaMissing,
    SlotStore,
    budget_for,
)
from bot.delivery.shared_budget.postgres import TAKE_FUNCTION
from emulator import BotApiEmulator
from testbed.databases import scratch_postgres
from testbed.harness import BOT_USERNAME, TOKEN
from testbed.harness import test_settings as settings_for

ROOT = Path(__file__).resolve().parent.parent
LIMITS = DeliveryOptions()  # Telegram's: 30/s overall, 1/s per private chat, 20/min per group
SLOT = SAFETY / LIMITS.per_second
GROUP = -100_200_300

BACKENDS = []
if os.environ.get("TEST_DATABASE_URL"):
    BACKENDS.append("postgresql")
if os.environ.get("TEST_REDIS_URL"):
    BACKENDS.append("redis")


class Backend:
    """Makes the stores of several processes on one PostgreSQL database or Redis server."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        self.url = url
        self.bot = f"test-{uuid.uuid4().hex[:12]}"  # a bot of its own: no state from others
        self._engines: list = []
        self._stores: list[SlotStore] = []

    def store(self, limits: Limits | None = None) -> SlotStore:
        limits = limits or Limits.of(LIMITS)
        if self.kind == "redis":
            store: SlotStore = RedisSlots(self.url, self.bot, limits)
        else:
            engine = create_engine(self.url)  # a pool of its own, as in another process
            self._engines.append(engine)
            store = PostgresSlots(engine, self.bot, limits)
        self._stores.append(store)
        return store

    def budgets(self, count: int, limits: Limits | None = None) -> list[SharedBudget]:
        return [SharedBudget(LIMITS, self.store(limits)) for _ in range(count)]

    async def close(self) -> None:
        for store in self._stores:
            await store.close()
        for engine in self._engines:
            await engine.dispose()
        if self.kind == "redis":
            from redis.asyncio import Redis

            client = Redis.from_url(self.url)
            try:
                keys = [k async for k in client.scan_iter(match=f"coopbot:budget:{{{self.bot}}}*")]
                if keys:
                    await client.delete(*keys)
            finally:
                await client.aclose()


@pytest.fixture(
    params=BACKENDS or [pytest.param(None, marks=pytest.mark.skip("no TEST_*_URL set"))]
)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "redis":
        found = Backend("redis", os.environ["TEST_REDIS_URL"])
        try:
            yield found
        finally:
            await found.close()
        return
    async with scratch_postgres(os.environ["TEST_DATABASE_URL"]) as url:
        await migrated(url)  # the budget's tables and function come with the schema
        found = Backend("postgresql", url)
        try:
            yield found
        finally:
            await found.close()


async def migrated(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME) as running:
        running.enforce_limits = True  # 30/s, 1/s per private chat, 20/min per group: or 429
        yield running


@contextlib.asynccontextmanager
async def bot_on(budget: Budget, emu: BotApiEmulator) -> AsyncIterator[ExtBot]:
    bot = ExtBot(
        TOKEN,
        base_url=emu.base_url,
        request=HTTPXRequest(connection_pool_size=64),  # not one request at a time
        rate_limiter=SharedRateLimiter(budget),
    )
    await bot.initialize()
    try:
        yield bot
    finally:
        await bot.shutdown()  # closes the budget's store too


def most_in_any_window(times: Iterable[float], window: float) -> int:
    ordered = sorted(times)
    return max(
        (bisect.bisect_left(ordered, t + window) - i for i, t in enumerate(ordered)), default=0
    )


def received(emu: BotApiEmulator, chats: Iterable[int]) -> list[float]:
    return [m.received_at for c in chats for m in emu.messages(c)]


async def test_three_processes_keep_thirty_a_second_and_one_a_second_per_chat(
    backend: Backend, emu: BotApiEmulator
) -> None:
    shared_chat = 42
    chats = list(range(500_001, 500_151))
    for chat_id in [*chats, shared_chat]:
        emu.register_chat(chat_id)

    async def process(budget: SharedBudget, mine: list[int]) -> None:
        async with bot_on(budget, emu) as bot:
            # first, or they would wait behind the other fifty (the queue keeps its order)
            sends = [bot.send_message(shared_chat, f"{n}", rate_limit_args=BULK) for n in (1, 2)]
            sends += [bot.send_message(c, f"to {c}", rate_limit_args=BULK) for c in mine]
            await asyncio.gather(*sends)

    budgets = backend.budgets(3)
    await asyncio.gather(*(process(b, chats[i::3]) for i, b in enumerate(budgets)))

    assert emu.stats.too_many_requests == 0
    assert [len(emu.messages(c)) for c in chats] == [1] * 150
    assert len(emu.messages(shared_chat)) == 6
    times = received(emu, [*chats, shared_chat])
    print(f"156 messages in {max(times) - min(times):.2f} s;", end=" ")
    assert most_in_any_window(times, 1.0) <= 30
    assert most_in_any_window(received(emu, [shared_chat]), 1.0) == 1


async def test_twenty_a_minute_in_a_group_across_processes(backend: Backend) -> None:
    budgets = backend.budgets(3)
    granted: list[float] = []
    twenty = asyncio.Event()

    async def one(budget: SharedBudget) -> None:
        slot = await budget.reserve(GROUP, BULK)
        granted.append(slot.at)
        if len(granted) == 20:
            twenty.set()

    tasks = [asyncio.create_task(one(b)) for b in budgets for _ in range(7)]  # 21 messages
    async with asyncio.timeout(30):
        await twenty.wait()
    # the 21st may not go before the first of the twenty leaves the minute (61.8 s)
    async with backend.store().session() as session:
        refused = await session.take(str(GROUP), private=False, urgent=True, check_chat=True)
    assert len(granted) == 20 and sum(t.done() for t in tasks) == 20
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    granted.sort()
    assert not refused.granted and refused.chat_busy
    assert refused.at == pytest.approx(granted[0] + 60 * SAFETY, abs=1e-3)
    # the twenty went at the global pace, never two in one slot
    assert min(b - a for a, b in itertools.pairwise(granted)) >= SLOT - 1e-4
    assert granted[-1] - granted[0] < 1.0


async def test_a_groups_window_slides_across_processes(backend: Backend) -> None:
    # the same rule on a short window: 3 messages per 0.5 s, 12 asked by 3 processes at once
    short = Limits(
        interval=SLOT, early=0.005, private_interval=1.0, group_limit=3, group_window=0.5
    )
    budgets = backend.budgets(3, short)
    slots = await asyncio.gather(*(b.reserve(GROUP, BULK) for b in budgets for _ in range(4)))
    times = sorted(s.at for s in slots)
    assert most_in_any_window(times, 0.5) == 3
    gaps = [b - a for a, b in zip(times, times[3:], strict=False)]
    assert min(gaps) >= 0.5 - 1e-4
    assert max(gaps) < 1.0  # each waited for the window, and not much longer


@pytest.mark.parametrize("where", ["another process", "the same process"])
async def test_a_reply_goes_within_two_slots_of_a_long_broadcast(
    backend: Backend, where: str
) -> None:
    sender, other = backend.budgets(2)
    replier = sender if where == "the same process" else other
    broadcast: list[float] = []
    under_way, goes_on = asyncio.Event(), asyncio.Event()
    reply_at = float("inf")

    async def one(chat_id: int) -> None:
        at = (await sender.reserve(chat_id, BULK)).at
        broadcast.append(at)
        if len(broadcast) == 10:
            under_way.set()
        if at > reply_at:
            goes_on.set()

    tasks = [asyncio.create_task(one(c)) for c in range(600_001, 600_201)]  # ~7 s of slots
    async with asyncio.timeout(30):
        await under_way.wait()
    reply = await replier.reserve(42, URGENT)
    reply_at = reply.at
    asked = reply.at - reply.wait  # the store's now when it took the reply's slot
    async with asyncio.timeout(30):
        await goes_on.wait()  # the broadcast goes on after the reply
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert reply.granted
    assert reply.wait <= 2 * SLOT + 1e-4
    assert sum(asked < t < reply.at for t in broadcast) <= 2
    assert len(set(broadcast)) == len(broadcast) and reply.at not in broadcast


async def test_a_429_in_one_process_holds_back_every_process(backend: Backend) -> None:
    first, second = backend.budgets(2)
    first.penalize(1.5)
    own = await first.reserve(1, URGENT)  # its slot is taken after the penalty is written
    others = await second.reserve(2, URGENT)
    broadcast = await second.reserve(3, BULK)  # (granted only when due: after the penalty)
    assert own.wait >= 1.4
    assert others.at > own.at and others.wait >= 1.4
    assert broadcast.at > others.at


async def test_three_os_processes_on_one_budget(backend: Backend, emu: BotApiEmulator) -> None:
    chats = list(range(700_001, 700_151))
    for chat_id in chats:
        emu.register_chat(chat_id)
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.test_shared_budget",
            backend.kind,
            backend.url,
            backend.bot,
            emu.base_url,
            ",".join(map(str, chats[i::3])),
            cwd=str(ROOT),
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for i in range(3)
    ]
    try:
        async with asyncio.timeout(60):
            for child in children:
                assert child.stdout is not None
                assert (await child.stdout.readline()).strip() == b"ready"
            for child in children:  # all three start sending together
                assert child.stdin is not None
                child.stdin.write(b"go\n")
                await child.stdin.drain()
            codes = [await child.wait() for child in children]
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
                await child.wait()
    assert codes == [0, 0, 0]
    assert emu.stats.too_many_requests == 0
    assert [len(emu.messages(c)) for c in chats] == [1] * 150
    assert most_in_any_window(received(emu, chats), 1.0) <= 30


async def _child(kind: str, url: str, bot_id: str, base_url: str, chats: list[int]) -> None:
    """One process of the test above: its own store and bot; sends when told to."""
    limits = Limits.of(LIMITS)
    engine = create_engine(url) if kind == "postgresql" else None
    store = (
        RedisSlots(url, bot_id, limits) if engine is None else PostgresSlots(engine, bot_id, limits)
    )
    bot = ExtBot(
        TOKEN,
        base_url=base_url,
        request=HTTPXRequest(connection_pool_size=64),
        rate_limiter=SharedRateLimiter(SharedBudget(LIMITS, store)),
    )
    await bot.initialize()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await asyncio.gather(*(bot.send_message(c, f"to {c}", rate_limit_args=BULK) for c in chats))
    await bot.shutdown()
    if engine is not None:
        await engine.dispose()


async def test_an_unreachable_store_falls_back_to_the_process_own_pace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    budget = SharedBudget(LIMITS, RedisSlots("redis://127.0.0.1:9/0", "1", Limits.of(LIMITS)))
    with caplog.at_level(logging.WARNING, logger="bot.delivery.shared_budget"):
        async with asyncio.timeout(10):
            await asyncio.gather(*(budget.acquire(c, URGENT) for c in (1, 2, 3)))
            await budget.acquire(4, BULK)
    await budget.close()
    warnings = [r for r in caplog.records if "store failed" in r.getMessage()]
    assert len(warnings) == 1  # once per outage, not once per message


# -- the budget's PostgreSQL objects come from migration 0011, not from the bot ----------------

POSTGRES_ONLY = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="TEST_DATABASE_URL not set"
)
BUDGET_RELATIONS = ("send_budget", "send_budget_chats", "send_budget_chats_expires")


async def migrate_to(engine: AsyncEngine, revision: str, *, down: bool = False) -> None:
    step = command.downgrade if down else command.upgrade
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: step(_alembic_config(sync), revision))


async def budget_objects(engine: AsyncEngine) -> dict[str, str]:
    """The budget's tables and index with their persistence ("u": unlogged), and its function."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT relname, relpersistence::text FROM pg_class WHERE relname IN :names"
            ).bindparams(bindparam("names", expanding=True)),
            {"names": list(BUDGET_RELATIONS)},
        )
        found = {name: str(persistence) for name, persistence in rows}
        if await connection.scalar(text(f"SELECT to_regprocedure('{TAKE_FUNCTION}') IS NOT NULL")):
            found["send_budget_take_v1"] = "function"
    return found


def migration_0011() -> ModuleType:
    path = MIGRATIONS_DIR / "versions" / "0011_shared_budget.py"
    spec = importlib.util.spec_from_file_location("migration_0011", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.asynccontextmanager
async def empty_postgres() -> AsyncIterator[AsyncEngine]:
    async with scratch_postgres(os.environ["TEST_DATABASE_URL"]) as url:
        engine = create_engine(url)
        try:
            yield engine
        finally:
            await engine.dispose()


@POSTGRES_ONLY
async def test_the_migrations_create_the_budgets_objects() -> None:
    async with empty_postgres() as engine:
        await upgrade(engine)
        everything = {
            "send_budget": "u",
            "send_budget_chats": "u",
            "send_budget_chats_expires": "u",
            "send_budget_take_v1": "function",
        }
        assert await budget_objects(engine) == everything
        await migrate_to(engine, "0010", down=True)
        assert await budget_objects(engine) == {}
        await migrate_to(engine, "head")
        assert await budget_objects(engine) == everything


@POSTGRES_ONLY
async def test_the_migration_keeps_what_an_older_bot_created_on_first_use() -> None:
    async with empty_postgres() as engine:
        await migrate_to(engine, "0010")
        async with engine.begin() as connection:  # what the bot did before migration 0011
            for statement in migration_0011().STATEMENTS:
                await connection.exec_driver_sql(statement)
            await connection.exec_driver_sql(
                "INSERT INTO send_budget (bot, next_slot) VALUES ('old', 1e10)"
            )
        await upgrade(engine)
        async with engine.connect() as connection:
            kept = await connection.scalar(text("SELECT next_slot FROM send_budget"))
        assert kept == 1e10
        assert len(await budget_objects(engine)) == 4


@POSTGRES_ONLY
async def test_the_bot_creates_none_of_them_and_says_what_to_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with empty_postgres() as engine:
        await migrate_to(engine, "0010")  # a database whose migrations stopped before 0011
        store = PostgresSlots(engine, "1", Limits.of(LIMITS))
        with pytest.raises(SlotSchemaMissing, match="run `coopbot db upgrade`"):
            async with store.session():
                pass
        with pytest.raises(SlotSchemaMissing):
            await store.penalize(1.0)
        budget = SharedBudget(LIMITS, store)
        with caplog.at_level(logging.WARNING, logger="bot.delivery.shared_budget"):
            async with asyncio.timeout(10):
                await budget.acquire(1, URGENT)  # (on the process's own pace meanwhile)
        warnings = [r.getMessage() for r in caplog.records if "store failed" in r.getMessage()]
        assert len(warnings) == 1 and "SlotSchemaMissing" in warnings[0]
        assert "coopbot db upgrade" in warnings[0]
        assert await budget_objects(engine) == {}
        # once migrated, the same store finds them
        await upgrade(engine)
        async with store.session() as session:
            slot = await session.take("1", private=True, urgent=True, check_chat=True)
        assert slot.granted
        await budget.close()


async def test_sqlite_gets_none_of_them(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    try:
        await upgrade(engine)
        await migrate_to(engine, "0010", down=True)
        await migrate_to(engine, "head")
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        assert "items" in tables and not [t for t in tables if t.startswith("send_budget")]
    finally:
        await engine.dispose()


async def test_which_budget_each_deployment_gets(tmp_path: Path) -> None:
    sqlite = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    postgres = create_engine("postgresql://postgres@127.0.0.1:9/none")  # never connected
    try:
        assert type(budget_for(LIMITS, sqlite, bot_id="1")) is Budget
        shared = budget_for(LIMITS, postgres, bot_id="1")
        assert isinstance(shared, SharedBudget) and isinstance(shared.store, PostgresSlots)
        redis = budget_for(LIMITS, sqlite, bot_id="1", redis_url="redis://127.0.0.1:6379/0")
        assert isinstance(redis, SharedBudget) and isinstance(redis.store, RedisSlots)
        off = DeliveryOptions(rate_limits=False)
        assert type(budget_for(off, postgres, bot_id="1", redis_url="redis://x")) is Budget
    finally:
        await sqlite.dispose()
        await postgres.dispose()

    async def budget_of(database_url: str) -> Budget:
        settings = settings_for(database_url, "http://127.0.0.1:9/bot", delivery=LIMITS)
        application = build_application(settings)
        await application.bot_data["services"].runtime.database.dispose()
        limiter = application.bot.rate_limiter
        assert isinstance(limiter, SharedRateLimiter)
        return limiter.budget

    assert type(await budget_of(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")) is Budget
    in_postgres = await budget_of("postgresql://postgres@127.0.0.1:9/none")
    assert isinstance(in_postgres, SharedBudget) and isinstance(in_postgres.store, PostgresSlots)


def test_redis_url_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/2")
    assert load_settings(env_file=None).redis_url == "redis://127.0.0.1:6379/2"
    monkeypatch.setenv("REDIS_URL", " ")
    assert load_settings(env_file=None).redis_url is None
    monkeypatch.setenv("REDIS_URL", "http://127.0.0.1:6379")
    with pytest.raises(ConfigError, match="REDIS_URL must start with redis://"):
        load_settings(env_file=None)


if __name__ == "__main__":
    kind, url, bot_id, base_url, chat_list = sys.argv[1:6]
    asyncio.run(_child(kind, url, bot_id, base_url, [int(c) for c in chat_list.split(",")]))
