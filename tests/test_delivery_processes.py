"""Real bot processes: killed with SIGKILL mid-broadcast, two replicas on PostgreSQL, and a
second process on SQLite refused."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bench.delivery_kit import add_subscribers, delivery_harness, publish
from bot.app import prepare_database
from bot.db.engine import create_engine, create_session_factory
from bot.db.models import Delivery
from bot.services.news import NewsService
from emulator import BotApiEmulator
from tests.databases import scratch_postgres
from tests.harness import BOT_USERNAME, TOKEN
from tests.harness import test_settings as settings_for

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 8
SUBSCRIBERS = 1_500


async def spawn_bot(
    database_url: str, emu: BotApiEmulator, **env: str
) -> asyncio.subprocess.Process:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "DELIVERY_"))
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env={
            **clean,
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": emu.base_url,
            "DATABASE_URL": database_url,
            "DELIVERY_POLL_SECONDS": "0.3",
            "DELIVERY_RATE_LIMITS": "off",
            "DELIVERY_CONCURRENCY": str(CONCURRENCY),
            "LOG_LEVEL": "WARNING",
            **env,
        },
        cwd=str(ROOT),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def seed(database_url: str, emu: BotApiEmulator, chats: list[int]) -> int:
    """Subscribers and one queued item, written the way another process would."""
    await prepare_database(settings_for(database_url, emu.base_url))
    engine = create_engine(database_url)
    try:
        sessions = create_session_factory(engine)
        await add_subscribers(sessions, chats)
        item = await publish(_services(NewsService(sessions)))
    finally:
        await engine.dispose()
    for chat_id in chats:
        emu.register_chat(chat_id)
    return item.id


class _services:  # the two attributes `publish` needs
    def __init__(self, news: NewsService) -> None:
        self.news = news


async def committed_sent(database_url: str, item_id: int) -> set[int]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(Delivery.chat_id).where(
                    Delivery.item_id == item_id, Delivery.status == "sent"
                )
            )
            return {r[0] for r in rows}
    finally:
        await engine.dispose()


async def wait_all_sent(database_url: str, item_id: int, total: int) -> None:
    async with asyncio.timeout(60):
        while len(await committed_sent(database_url, item_id)) < total:  # noqa: ASYNC110
            await asyncio.sleep(0.1)


def copies(emu: BotApiEmulator, chats: list[int]) -> dict[int, int]:
    return {c: len(emu.messages(c)) for c in chats}


async def kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGKILL)
    await process.wait()


async def stop(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 15)
    except TimeoutError:
        await kill(process)


async def test_sigkill_mid_broadcast_loses_nothing(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    chats = [5_000_000 + n for n in range(SUBSCRIBERS)]
    async with BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME) as emu:
        item_id = await seed(database_url, emu, chats)
        emu.faults.latency(0.02)  # ~400 messages/s with 8 in flight: time to kill mid-way
        first = await spawn_bot(database_url, emu)
        try:
            await emu.wait_for(lambda: emu.stats.sent_messages >= 300, timeout=30)
        finally:
            await kill(first)
        await asyncio.sleep(0.3)  # requests cut off by the kill finish (or not) on our side
        delivered_at_kill = {c for c, n in copies(emu, chats).items() if n}
        recorded_at_kill = await committed_sent(database_url, item_id)
        in_flight = delivered_at_kill - recorded_at_kill
        assert 300 <= len(delivered_at_kill) < SUBSCRIBERS  # really killed mid-broadcast
        assert recorded_at_kill <= delivered_at_kill  # nothing recorded that was not sent

        second = await spawn_bot(database_url, emu)
        try:
            await wait_all_sent(database_url, item_id, SUBSCRIBERS)
        finally:
            await stop(second)
        final = copies(emu, chats)
        assert [c for c, n in final.items() if n == 0] == []  # no item lost
        duplicated = {c for c, n in final.items() if n > 1}
        assert duplicated == in_flight  # exactly the messages in flight at the kill …
        assert len(duplicated) <= 3 * CONCURRENCY  # … at most 8 requests + 16 unrecorded
        assert max(final.values()) <= 2


async def test_a_second_process_on_sqlite_refuses_to_start(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    async with delivery_harness(database_url) as harness:
        process = await spawn_bot(database_url, harness.emu)
        _, err = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 1
        assert "another bot process is already running on the SQLite database" in err.decode()
        assert "Traceback" not in err.decode()


# -- two replicas on PostgreSQL ------------------------------------------------------------


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    raw = os.environ.get("TEST_DATABASE_URL")
    if not raw:
        pytest.skip("TEST_DATABASE_URL is not set")
    async with scratch_postgres(raw, "coopbot_replicas") as url:
        yield url


async def test_two_processes_on_postgresql_never_send_twice(postgres_url: str) -> None:
    chats = [6_000_000 + n for n in range(SUBSCRIBERS)]
    async with BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME) as emu:
        item_id = await seed(postgres_url, emu, chats)
        emu.faults.latency(0.02)
        leader = await spawn_bot(postgres_url, emu)
        processes = [leader]
        try:
            await emu.wait_for(lambda: emu.stats.sent_messages >= 100, timeout=30)
            standby = await spawn_bot(postgres_url, emu)  # starts while the first is sending
            processes.append(standby)
            await emu.wait_for(lambda: emu.stats.sent_messages >= 500, timeout=30)
            await asyncio.sleep(0.5)
            # both running: not one chat got the item twice
            assert max(copies(emu, chats).values()) == 1
            await kill(leader)
            killed_at = asyncio.get_running_loop().time()
            # the standby may take over at once, so this is the only exact snapshot
            delivered_at_kill = {c for c, n in copies(emu, chats).items() if n}
            assert len(delivered_at_kill) < SUBSCRIBERS  # killed mid-broadcast
            sent = emu.stats.sent_messages
            # the standby takes over within seconds (it tries the lock every second)
            await emu.wait_for(lambda: emu.stats.sent_messages > sent, timeout=5)
            takeover = asyncio.get_running_loop().time() - killed_at
            await wait_all_sent(postgres_url, item_id, SUBSCRIBERS)
        finally:
            for process in processes:
                await stop(process)
        final = copies(emu, chats)
        assert [c for c, n in final.items() if n == 0] == []
        duplicated = {c for c, n in final.items() if n > 1}
        # only messages the dead leader had sent but not yet recorded went out twice
        assert duplicated <= delivered_at_kill
        assert len(duplicated) <= 3 * CONCURRENCY
        assert max(final.values()) <= 2
        assert takeover < 3.0
