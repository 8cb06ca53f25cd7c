"""The newsroom's pages at scale: the dashboard, the items list and an item page beside
/healthz, at 1,000,000 items and 1,000,000 deliveries (goal: each < 50 ms at p99 server side).

One run: a store at the head migration is filled (items across 20 categories, sent deliveries
to 100,000 chats, the reach roll-ups those deliveries make, 30 days of daily figures), the
bot starts with the newsroom on 127.0.0.1 (emulator for Telegram), an owner signs in, and a
client in the bot's process asks, round-robin, `/healthz`, `/`, `/items`, `/items?before=…`
(a page deep in the list) and `/items/<id>` (a random item), `--requests` times each. Each
request's time is taken at the client, so every figure carries the same client and loopback
cost; what a page costs the server is its time minus /healthz's, and that is reported.

    python -m bench.newsroom [--items 1000000] [--deliveries 1000000] [--requests 400]
                             [--database-url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

from bot.config import SecretStr, Settings
from bot.db.engine import create_engine
from bot.db.models import Category, Chat, Delivery, Item, Subscription
from bot.db.models.reach import ItemReach, ReachDay
from bot.lifecycle import prepare_database, running_bot
from emulator import BotApiEmulator
from testbed.databases import scratch_postgres
from testbed.harness import ADMIN_ID, TOKEN
from testbed.newsroom import browser_like, free_port

CATEGORIES = 20
CHATS = 100_000
CHUNK = 20_000


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextlib.asynccontextmanager
async def store(database_url: str | None) -> AsyncIterator[str]:
    if database_url:
        async with scratch_postgres(database_url, prefix="coopbot_bench") as url:
            yield url
    else:
        folder = Path(tempfile.mkdtemp(prefix="coopbot-newsroom-"))
        yield f"sqlite+aiosqlite:///{folder / 'bench.db'}"


async def fill(url: str, items: int, deliveries: int) -> None:
    await prepare_database(Settings(database_url=url))
    engine = create_engine(url)
    rng = random.Random(18)
    now = datetime.now(UTC)
    start = now - timedelta(days=365 * 3)
    step = (now - start) / max(items, 1)

    async def chunks(table: object, rows: object) -> None:
        batch: list[dict[str, object]] = []
        for row in rows:  # type: ignore[attr-defined]
            batch.append(row)
            if len(batch) == CHUNK:
                async with engine.begin() as connection:
                    await connection.execute(insert(table), batch)  # type: ignore[arg-type]
                batch = []
        if batch:
            async with engine.begin() as connection:
                await connection.execute(insert(table), batch)  # type: ignore[arg-type]

    t0 = time.perf_counter()
    await chunks(
        Category,
        (
            {
                "id": c,
                "name": f"Category {c}",
                "name_key": f"category {c}",
                "item_count": 0,
                "created_at": now,
            }
            for c in range(1, CATEGORIES + 1)
        ),
    )
    await chunks(
        Item,
        (
            {
                "id": n,
                "title": f"Co-op story number {n}: members vote on a new housing project",
                "summary": "A summary of the story, long enough to look like a real one.",
                "url": f"https://news.example/{n}",
                "category_id": 1 + n % CATEGORIES,
                "published_at": start + step * n,
                "created_at": start + step * n,
                "source": "bench",
            }
            for n in range(1, items + 1)
        ),
    )
    await chunks(
        Chat,
        (
            {"id": 10_000_000 + c, "type": "private", "created_at": now, "updated_at": now}
            for c in range(CHATS)
        ),
    )
    # every chat follows everything (the dashboard counts them each time)
    await chunks(
        Subscription,
        ({"chat_id": 10_000_000 + c, "category_id": None, "created_at": now} for c in range(CHATS)),
    )
    # the deliveries of the newest items, each to a stretch of chats, as broadcasts make them
    per_item = max(1, deliveries // max(1, min(items, 1000)))
    sent_of: dict[int, int] = {}

    def delivery_rows():
        made = 0
        item_id = items
        while made < deliveries and item_id > 0:
            for c in range(min(per_item, deliveries - made)):
                sent_of[item_id] = sent_of.get(item_id, 0) + 1
                yield {
                    "item_id": item_id,
                    "chat_id": 10_000_000 + (c * 7 + item_id) % CHATS,
                    "status": "sent",
                    "attempts": 1,
                    "message_id": c + 1,
                    "sent_at": now,
                    "created_at": now,
                }
            made += per_item
            item_id -= 1

    await chunks(Delivery, delivery_rows())
    await chunks(
        ItemReach,
        (
            {
                "item_id": n,
                "sent": sent_of.get(n, 0),
                "opens": rng.randrange(50),
                "reactions": rng.randrange(5),
            }
            for n in range(1, items + 1)
        ),
    )
    today = now.date()
    await chunks(
        ReachDay,
        (
            {
                "day": today - timedelta(days=d),
                "sent": rng.randrange(20_000),
                "joined": rng.randrange(200),
                "left": rng.randrange(50),
                "opens": rng.randrange(3000),
            }
            for d in range(30)
        ),
    )
    async with engine.begin() as connection:
        await connection.execute(text("ANALYZE"))
    await engine.dispose()
    print(f"filled {items:,} items, {deliveries:,} deliveries in {time.perf_counter() - t0:.0f} s")


async def measure(url: str, items: int, requests: int) -> dict[str, list[float]]:
    port = free_port()
    web = f"http://127.0.0.1:{port}"
    async with BotApiEmulator(token=TOKEN) as emu:
        settings = Settings(
            bot_token=SecretStr(TOKEN),
            database_url=url,
            admin_ids=frozenset({ADMIN_ID}),
            telegram_api_url=emu.base_url,
            log_level="WARNING",
            web_url=web,
            web_listen=f"127.0.0.1:{port}",
        )
        async with running_bot(settings) as application:
            services = application.bot_data["services"]
            token = await services.web_sessions.issue_link(ADMIN_ID)
            rng = random.Random(7)
            paths = {
                "/healthz": lambda: "/healthz",
                "dashboard /": lambda: "/",
                "items /items": lambda: "/items",
                "items, deep page": lambda: f"/items?before={rng.randrange(50, items)}",
                "item /items/<id>": lambda: f"/items/{rng.randrange(1, items + 1)}",
            }
            times: dict[str, list[float]] = {name: [] for name in paths}
            async with browser_like() as client:
                async with client.get(f"{web}/login/{token}", allow_redirects=False) as answer:
                    assert answer.status == 302
                for path in paths.values():  # warm up: caches, statements, templates
                    async with client.get(web + path()) as answer:
                        await answer.read()
                for _ in range(requests):
                    for name, path in paths.items():
                        began = time.perf_counter()
                        async with client.get(web + path()) as answer:
                            await answer.read()
                            assert answer.status == 200, (name, answer.status)
                        times[name].append((time.perf_counter() - began) * 1000)
    return times


async def run(args: argparse.Namespace) -> None:
    async with store(args.database_url) as url:
        await fill(url, args.items, args.deliveries)
        times = await measure(url, args.items, args.requests)
    kind = "PostgreSQL" if args.database_url else "SQLite"
    base = _pct(times["/healthz"], 0.99)
    print(f"\n{kind}: {args.items:,} items, {args.deliveries:,} deliveries, {CHATS:,} subscribers,")
    print(f"{args.requests} requests each")
    print(f"{'':22} {'p50 ms':>8} {'p99 ms':>8} {'p99 − /healthz':>15}  goal < 50 ms")
    for name, samples in times.items():
        p99 = _pct(samples, 0.99)
        extra = (
            ""
            if name == "/healthz"
            else f"{p99 - base:15.1f}  {'met' if p99 - base < 50 else 'NOT met'}"
        )
        print(f"{name:22} {_pct(samples, 0.5):8.1f} {p99:8.1f} {extra}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument(
        "--database-url", default=None, help="a PostgreSQL server (a scratch database is made)"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
