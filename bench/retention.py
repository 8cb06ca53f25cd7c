"""Retention benchmark on PostgreSQL: a million-subscriber fan-out beside 50 million old rows,
their purge under a running broadcast, and the table's size after.

    python -m bench.retention --database-url postgresql://... [--subscribers 1000000]
                              [--old-items 50] [--batch 10000]

In one run:
1. a million chats following everything; the fan-out of one item on an empty deliveries table
   (twice, the median);
2. `--old-items` items created 60 days ago, each with a delivery row per chat, sent (50 × a
   million = 50 million rows, about 50 days of ten items a day to 100,000 subscribers);
3. the fan-out of one item again, with the old rows in place (twice, the median): goal < 10 s
   and ≤ 1.2 × the empty table's;
4. a broadcast of that item (limits off, to the emulator) while retention purges the old rows
   in batches of `--batch`: the longest the sender went without recording a message (goal:
   no stall over 1 s), and the purge's rate;
5. the deliveries table's size (heap and indexes) with the old rows, after the purge and a
   plain VACUUM, and after a million more rows are written: whether the space is reused.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.delivery import database, emulator, require_postgres, settings_for, table
from bot.db.base import utcnow
from bot.db.engine import create_engine, create_session_factory
from bot.delivery import DeliveryOptions, DeliveryStore
from bot.lifecycle import prepare_database, running_bot
from bot.services.news import NewsService
from bot.services.retention import RetentionService
from bot.services.validation import ItemDraft

GOAL_SECONDS = 10.0
GOAL_RATIO = 1.2


def _draft(n: int) -> ItemDraft:
    return ItemDraft(
        "News", f"Retention bench item {n}", f"https://example.org/r/{n}", "A summary."
    )


async def _sql(engine: AsyncEngine, statement: str, **params: object) -> None:
    async with engine.begin() as connection:
        await connection.execute(text(statement), params)


async def _outside_transaction(engine: AsyncEngine, statement: str) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("COMMIT"))
        await connection.execute(text(statement))


async def _size_mb(engine: AsyncEngine) -> tuple[float, float]:
    async with engine.connect() as connection:
        heap, total = (
            await connection.execute(
                text("SELECT pg_relation_size('deliveries'), pg_total_relation_size('deliveries')")
            )
        ).one()
    return heap / 2**20, total / 2**20


async def _fanout(news: NewsService, store: DeliveryStore, n: int) -> float:
    await news.publish(_draft(n), source="bench")
    started = time.monotonic()
    await store.fanout.expand()
    return time.monotonic() - started


async def bench(args: argparse.Namespace) -> None:
    postgres = require_postgres(args.database_url, "retention")
    n, old_items = args.subscribers, args.old_items
    async with emulator(limits=False) as emu, database(postgres) as url:
        await prepare_database(settings_for(url, emu.base_url))
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        news, store = NewsService(sessions), DeliveryStore(sessions)
        await _sql(
            engine,
            "INSERT INTO chats (id, type, active, created_at, updated_at) "
            "SELECT g, 'private', true, now(), now() FROM generate_series(1, :n) g",
            n=n,
        )
        await _sql(
            engine,
            "INSERT INTO subscriptions (chat_id, category_id, created_at) "
            "SELECT g, NULL, now() FROM generate_series(1, :n) g",
            n=n,
        )
        await _outside_transaction(engine, "VACUUM ANALYZE")

        empty = []
        for round_ in range(2):
            await _outside_transaction(engine, "TRUNCATE deliveries")
            empty.append(await _fanout(news, store, round_))
        await _outside_transaction(engine, "TRUNCATE deliveries")
        one_item_mb = None

        # the old rows: items created 60 days ago, each sent to every chat
        started = time.monotonic()
        for k in range(old_items):
            item = await news.publish(_draft(100 + k), source="bench", broadcast=False)
            await _sql(
                engine,
                "UPDATE items SET created_at = now() - interval '60 days' WHERE id = :id",
                id=item.item.id,
            )
            await _sql(
                engine,
                "INSERT INTO deliveries (item_id, chat_id, status, attempts, created_at, "
                "sent_at, message_id, photo) "
                "SELECT :id, g, 'sent', 1, now() - interval '60 days', "
                "now() - interval '60 days', g, false FROM generate_series(1, :n) g",
                id=item.item.id,
                n=n,
            )
        seeding = time.monotonic() - started
        await _outside_transaction(engine, "VACUUM ANALYZE deliveries")
        full_heap, full_total = await _size_mb(engine)

        beside_old = []
        for round_ in range(2):
            beside_old.append(await _fanout(news, store, 1000 + round_))
            if round_ == 0:  # its rows go, so the second round meets the same table
                await _sql(
                    engine,
                    "DELETE FROM deliveries WHERE item_id = (SELECT max(id) FROM items)",
                )
                await _outside_transaction(engine, "VACUUM deliveries")
        with_new_heap, with_new_total = await _size_mb(engine)
        one_item_mb = (with_new_total - full_total) if with_new_total > full_total else None
        await engine.dispose()

        # the purge, while the sender sends the newest item's million messages
        retention = RetentionService(
            create_session_factory(create_engine(url)),
            keep_days=30,
            audit_keep_days=365,
            batch=args.batch,
        )
        options = replace(DeliveryOptions(rate_limits=False), claim_batch=500)
        async with running_bot(settings_for(url, emu.base_url, options)) as application:
            sender = application.bot_data["services"].delivery
            while sender.stats.sent == 0:  # noqa: ASYNC110 (a benchmark's stopwatch)
                await asyncio.sleep(0.005)
            stalls: list[float] = []
            done = asyncio.Event()

            async def watch() -> None:
                last_count, last_change = sender.stats.sent, time.monotonic()
                longest = 0.0
                while not done.is_set():
                    await asyncio.sleep(0.02)
                    now = time.monotonic()
                    if sender.stats.sent != last_count:
                        longest = max(longest, now - last_change)
                        last_count, last_change = sender.stats.sent, now
                stalls.append(longest)

            watcher = asyncio.create_task(watch())
            sent_before = sender.stats.sent
            started = time.monotonic()
            purged = 0
            while True:
                run = await retention.purge(utcnow() + timedelta(minutes=1))
                purged += run.deliveries
                if run.deliveries == 0:
                    break
            purge_seconds = time.monotonic() - started
            sent_during = sender.stats.sent - sent_before
            done.set()
            await watcher
        engine = create_engine(url)
        await _outside_transaction(engine, "VACUUM deliveries")
        after_heap, after_total = await _size_mb(engine)
        # a million more rows: does the table grow, or reuse what the purge freed? (and what a
        # fan-out costs when it writes into that freed space)
        after_purge = await _fanout(news, store, 2000)
        reuse_heap, reuse_total = await _size_mb(engine)
        async with engine.connect() as connection:
            kept = (await connection.execute(text("SELECT count(*) FROM deliveries"))).scalar_one()
        await engine.dispose()
        await emu.finish()

    empty_s, old_s = statistics.median(empty), statistics.median(beside_old)
    ratio = old_s / empty_s
    table(
        f"Retention on PostgreSQL: {n:,} subscribers, {old_items} old items "
        f"({old_items * n:,} old delivery rows), purge batches of {args.batch:,}",
        [
            ("fan-out, empty table (each round)", ", ".join(f"{t:.2f} s" for t in empty)),
            ("writing the old rows", f"{seeding:.0f} s"),
            (
                "fan-out beside the old rows (each round)",
                ", ".join(f"{t:.2f} s" for t in beside_old),
            ),
            (
                f"beside old / empty (goal < {GOAL_SECONDS:.0f} s and ≤ {GOAL_RATIO})",
                f"{old_s:.2f} s / {empty_s:.2f} s = {ratio:.3f} "
                f"({'met' if old_s < GOAL_SECONDS and ratio <= GOAL_RATIO else 'NOT met'})",
            ),
            (
                "purge: rows, time, rate",
                f"{purged:,} in {purge_seconds:.0f} s ({purged / purge_seconds:,.0f} rows/s)",
            ),
            ("messages sent during the purge", f"{sent_during:,}"),
            (
                "longest the sender went without a message (goal ≤ 1 s)",
                f"{stalls[0]:.2f} s ({'met' if stalls[0] <= 1.0 else 'NOT met'})",
            ),
            (
                "deliveries size with the old rows (heap, total)",
                f"{full_heap:,.0f} MB, {full_total:,.0f} MB",
            ),
            ("… plus one item's rows", f"{with_new_heap:,.0f} MB, {with_new_total:,.0f} MB"),
            ("after the purge and VACUUM", f"{after_heap:,.0f} MB, {after_total:,.0f} MB"),
            (
                f"after {n:,} more rows (kept rows now {kept:,})",
                f"{reuse_heap:,.0f} MB, {reuse_total:,.0f} MB",
            ),
            ("one item's rows alone (total)", f"{one_item_mb:,.0f} MB" if one_item_mb else "n/a"),
            ("fan-out into the space the purge freed", f"{after_purge:.2f} s"),
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.retention")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--old-items", type=int, default=50)
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
