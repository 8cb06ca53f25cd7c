"""Digest benchmark: building and sending the daily digest, printed as a results table.

    python -m bench.digests rows [--chats 100000] [--items 20] [--database-url URL]
    python -m bench.digests send [--chats 3000] [--items 20] [--database-url URL]
    python -m bench.digests memory [--chats 100000] [--items 20] [--database-url URL]

rows   `--chats` chats in daily digest mode (in four time zones, the TIMEZONE default among
       them), each following everything, `--items` items published since their last digest:
       the time `DigestService.create_due` takes to create the digest rows (one per chat), then
       a second call that finds nothing new (it must stay cheap: the job runs every 30 s).
       SQLite without `--database-url`.
send   The bot runs against the emulator with Telegram's limits on (30 messages/s) and
       `--chats` digests due: the digest sender's sustained rate (goal: >= 0.95 x 30/s), the
       429s received (goal: none), and that every digest lists the `--items` items. The rate
       does not depend on the number of chats once past a few seconds, so this part runs on a
       subset (3,000 chats: 100 s of sending, not an hour for 100,000).
memory The bot as a process of its own (`python -m bot run`, limits off) on an emulator in
       this process, `--chats` chats (100,000 by default) whose digests fall due once the bot
       has started: the bot's RSS after start-up, its highest sample while the job makes and
       sends every digest, after the run, and its peak (VmHWM) (goal: < 150 MB). With
       COOPBOT_TRACEMALLOC=/some/prefix the bot runs under tracemalloc (`bench.memtrace`) and
       the top allocation sources after start-up and after the run are printed.

In `rows` and `send` the emulator runs in a process of its own (bench.emulator_process), as in
bench.delivery; in `memory` the bot does.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from bench.delivery import FIRST_CHAT, database, emulator, settings_for, sustained_rate, table
from bot.db.engine import create_engine, create_session_factory
from bot.db.models import Chat, Digest
from bot.delivery import DeliveryOptions
from bot.lifecycle import prepare_database, running_bot
from bot.services.digests import DigestService
from bot.services.news import NewsService
from bot.services.validation import ItemDraft
from testbed.delivery_kit import add_subscribers

ZONES = (None, "Europe/Paris", "America/Bogota", "Africa/Nairobi")


async def seed(url: str, api_url: str, chats: int, items: int, now: datetime) -> DigestService:
    """`chats` chats in daily digest mode whose digest is due at `now`, `items` items since."""
    await prepare_database(settings_for(url, api_url))
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    await add_subscribers(sessions, range(FIRST_CHAT, FIRST_CHAT + chats))
    async with sessions.begin() as session:
        for n, zone in enumerate(ZONES):
            await session.execute(
                update(Chat)
                .where((Chat.id - FIRST_CHAT) % len(ZONES) == n)
                .values(
                    timezone=zone,
                    digest_mode="daily",
                    digest_minute=0,  # local midnight: due before `now` in every zone
                    digest_since=now - timedelta(days=2),
                )
            )
    news = NewsService(sessions)
    for n in range(items):
        await news.publish(
            ItemDraft(
                ("Housing", "Energy", "Finance", "Events")[n % 4],
                f"Digest benchmark item {n}: co-operatives & the social economy",
                f"https://example.org/digest-bench/{n}",
                None,
            ),
            source="bench",
            published_at=now - timedelta(days=1, minutes=n),
            broadcast=False,
        )
    return DigestService(sessions, settings_for(url, api_url).tz, now=lambda: now)


async def bench_rows(args: argparse.Namespace) -> None:
    now = datetime.now(UTC)
    async with database(args.database_url) as url:
        digests = await seed(url, "http://127.0.0.1:9/bot", args.chats, args.items, now)
        started = time.perf_counter()
        created = await digests.create_due()
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = await digests.create_due()
        second = time.perf_counter() - started
        kind = "PostgreSQL" if args.database_url else "SQLite"
        table(
            f"Digest rows: {args.chats:,} chats in daily digest mode, {args.items} items, {kind}",
            [
                ("rows created", f"{created:,}"),
                ("time to create them", f"{first:.2f} s"),
                ("second due check (nothing new)", f"{again} rows, {second:.3f} s"),
            ],
        )
        await digests._sessions.kw["bind"].dispose()


async def bench_send(args: argparse.Namespace) -> None:
    now = datetime.now(UTC)
    async with emulator(limits=True, record_texts=True) as emu, database(args.database_url) as url:
        digests = await seed(url, emu.base_url, args.chats, args.items, now)
        await digests._sessions.kw["bind"].dispose()
        options = DeliveryOptions(rate_limits=True)
        async with running_bot(settings_for(url, emu.base_url, options)) as application:
            services = application.bot_data["services"]
            sender = services.delivery.digests
            # the catch-up job that runs at start makes the rows; the sender sends them
            while sender.stats.pages == 0:  # noqa: ASYNC110 (a benchmark's stopwatch)
                await asyncio.sleep(0.001)
            first = time.monotonic()
            samples: list[tuple[float, int]] = []
            last, last_change = 0, first
            while sender.stats.sent < args.chats:
                await asyncio.sleep(1.0)
                moment = time.monotonic()
                samples.append((moment - first, sender.stats.pages))
                if sender.stats.pages != last:
                    last, last_change = sender.stats.pages, moment
                if moment - last_change > 30:
                    raise RuntimeError(f"stalled at {sender.stats.sent} of {args.chats}")
            seconds = time.monotonic() - first
            async with services.digests._sessions() as session:
                sent_rows = await session.scalar(
                    select(func.count()).select_from(Digest).where(Digest.status == "sent")
                )
            stats = sender.stats
        server = await emu.finish()
    rate = sustained_rate(samples, seconds)
    # each distinct text sent, and how many items it lists
    listed = {html.count("• ") for html in server["texts"]}
    received = sum(len(chats) for chats in server["texts"].values())
    kind = "PostgreSQL" if args.database_url else "SQLite"
    table(
        f"Digest sending: {args.chats:,} chats, {args.items} items each, limits on, {kind}",
        [
            ("digests sent (rows marked sent)", f"{stats.sent:,} ({sent_rows:,})"),
            ("messages", f"{stats.pages:,}"),
            ("seconds, first to last", f"{seconds:.1f}"),
            ("overall rate", f"{stats.pages / seconds:.2f} msg/s"),
            ("sustained rate (middle of the run)", f"{rate:.2f} msg/s (goal >= 28.5)"),
            ("429s received", f"{stats.flood_waits} (emulator: {server['too_many_requests']})"),
            ("messages the emulator received", f"{received:,}"),
            ("items listed per digest", ", ".join(str(n) for n in sorted(listed))),
        ],
    )


async def bench_memory(args: argparse.Namespace) -> None:
    from bench.digest_memory import run_memory

    async with database(args.database_url) as url:
        now = datetime.now(UTC)
        digests = await seed(url, "http://127.0.0.1:9/bot", args.chats, args.items, now)
        await digests._sessions.kw["bind"].dispose()
        await run_memory(url, args.chats, args.items, now - timedelta(days=2))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.digests")
    sub = parser.add_subparsers(dest="command", required=True)
    rows = sub.add_parser("rows")
    rows.add_argument("--chats", type=int, default=100_000)
    rows.add_argument("--items", type=int, default=20)
    rows.add_argument("--database-url")
    send = sub.add_parser("send")
    send.add_argument("--chats", type=int, default=3_000)
    send.add_argument("--items", type=int, default=20)
    send.add_argument("--database-url")
    memory = sub.add_parser("memory")
    memory.add_argument("--chats", type=int, default=100_000)
    memory.add_argument("--items", type=int, default=20)
    memory.add_argument("--database-url")
    args = parser.parse_args()
    run = {"rows": bench_rows, "send": bench_send, "memory": bench_memory}[args.command]
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
