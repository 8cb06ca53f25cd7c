"""Keyword filters at fan-out: a plain script that prints a results table.

    python -m bench.filters --database-url postgresql://... [--subscribers 1000000]
                            [--filtered 0.10] [--rounds 2]

One item to a million subscribers on PostgreSQL, where a tenth of the chats have filters of
5 terms (half of them let the item through, half hold it back). The time to create the
delivery rows (`DeliveryStore.expand`) with those filters is measured beside the same fan-out
with no filters at all, in the same run and database, alternating (without, with) for
`--rounds` rounds; the deliveries table is emptied and analysed before each fan-out so every
one starts alike. Goal: with filters < 1.5 × without, and < 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import create_engine, create_session_factory
from bot.delivery import DeliveryStore
from bot.lifecycle import prepare_database
from bot.services.news import NewsService
from bot.services.validation import ItemDraft
from testbed.databases import scratch_postgres
from testbed.harness import test_settings

TITLE = "Housing co-ops in Leeds install solar panels on 400 homes"
SUMMARY = (
    "Tenants of three housing co-operatives voted to share the cost of the panels, and the "
    "regional federation's energy fund lent the rest. The first bills show savings of about "
    "a fifth; the co-ops plan to add heat pumps next year, and other federations have asked "
    "how the scheme works."
)
# per filtered chat, 5 terms: chats that let the item through (an include term matches, no
# exclude term does) and chats that hold it back (no include term matches); the last term
# differs from chat to chat, so the table is not 5 repeated strings
PASSING = "('housing', false), ('worker co op', false), ('solar', false), ('bank', true)"
HOLDING = "('fishing', false), ('dairy', false), ('forestry', false), ('bank', true)"


async def _execute(engine: AsyncEngine, sql: str, **values: object) -> None:
    async with engine.begin() as connection:
        await connection.execute(text(sql), values)


async def _vacuum(engine: AsyncEngine, table: str | None = None) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("COMMIT"))
        await connection.execute(text(f"VACUUM ANALYZE {table or ''}"))


async def seed(engine: AsyncEngine, n: int) -> None:
    await _execute(
        engine,
        "INSERT INTO chats (id, type, active, created_at, updated_at) "
        "SELECT g, 'private', true, now(), now() FROM generate_series(1, :n) g",
        n=n,
    )
    await _execute(
        engine,
        "INSERT INTO subscriptions (chat_id, category_id, created_at) "
        "SELECT g, NULL, now() FROM generate_series(1, :n) g",
        n=n,
    )


async def add_filters(engine: AsyncEngine, n: int, share: float) -> int:
    """Filters of 5 terms for every `1/share`-th chat; how many chats got them."""
    step = round(1 / share)
    for terms, parity in ((PASSING, 0), (HOLDING, 1)):
        await _execute(
            engine,
            "INSERT INTO chat_filters (chat_id, term, label, exclude, created_at) "
            "SELECT g, t.term, t.term, t.exclude, now() "
            f"FROM generate_series(CAST(:step AS bigint), :n, :step) g CROSS JOIN (VALUES {terms}) "
            "AS t(term, exclude) WHERE (g / :step) % 2 = :parity "
            "UNION ALL SELECT g, 'w' || (g % 997), 'w' || (g % 997), true, now() "
            "FROM generate_series(CAST(:step AS bigint), :n, :step) g "
            "WHERE (g / :step) % 2 = :parity",
            n=n,
            step=step,
            parity=parity,
        )
    return n // step


async def fan_out(
    engine: AsyncEngine, news: NewsService, store: DeliveryStore
) -> tuple[float, int]:
    await _execute(engine, "TRUNCATE deliveries")
    await _vacuum(engine, "deliveries")
    draft = ItemDraft("News", TITLE, f"https://example.org/f/{uuid.uuid4().hex[:8]}", SUMMARY)
    await news.publish(draft, source="bench")  # queues the broadcast
    started = time.monotonic()
    fanouts = await store.fanout.expand()
    return time.monotonic() - started, sum(f.deliveries for f in fanouts)


async def run(args: argparse.Namespace) -> None:
    if not args.database_url or "postgres" not in args.database_url:
        raise SystemExit("bench.filters needs --database-url postgresql://...")
    n = args.subscribers
    async with scratch_postgres(args.database_url, "coopbot_bench_filters") as url:
        await prepare_database(test_settings(url, "http://127.0.0.1:9/bot"))
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        news = NewsService(sessions)
        store = DeliveryStore(sessions)
        started = time.monotonic()
        await seed(engine, n)
        await _vacuum(engine)
        seeded = time.monotonic() - started
        without: list[float] = []
        with_filters: list[float] = []
        rows_without = rows_with = filtered_chats = 0
        for _round in range(args.rounds):
            await _execute(engine, "TRUNCATE chat_filters")
            await _vacuum(engine, "chat_filters")
            seconds, rows_without = await fan_out(engine, news, store)
            without.append(seconds)
            filtered_chats = await add_filters(engine, n, args.filtered)
            await _vacuum(engine, "chat_filters")
            seconds, rows_with = await fan_out(engine, news, store)
            with_filters.append(seconds)
        async with engine.connect() as connection:
            terms = await connection.scalar(text("SELECT count(*) FROM chat_filters"))
        await engine.dispose()
    best_with = min(with_filters)
    ratio = statistics.median(with_filters) / statistics.median(without)
    rows = [
        ("seeding chats + subscriptions", f"{seeded:.1f} s"),
        ("chats with filters", f"{filtered_chats:,} ({terms:,} terms)"),
        ("fan-out without filters", _seconds(without) + f", {rows_without:,} rows"),
        ("fan-out with filters", _seconds(with_filters) + f", {rows_with:,} rows"),
        ("held back by filters", f"{rows_without - rows_with:,} pushes"),
        ("with / without (medians)", f"{ratio:.2f}× (goal < 1.5×)"),
        ("with filters, best", f"{best_with:.2f} s (goal < 10 s)"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"\nKeyword filters at fan-out on PostgreSQL: one item, {n:,} subscribers")
    print("-" * (width + 40))
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(flush=True)


def _seconds(values: list[float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values) + " s"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.filters")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--filtered", type=float, default=0.10, help="share of chats filtered")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
