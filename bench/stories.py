"""Stories benchmarks: one story in three versions, against one item, in the same run.

    python -m bench.stories fanout    --database-url postgresql://... [--subscribers 1000000]
    python -m bench.stories broadcast [--subscribers 6000] [--database-url URL]

fanout     A million subscribers, a third each speaking English, French and Spanish, all
           following everything. The fan-out of one item, then of a story in three versions
           (the original queued once its versions are in, as a scheduled story goes out), each
           twice, alternating, on an emptied deliveries table. Goal: story < 1.3 × item, and
           exactly one delivery row per chat, each with the chat's own language's version.
broadcast  Telegram's limits on in the emulator (30/s, 1/s per chat): a story in three
           versions to subscribers speaking English, French and Spanish in turn. Goals: the
           sustained rate ≥ 0.95 × 30/s, no 429, every chat getting its own version (counted
           by language from the texts the emulator recorded).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from collections import Counter

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.delivery import (
    FIRST_CHAT,
    database,
    emulator,
    require_postgres,
    seed,
    settings_for,
    sustained_rate,
    table,
)
from bot.db.engine import create_engine, create_session_factory
from bot.db.models import BroadcastQueue
from bot.delivery import DeliveryOptions, DeliveryStore
from bot.lifecycle import prepare_database, running_bot
from bot.services.news import NewsService
from bot.services.validation import ItemDraft

LANGUAGES = ("en", "fr", "es")
TITLES = {
    "en": "Co-operatives and decent work: a new report",
    "fr": "Les coopératives et le travail décent : un nouveau rapport",
    "es": "Las cooperativas y el trabajo decente: un nuevo informe",
}
SUMMARY = "A summary of about the usual length, so that the request is the size of a real one."


def _draft(language: str, n: int) -> ItemDraft:
    return ItemDraft(
        "News", TITLES[language], f"https://example.org/{language}/{n}", SUMMARY, language
    )


async def publish_story(news: NewsService, n: int) -> dict[int, str]:
    """A story in three versions, its broadcast queued once all are in (as a scheduled story
    goes out): {item id: language}."""
    original = (await news.publish(_draft("en", n), source="bench", broadcast=False)).item
    ids = {original.id: "en"}
    for language in ("fr", "es"):
        version = await news.publish(
            _draft(language, n), source="bench", broadcast=False, version_of=original.id
        )
        ids[version.item.id] = language
    async with news._sessions.begin() as session:
        session.add(BroadcastQueue(item_id=original.id))
    return ids


# -- fan-out -------------------------------------------------------------------------------


async def _seed_million(engine: AsyncEngine, n: int) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO chats (id, type, active, language, created_at, updated_at) "
                "SELECT g, 'private', true, "
                "(ARRAY['en','fr','es'])[1 + g % 3], now(), now() "
                "FROM generate_series(1, :n) g"
            ),
            {"n": n},
        )
        await connection.execute(
            text(
                "INSERT INTO subscriptions (chat_id, category_id, created_at) "
                "SELECT g, NULL, now() FROM generate_series(1, :n) g"
            ),
            {"n": n},
        )


async def _empty_deliveries(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("COMMIT"))
        await connection.execute(text("TRUNCATE deliveries"))
        await connection.execute(text("VACUUM ANALYZE"))


async def _rows(engine: AsyncEngine) -> tuple[int, int, dict[int, int]]:
    async with engine.connect() as connection:
        total, chats = (
            await connection.execute(
                text("SELECT count(*), count(DISTINCT chat_id) FROM deliveries")
            )
        ).one()
        per_item = dict(
            (
                await connection.execute(
                    text("SELECT item_id, count(*) FROM deliveries GROUP BY item_id")
                )
            ).all()
        )
    return total, chats, per_item


async def bench_fanout(args: argparse.Namespace) -> None:
    postgres = require_postgres(args.database_url, "fanout")
    n = args.subscribers
    async with emulator(limits=False) as emu, database(postgres) as url:
        await prepare_database(settings_for(url, emu.base_url))
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        news, store = NewsService(sessions), DeliveryStore(sessions)
        await _seed_million(engine, n)
        single: list[float] = []
        story: list[float] = []
        checks: list[str] = []
        for round_ in range(args.rounds):
            for kind in ("item", "story"):
                await _empty_deliveries(engine)
                if kind == "item":
                    await news.publish(_draft("en", 100 + round_), source="bench")
                    languages = None
                else:
                    languages = await publish_story(news, round_)
                started = time.monotonic()
                await store.fanout.expand()
                took = time.monotonic() - started
                (single if kind == "item" else story).append(took)
                total, chats, per_item = await _rows(engine)
                if languages is not None:
                    by_language = Counter()
                    for item_id, count in per_item.items():
                        by_language[languages[item_id]] += count
                    # chat g speaks en, fr, es for g % 3 == 0, 1, 2 (the seed's array)
                    expected = {
                        "en": n // 3,
                        "fr": len(range(1, n + 1, 3)),
                        "es": len(range(2, n + 1, 3)),
                    }
                    checks.append(
                        f"round {round_ + 1}: {total:,} rows for {chats:,} chats; "
                        + ", ".join(f"{lang} {by_language[lang]:,}" for lang in LANGUAGES)
                        + (
                            " (each chat its language)"
                            if dict(by_language) == expected
                            else f" (expected {expected})"
                        )
                    )
        await engine.dispose()
        await emu.finish()
    item_time, story_time = statistics.median(single), statistics.median(story)
    table(
        f"Fan-out on PostgreSQL: one item, then a story in three versions, {n:,} subscribers "
        "(a third each en, fr, es), alternating, same run",
        [
            ("one item (each round)", ", ".join(f"{t:.2f} s" for t in single)),
            ("story of three versions (each round)", ", ".join(f"{t:.2f} s" for t in story)),
            ("median: item, story", f"{item_time:.2f} s, {story_time:.2f} s"),
            (
                "story / item (goal < 1.3)",
                f"{story_time / item_time:.3f} "
                f"({'met' if story_time / item_time < 1.3 else 'NOT met'})",
            ),
            *((f"story rows, {c.split(':')[0]}", c.split(": ", 1)[1]) for c in checks),
        ],
    )


# -- broadcast under Telegram's limits -----------------------------------------------------


async def bench_broadcast(args: argparse.Namespace) -> None:
    n = args.subscribers
    async with emulator(limits=True, record_texts=True) as emu, database(args.database_url) as url:
        news = await seed(url, emu.base_url, n, LANGUAGES)
        await news._sessions.kw["bind"].dispose()
        samples: list[tuple[float, int]] = []
        options = DeliveryOptions(rate_limits=True)
        async with running_bot(settings_for(url, emu.base_url, options)) as application:
            services = application.bot_data["services"]
            engine = services.delivery
            await publish_story(services.news, 1)
            engine.wake()
            while engine.stats.sent == 0:  # noqa: ASYNC110 (a benchmark's stopwatch)
                await asyncio.sleep(0.001)
            first = time.monotonic()
            while engine.stats.sent < n:
                await asyncio.sleep(1.0)
                samples.append((time.monotonic() - first, engine.stats.sent))
                if samples[-1][0] > n / 10:
                    raise RuntimeError(f"stalled at {engine.stats.sent} of {n}")
            seconds = time.monotonic() - first
            flood_waits = engine.stats.flood_waits
        server = await emu.finish()
    sustained = sustained_rate(samples, seconds)
    got: Counter[tuple[str, str]] = Counter()  # (chat's language, version's language)
    for message, chat_ids in server["texts"].items():
        version = next((lang for lang, title in TITLES.items() if title in message), "?")
        for chat_id in chat_ids:
            got[(LANGUAGES[(chat_id - FIRST_CHAT) % 3], version)] += 1
    rows = [
        ("messages sent", f"{sum(got.values()):,} to {n:,} chats"),
        ("first to last send", f"{seconds:.1f} s"),
        (
            "sustained rate (middle; goal ≥ 0.95 × 30/s)",
            f"{sustained:.2f} msg/s ({sustained / 30:.3f} × 30/s, "
            f"{'met' if sustained >= 0.95 * 30 else 'NOT met'})",
        ),
        (
            "429s answered by the emulator, seen by the engine",
            f"{server['too_many_requests']}, {flood_waits}",
        ),
    ]
    for chat_language in LANGUAGES:
        versions = {
            v: got[(chat_language, v)] for v in (*LANGUAGES, "?") if got[(chat_language, v)]
        }
        rows.append(
            (
                f"{chat_language} chats got versions",
                ", ".join(f"{v} {count:,}" for v, count in versions.items() if count),
            )
        )
    title = "A story in three versions under Telegram's limits"
    table(f"{title}: {n:,} subscribers (en, fr, es in turn)", rows)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stories")
    parser.add_argument("mode", choices=["fanout", "broadcast"])
    parser.add_argument("--subscribers", type=int)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    args.subscribers = args.subscribers or {"fanout": 1_000_000, "broadcast": 6_000}[args.mode]
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    runner = {"fanout": bench_fanout, "broadcast": bench_broadcast}
    asyncio.run(runner[args.mode](args))


if __name__ == "__main__":
    main()
