"""Real bot processes: killed with SIGKILL mid-broadcast, two replicas on PostgreSQL (one
sender, one leader for the jobs, a takeover when the leader dies), and a second process on
SQLite refused."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.engine import create_engine, create_session_factory
from bot.db.models import Delivery
from bot.lifecycle import prepare_database
from bot.services.news import NewsService
from bot.services.scheduling import SchedulingService
from emulator import BotApiEmulator
from testbed.databases import scratch_postgres
from testbed.delivery_kit import add_subscribers, delivery_harness
from testbed.feed_server import serving_feeds
from testbed.harness import BOT_USERNAME, TOKEN
from testbed.harness import test_settings as settings_for
from testbed.processes import (
    CONCURRENCY,
    READER,
    SCHEDULER,
    add_feed,
    committed_sent,
    kill,
    received,
    schedule_due,
    seed,
    spawn_bot,
    stop,
    wait_all_sent,
)

SUBSCRIBERS = 1_500


def copies(emu: BotApiEmulator, chats: list[int]) -> dict[int, int]:
    return {c: len(emu.messages(c)) for c in chats}


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
        # requests cut off by the kill finish (or not) on our side before the snapshot
        await emu.wait_for(lambda: emu.requests_in_flight == 0, timeout=30)
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
            started = emu.stats.per_method["getMe"]
            standby = await spawn_bot(postgres_url, emu)  # starts while the first is sending
            processes.append(standby)
            # the standby is up (its getMe) while the first keeps sending
            await emu.wait_for(lambda: emu.stats.per_method["getMe"] > started, timeout=30)
            sent = emu.stats.sent_messages
            await emu.wait_for(lambda: emu.stats.sent_messages >= sent + 200, timeout=30)
            # both running: not one chat got the item twice
            assert max(copies(emu, chats).values()) == 1
            await kill(leader)
            killed_at = asyncio.get_running_loop().time()
            # the standby may take over at once, so this is the only exact snapshot
            delivered_at_kill = {c for c, n in copies(emu, chats).items() if n}
            assert len(delivered_at_kill) < SUBSCRIBERS  # killed mid-broadcast
            sent = emu.stats.sent_messages
            # the standby takes over (it tries the lock every second); slow is not wrong here,
            # bench.takeover measures how long it takes
            await emu.wait_for(lambda: emu.stats.sent_messages > sent, timeout=60)
            takeover = asyncio.get_running_loop().time() - killed_at
            print(f"\nsending taken over {takeover:.2f} s after SIGKILL")
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


# -- one leader for the jobs ---------------------------------------------------------------

JOB_TICK = "4"  # seconds: the scheduled-items, reports and feeds jobs of both processes
JOBS = ("publish_scheduled", "poll_feeds", "report_broadcasts", "poll_delivery")


def skips(log: Path, job: str) -> int:
    """How often a standby's job ran and stood by (each says so in the debug log)."""
    return log.read_text().count(f"standing by: {job} skipped")


def reports(emu: BotApiEmulator, title: str) -> int:
    """Broadcast reports the scheduling admin got for the item `title`."""
    return sum(1 for m in emu.messages(SCHEDULER) if f" delivered — {title}\n" in m.text)


async def sent_to(sessions: async_sessionmaker[AsyncSession], chat_id: int) -> int:
    async with sessions() as session:
        return len(
            list(
                await session.scalars(
                    select(Delivery.item_id).where(
                        Delivery.chat_id == chat_id, Delivery.status == "sent"
                    )
                )
            )
        )


async def test_only_the_leader_runs_the_jobs_and_a_standby_takes_them_over(
    postgres_url: str, tmp_path: Path
) -> None:
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    env = {"SCHEDULE_POLL_SECONDS": JOB_TICK, "FEED_INTERVAL_SECONDS": JOB_TICK}
    async with (
        BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME) as emu,
        serving_feeds() as feeds,
    ):
        await prepare_database(settings_for(postgres_url, emu.base_url))
        engine = create_engine(postgres_url)
        sessions = create_session_factory(engine)
        scheduling = SchedulingService(sessions, NewsService(sessions))
        await add_subscribers(sessions, [READER])
        emu.register_chat(READER)
        emu.register_chat(SCHEDULER)
        await add_feed(sessions, feeds.serve_fixture("first.xml", "rss2.xml"))
        feeds.serve_fixture("second.xml", "atom.xml")
        processes: list[asyncio.subprocess.Process] = []
        try:
            leader = await spawn_bot(postgres_url, emu, first_log, LOG_LEVEL="INFO", **env)
            processes.append(leader)
            # the leader polls the due feed (at once: it catches up when it takes the lock)
            await emu.wait_for(lambda: feeds.fetches("first.xml") >= 1, 60, "first poll")
            standby = await spawn_bot(postgres_url, emu, second_log, LOG_LEVEL="DEBUG", **env)
            processes.append(standby)
            await emu.wait_for(
                lambda: all(skips(second_log, job) for job in JOBS), 60, "standby ticks"
            )

            # both running: the leader publishes, the standby only stands by
            await schedule_due(scheduling, "Leader")
            await emu.wait_for(lambda: received(emu, "Leader"), 60, "the leader's item")
            # recorded as sent, so that freezing the leader below leaves nothing in flight
            async with asyncio.timeout(60):
                while not await sent_to(sessions, READER):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            assert "published 1 scheduled item(s)" in first_log.read_text()
            assert "polled 1 feed(s)" in first_log.read_text()
            standby_log = second_log.read_text()
            assert "scheduled item(s)" not in standby_log and " feed(s), " not in standby_log

            # the leader freezes (its lock stays held); work comes due that only a leader
            # may do, and the standby's jobs tick twice over it without touching it
            leader.send_signal(signal.SIGSTOP)
            await schedule_due(scheduling, "Takeover")
            await add_feed(sessions, feeds.url("second.xml"))
            ticked = {job: skips(second_log, job) for job in JOBS[:3]}
            await emu.wait_for(
                lambda: all(skips(second_log, job) >= n + 2 for job, n in ticked.items()),
                60,
                "standby ticks over due work",
            )
            assert feeds.fetches("second.xml") == 0
            assert [s.draft.title for s in await scheduling.pending()] == ["Takeover"]
            assert [m.text.split("\n")[0] for m in emu.messages(READER)] == ["Leader"]

            # the leader dies: the standby takes over every job
            await kill(leader)
            loop = asyncio.get_running_loop()
            killed_at = loop.time()
            await emu.wait_for(lambda: feeds.fetches("second.xml") >= 1, 60, "takeover poll")
            polled_after = loop.time() - killed_at
            await emu.wait_for(lambda: received(emu, "Takeover"), 60, "the standby's item")
            delivered_after = loop.time() - killed_at
            assert [m.text.split("\n")[0] for m in emu.messages(READER)] == ["Leader", "Takeover"]
            assert await scheduling.pending() == []
            await emu.wait_for(lambda: reports(emu, "Takeover"), 60, "the standby's report")
            # each broadcast reported once, whichever process saw it end
            assert (reports(emu, "Leader"), reports(emu, "Takeover")) == (1, 1)
            assert "running the scheduled-items, feeds, reports and digests jobs now" in (
                second_log.read_text()
            )
            print(
                f"\ntakeover after SIGKILL: feed polled in {polled_after:.2f} s, "
                f"scheduled item published and delivered in {delivered_after:.2f} s"
            )
        finally:
            for process in processes:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGCONT)
                await stop(process)
            await engine.dispose()
