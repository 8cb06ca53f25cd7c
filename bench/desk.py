"""Editorial desk benchmarks.

    python -m bench.desk queue [--items 100000] [--drafts 1000] [--requests 1000]
    python -m bench.desk race --database-url postgresql://... [--drafts 200]

queue  A SQLite store of `--items` items with `--drafts` drafts waiting for review; the bot
       runs as its own process against the emulator, and an editor sends /latest and /queue
       in turn, `--requests` times each. Each sample runs from the update being handed out to
       the reply being received (as bench.latency measures). Goal: /queue adds < 5 ms at p99
       over /latest, in the same run. `--no-cache` turns the listing cache off for both.
race   Two processes (each its own Python interpreter, engine and pool) are told at the same
       moment to approve the same draft, once per draft, `--drafts` times, on PostgreSQL.
       Goal: each draft published exactly once, and exactly one "already decided" per race.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.delivery import database, require_postgres
from bench.latency import (
    ROOT,
    TOKEN,
    USER,
    _measure,
    _pct,
    _start,
    _stop,
    _wait_ready,
    loaded_database,
)
from bench.memtrace import rss_mb
from bot.config import Settings
from bot.db.engine import create_engine, create_session_factory
from bot.db.models import AuditEntry, Item, Submission
from bot.desk_text import DeskWords
from bot.lifecycle import prepare_database
from bot.services.admins import AdminService
from bot.services.chats import ChatService
from bot.services.news import NewsService
from bot.services.review import ReviewService
from bot.services.scheduling import SchedulingService
from bot.services.submissions import Decision
from bot.services.validation import ItemDraft
from emulator import BotApiEmulator

AUTHOR = 7_000_001
EDITORS = (7_000_002, 7_000_003)


def add_drafts(path: str, drafts: int) -> None:
    """`drafts` submissions waiting, written straight through sqlite3."""
    db = sqlite3.connect(path)
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for n in range(drafts):
        fields = {
            "category": "Category 1",
            "title": f"Draft {n}: a co-op story waiting for an editor",
            "url": f"https://drafts.example/{n}",
            "summary": "What the author wrote about it. " * 3,
            "language": "en",
            "image_url": None,
            "image_file_id": None,
        }
        at = (start + timedelta(minutes=n)).strftime(fmt)
        rows.append(
            (
                "author",
                AUTHOR,
                "waiting",
                1,
                fields["title"],
                fields["url"],
                json.dumps(fields),
                at,
                at,
            )
        )
    db.executemany(
        "INSERT INTO submissions (origin, author_id, state, revision, title, link, fields, "
        "submitted_at, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
        rows,
    )
    db.commit()
    db.close()


async def bench_queue(args: argparse.Namespace) -> None:
    url = await loaded_database(args.items, 30, "coopbot-desk-")
    add_drafts(url.removeprefix("sqlite+aiosqlite:///"), args.drafts)
    results: dict[str, list[float]] = {}
    async with BotApiEmulator(token=TOKEN, bot_username="BenchBot") as emu:
        emu.register_chat(USER, "private", first_name="Editor")
        env = {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": emu.base_url,
            "DATABASE_URL": url,
            "LOG_LEVEL": "WARNING",
            "ADMIN_IDS": str(USER),  # the editor who asks
            # --no-cache: both read the database each time (LISTING_CACHE_SECONDS=0)
            **({"LISTING_CACHE_SECONDS": "0"} if args.no_cache else {}),
        }

        def text(message: str):
            def send(_n: int) -> int:
                emu.send_message(message, user_id=USER, first_name="Editor")
                return emu.last_update_id

            return send

        bot = await _start(["-m", "bot", "run"], env)
        await _wait_ready(emu, bot)
        await _measure(emu, 30, text("/latest"), args.gap)
        await _measure(emu, 30, text("/queue"), args.gap)
        latest: list[float] = []
        queue: list[float] = []
        for _round in range(args.requests // 50):  # interleaved, so both see the same machine
            latest += await _measure(emu, 50, text("/latest"), args.gap)
            queue += await _measure(emu, 50, text("/queue"), args.gap)
        results["/latest"] = latest
        results["/queue (1,000 waiting)"] = queue
        rss, peak = rss_mb(bot.pid)
        await _stop(bot)
    print(
        f"\n{'no listing cache' if args.no_cache else 'listing cache on'}; "
        f"{len(latest)} samples each, {args.gap * 1000:.0f} ms apart, {args.items:,} items, "
        f"{args.drafts:,} drafts waiting; ms from update handed out to reply received\n"
    )
    print(f"{'':28} {'p50':>8} {'p99':>8} {'mean':>8}")
    for name, samples in results.items():
        print(
            f"{name:28} {_pct(samples, 0.5):8.2f} {_pct(samples, 0.99):8.2f}"
            f" {statistics.fmean(samples):8.2f}"
        )
    for q in (0.5, 0.99):
        added = _pct(queue, q) - _pct(latest, q)
        print(
            f"/queue over /latest p{int(q * 100):<3} {added:+6.2f} ms "
            f"({_pct(queue, q) / _pct(latest, q):.2f}×)  goal at p99: < +5 ms"
        )
    print(f"bot RSS after the run: {rss:.0f} MB, peak {peak:.0f} MB")


# -- the race ----------------------------------------------------------------------------


def _review(sessions: async_sessionmaker[AsyncSession]) -> ReviewService:
    """The review queue as one process has it, both editors owners."""
    news = NewsService(sessions)
    return ReviewService(
        sessions,
        news,
        SchedulingService(sessions, news),
        AdminService(sessions, frozenset(EDITORS)),
        ChatService(sessions),
        DeskWords(UTC, "UTC"),
    )


async def race_worker(url: str, editor: int) -> None:
    """One process: reads draft ids on stdin, approves each at once, prints the outcome."""
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    review = _review(sessions)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("ready", flush=True)
    while line := (await reader.readline()).decode().strip():
        draft_id = int(line)
        decided = await review.decide(editor, draft_id, 1, Decision.APPROVE)
        print(decided.outcome.value, flush=True)
    await engine.dispose()


async def bench_race(args: argparse.Namespace) -> None:
    require_postgres(args.database_url, "race")
    async with database(args.database_url) as url:
        await prepare_database(Settings(database_url=url))
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        review = _review(sessions)
        ids = [
            (
                await review.submit(
                    AUTHOR, ItemDraft("News", f"Race {n}", f"https://race.example/{n}", None)
                )
            ).id
            for n in range(args.drafts)
        ]
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.desk",
                "race-worker",
                "--database-url",
                url,
                "--editor",
                str(editor),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            for editor in EDITORS
        ]
        for worker in workers:
            assert worker.stdout is not None
            assert (await worker.stdout.readline()).decode().strip() == "ready"
        per_race: Counter[tuple[str, ...]] = Counter()
        wins: Counter[int] = Counter()
        started = time.perf_counter()
        for draft_id in ids:
            for worker in workers:  # both told at once; each answers when it has decided
                assert worker.stdin is not None
                worker.stdin.write(f"{draft_id}\n".encode())
            await asyncio.gather(*(w.stdin.drain() for w in workers if w.stdin))
            answers = [(await w.stdout.readline()).decode().strip() for w in workers if w.stdout]
            per_race[tuple(sorted(answers))] += 1
            for n, answer in enumerate(answers):
                wins[n] += answer == "done"
        took = time.perf_counter() - started
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write(b"\n")
            await worker.stdin.drain()
            await worker.wait()
        async with sessions() as session:
            items = await session.scalar(select(func.count()).select_from(Item))
            approved = await session.scalar(
                select(func.count())
                .select_from(Submission)
                .where(Submission.state == "approved", Submission.item_id.is_not(None))
            )
            audits = await session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "approve")
            )
        await engine.dispose()
    print(
        f"{args.drafts} races, two processes, in {took:.1f} s "
        f"({took / args.drafts * 1000:.1f} ms a race)"
    )
    for outcomes, count in sorted(per_race.items()):
        print(f"  {' + '.join(outcomes):40} {count}")
    print(f"wins: process 1 {wins[0]}, process 2 {wins[1]}")
    print(f"items published {items}, drafts approved {approved}, approvals audited {audits}")
    good = per_race == Counter({("already_decided", "done"): args.drafts})
    exact = items == approved == audits == args.drafts
    print("goal met" if good and exact else "GOAL MISSED")
    if not (good and exact):
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    queue = modes.add_parser("queue")
    queue.add_argument("--items", type=int, default=100_000)
    queue.add_argument("--drafts", type=int, default=1_000)
    queue.add_argument("--requests", type=int, default=1_000)
    queue.add_argument("--gap", type=float, default=0.05)
    queue.add_argument(
        "--no-cache", action="store_true", help="no listing cache: every read from the database"
    )
    race = modes.add_parser("race")
    race.add_argument("--database-url")
    race.add_argument("--drafts", type=int, default=200)
    worker = modes.add_parser("race-worker")
    worker.add_argument("--database-url", required=True)
    worker.add_argument("--editor", type=int, required=True)
    args = parser.parse_args()
    if args.mode == "queue":
        asyncio.run(bench_queue(args))
    elif args.mode == "race":
        asyncio.run(bench_race(args))
    else:
        asyncio.run(race_worker(args.database_url, args.editor))


if __name__ == "__main__":
    main()
