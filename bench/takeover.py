"""Leader takeover on PostgreSQL: after the leader dies, how long until a standby has run
every job that must run once?

    python -m bench.takeover --database-url postgresql://postgres@127.0.0.1:5432/test
                             [--takeovers 10]

A chain of `coopbot run` processes on one database, with the default job intervals (30 s
for scheduled items and reports, feeds looked at every 60 s). Each round starts a standby,
freezes the leader (SIGSTOP: its lock stays held), queues work only a leader may do (a
scheduled item that is due, a feed never read), waits a random 0-1 s so that the kill does
not line up with the standby's once-a-second lock attempt, then SIGKILLs the leader and
times until the standby has polled the feed and delivered the scheduled item to a
subscriber. Goal: every takeover within 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import statistics
import tempfile
from pathlib import Path

from bot.db.engine import create_engine, create_session_factory
from bot.lifecycle import prepare_database
from bot.services.news import NewsService
from bot.services.scheduling import SchedulingService
from emulator import BotApiEmulator
from testbed.databases import scratch_postgres
from testbed.delivery_kit import add_subscribers
from testbed.feed_server import serving_feeds
from testbed.harness import BOT_USERNAME, TOKEN
from testbed.harness import test_settings as settings_for
from testbed.processes import (
    READER,
    SCHEDULER,
    add_feed,
    kill,
    received,
    schedule_due,
    spawn_bot,
    stop,
)

GOAL_SECONDS = 5.0
TIMEOUT = 120.0  # a takeover that never happens fails the run


def says(log: Path, text: str) -> bool:
    return text in log.read_text()


async def wait_log(log: Path, text: str) -> None:
    async with asyncio.timeout(TIMEOUT):
        while not says(log, text):  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def run(database_url: str, takeovers: int, workdir: Path) -> list[tuple[float, float]]:
    timings: list[tuple[float, float]] = []
    async with (
        scratch_postgres(database_url, "coopbot_takeover") as url,
        BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME) as emu,
        serving_feeds() as feeds,
    ):
        await prepare_database(settings_for(url, emu.base_url))
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        scheduling = SchedulingService(sessions, NewsService(sessions))
        await add_subscribers(sessions, [READER])
        emu.register_chat(READER)
        emu.register_chat(SCHEDULER)
        loop = asyncio.get_running_loop()
        processes: list[asyncio.subprocess.Process] = []

        async def start(n: int) -> tuple[asyncio.subprocess.Process, Path]:
            log = workdir / f"bot-{n}.log"
            process = await spawn_bot(url, emu, log, LOG_LEVEL="INFO")
            processes.append(process)
            await wait_log(log, "is running")
            return process, log

        try:
            leader, log = await start(0)
            await wait_log(log, "leads now")
            for n in range(1, takeovers + 1):
                standby, _log = await start(n)
                leader.send_signal(signal.SIGSTOP)
                title, path = f"Round{n}", f"round-{n}.xml"
                await schedule_due(scheduling, title)
                await add_feed(sessions, feeds.serve_fixture(path, "rss2.xml"))
                await asyncio.sleep(random.uniform(0, 1))
                await kill(leader)
                killed_at = loop.time()
                await emu.wait_for(lambda p=path: feeds.fetches(p), TIMEOUT, "feed polled")
                polled = loop.time() - killed_at
                await emu.wait_for(lambda t=title: received(emu, t), TIMEOUT, "item delivered")
                delivered = loop.time() - killed_at
                timings.append((polled, delivered))
                print(f"takeover {n:2}: feed polled {polled:5.2f} s, delivered {delivered:5.2f} s")
                leader = standby
        finally:
            for process in processes:
                await stop(process)
            await engine.dispose()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--takeovers", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        timings = asyncio.run(run(args.database_url, args.takeovers, Path(workdir)))
    for label, values in (
        ("feed polled", [t[0] for t in timings]),
        ("item delivered", [t[1] for t in timings]),
    ):
        print(
            f"{label:15} min {min(values):5.2f} s  median {statistics.median(values):5.2f} s  "
            f"max {max(values):5.2f} s  (goal: max < {GOAL_SECONDS:g} s)"
        )


if __name__ == "__main__":
    main()
