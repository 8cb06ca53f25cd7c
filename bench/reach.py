"""Reach's speed check: the tracked-link redirect beside /healthz, and a broadcast at
Telegram's 30 messages/s while opens are counted.

One run: the bot (SQLite, or PostgreSQL with --database-url) with CLICK_TRACKING on sends one
item to `--subscribers` chats through the emulator (its own process, Telegram's limits on).
Meanwhile a client in the bot's process opens the item's tracked link (`GET /r/<code>`,
counted) and asks `/healthz`, alternately, `--rate` times a second each; every request's time
is kept. Reported: p50/p99 of both and what the redirect adds at p99 (goal < 2 ms); the
broadcast's sustained rate as a share of 30/s (goal ≥ 0.95) and the 429s the emulator answered
(goal 0); and that every counted open is in the roll-ups.

Both are served by the bot's own server on WEB_LISTEN, which mounts the redirect beside the
newsroom and /healthz.

    python -m bench.reach [--subscribers 1200] [--rate 20] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiohttp

from bench.delivery import database, draft, emulator, seed, sustained_rate, table
from bot.config import SecretStr, Settings
from bot.delivery import DeliveryOptions
from bot.lifecycle import running_bot
from testbed.harness import TOKEN
from testbed.newsroom import free_port


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def _client(
    base: str, health: str, code: str, rate: float, stop: asyncio.Event
) -> tuple[list[float], list[float], int]:
    """Alternate a counted open and a /healthz at `rate` pairs a second until `stop`."""
    opens: list[float] = []
    healthz: list[float] = []
    counted = 0
    async with aiohttp.ClientSession() as http:
        while not stop.is_set():
            began = time.perf_counter()
            for url, into in ((f"{base}/r/{code}", opens), (f"{health}/healthz", healthz)):
                start = time.perf_counter()
                async with http.get(url, allow_redirects=False) as answer:
                    await answer.read()
                    into.append((time.perf_counter() - start) * 1000)
                    counted += answer.status == 302
            await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - began)))
    return opens, healthz, counted


async def run(subscribers: int, rate: float, database_url: str | None) -> None:
    port = free_port()
    async with emulator(limits=True) as emu, database(database_url) as url:
        news = await seed(url, emu.base_url, subscribers)
        await news._sessions.kw["bind"].dispose()
        settings = Settings(
            bot_token=SecretStr(TOKEN),
            database_url=url,
            telegram_api_url=emu.base_url,
            log_level="WARNING",
            web_url=f"http://127.0.0.1:{port}",
            web_listen=f"127.0.0.1:{port}",
            click_tracking=True,
            delivery=DeliveryOptions(rate_limits=True),
        )
        async with running_bot(settings) as application:
            services = application.bot_data["services"]
            engine, reach = services.delivery, services.reach
            base = health = f"http://127.0.0.1:{port}"
            item = (await services.news.publish(draft(), source="bench")).item
            stop = asyncio.Event()
            client = asyncio.ensure_future(
                _client(base, health, reach.link_code(item.id), rate, stop)
            )
            while engine.stats.sent == 0:  # noqa: ASYNC110 (a benchmark's stopwatch)
                await asyncio.sleep(0.005)
            first = time.monotonic()
            samples: list[tuple[float, int]] = []
            while engine.stats.sent < subscribers:
                await asyncio.sleep(1.0)
                samples.append((time.monotonic() - first, engine.stats.sent))
                if samples[-1][0] > 110:
                    break
            seconds = time.monotonic() - first
            stop.set()
            opens, healthz, counted = await client
            await reach.flush_opens()
            figures = await reach.item(item.id)
        server = await emu.finish()
    sent = samples[-1][1] if samples else 0
    sustained = sustained_rate(samples, seconds)
    added = _pct(opens, 0.99) - _pct(healthz, 0.99)
    table(
        f"reach: {subscribers} subscribers, {len(opens)} opens and /healthz each, "
        f"{'PostgreSQL' if database_url else 'SQLite'}",
        [
            ("sent / seconds", f"{sent} / {seconds:.1f}"),
            ("sustained rate / 30 per s (goal ≥ 0.95)", f"{sustained / 30:.3f}"),
            ("429s answered by the emulator (goal 0)", f"{server['too_many_requests']}"),
            ("/healthz p50 / p99 ms", f"{_pct(healthz, 0.5):.2f} / {_pct(healthz, 0.99):.2f}"),
            ("/r/<code> p50 / p99 ms", f"{_pct(opens, 0.5):.2f} / {_pct(opens, 0.99):.2f}"),
            ("redirect adds at p99 ms (goal < 2)", f"{added:.2f}"),
            ("opens counted / redirects answered", f"{figures.opens} / {counted}"),
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=1200)
    parser.add_argument("--rate", type=float, default=20.0, help="opens (and /healthz) a second")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(run(args.subscribers, args.rate, args.database_url))


if __name__ == "__main__":
    main()
