"""Delivery benchmarks: plain scripts that print a results table.

    python -m bench.delivery limits  [--subscribers 10000] [--languages en,fr,es]
                                     [--compare-languages] [--picture | --compare-picture]
                                     [--database-url URL]
    python -m bench.delivery ceiling [--subscribers 20000] [--concurrency 64] [--database-url URL]
    python -m bench.delivery fanout  --database-url postgresql://... [--subscribers 1000000]

limits   Telegram's limits on in the emulator: the sustained rate (goal: within 5 % of 30/s)
         and the 429s received (goal: none). `--languages` gives the subscribers those
         interface languages in turn (default: English only); the table then also shows, per
         language, the messages delivered and how many carry that language's footer, and how
         many texts the engine rendered (one per item and language per claimed batch at most).
         `--compare-languages` runs English only, then the languages (default en,fr,es), and
         prints the ratio of their sustained rates. `--picture` broadcasts an item with a
         picture (served on 127.0.0.1; the emulator fetches it as Telegram would) and counts
         the images Telegram had to take in (goal: 1); `--compare-picture` runs the same
         broadcast without, then with the picture, side by side.
ceiling  Limits off: the engine's messages/s beside plain clients posting the same sendMessage
         calls to the same emulator in the same run (aiohttp; PTB's Bot on httpx and on our
         aiohttp transport).
fanout   One item to a million subscribers on PostgreSQL: the time to create the delivery rows
         (goal < 10 s) and the sender's RSS while it sends (goal: flat, < 200 MB).

The emulator runs in a process of its own (bench.emulator_process), so client and server do
not share a CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC
from pathlib import Path

import aiohttp
from sqlalchemy import text
from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.request import HTTPXRequest

from bot import i18n, texts
from bot.config import SecretStr, Settings
from bot.db.base import utcnow
from bot.db.engine import create_engine, create_session_factory
from bot.delivery import AiohttpRequest, DeliveryEngine, DeliveryOptions, DeliveryStore
from bot.lifecycle import prepare_database, running_bot
from bot.render import item_card
from bot.services.news import NewsService
from bot.services.validation import ItemDraft
from bot.services.views import ItemView
from emulator import make_png
from testbed.databases import scratch_postgres
from testbed.delivery_kit import add_subscribers
from testbed.harness import TOKEN
from testbed.image_server import serving_images

ROOT = Path(__file__).resolve().parent.parent
FIRST_CHAT = 10_000_000


# -- plumbing ------------------------------------------------------------------------------


@dataclass
class Emulator:
    base_url: str
    process: asyncio.subprocess.Process

    async def finish(self) -> dict[str, int]:
        self.process.terminate()
        out, _ = await self.process.communicate()
        return json.loads(out.decode().strip().splitlines()[-1])


@contextlib.asynccontextmanager
async def emulator(limits: bool, *, record_texts: bool = False) -> AsyncIterator[Emulator]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.emulator_process",
        "--limits",
        "on" if limits else "off",
        "--lean",
        *(["--record-texts"] if record_texts else []),
        cwd=str(ROOT),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
    )
    line = (await process.stdout.readline()).decode().split()
    assert line and line[0] == "ready", line
    running = Emulator(line[1], process)
    try:
        yield running
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@contextlib.asynccontextmanager
async def database(url: str | None) -> AsyncIterator[str]:
    if url is None:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite+aiosqlite:///{folder}/bench.db"
        return
    async with scratch_postgres(url, "coopbot_bench") as scratch:
        yield scratch


def settings_for(
    database_url: str, api_url: str, options: DeliveryOptions | None = None
) -> Settings:
    return Settings(
        bot_token=SecretStr(TOKEN),
        database_url=database_url,
        telegram_api_url=api_url,
        log_level="WARNING",
        delivery_poll_seconds=1.0,
        delivery=options or DeliveryOptions(),
    )


async def seed(
    database_url: str, api_url: str, subscribers: int, languages: Sequence[str] = ("en",)
) -> NewsService:
    """`subscribers` chats from FIRST_CHAT on, following everything; chat FIRST_CHAT + n
    speaks `languages[n % len(languages)]`."""
    await prepare_database(settings_for(database_url, api_url))
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    await add_subscribers(
        sessions, range(FIRST_CHAT, FIRST_CHAT + subscribers), languages=languages
    )
    return NewsService(sessions)


def draft(n: int = 1, image_url: str | None = None) -> ItemDraft:
    return ItemDraft(
        "News",
        f"Benchmark item {n}: co-operatives & the social economy",
        f"https://example.org/bench/{n}/{uuid.uuid4().hex[:6]}",
        "A summary of about the usual length, so that the request is the size of a real one.",
        image_url=image_url,
    )


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    print(f"\n{title}\n" + "-" * (width + 24))
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(flush=True)


async def run_engine(
    database_url: str,
    api_url: str,
    options: DeliveryOptions,
    total: int,
    *,
    sample: Callable[[float, int], None] | None = None,
    stop_after: float | None = None,
    instrument: Callable[[DeliveryEngine], None] | None = None,
    image_url: str | None = None,
) -> tuple[float, int, object]:
    """Start the bot, publish one item and wait until `total` messages went out (or
    `stop_after` seconds). Returns (seconds from the first send to the last, sent, stats).
    `instrument` gets the engine before the item is published."""
    async with running_bot(settings_for(database_url, api_url, options)) as application:
        services = application.bot_data["services"]
        engine = services.delivery
        if instrument is not None:
            instrument(engine)
        await services.news.publish(draft(image_url=image_url), source="bench")
        while engine.stats.sent == 0:  # noqa: ASYNC110 (a benchmark's stopwatch)
            await asyncio.sleep(0.001)
        first = time.monotonic()
        last_count, last_change = 0, first
        while engine.stats.sent < total:
            await asyncio.sleep(0.05 if sample is None else 1.0)
            now = time.monotonic()
            if sample is not None:
                sample(now - first, engine.stats.sent)
            if engine.stats.sent != last_count:
                last_count, last_change = engine.stats.sent, now
            if stop_after is not None and now - first >= stop_after:
                break
            if now - last_change > 30:
                raise RuntimeError(f"stalled at {engine.stats.sent} of {total}")
        return time.monotonic() - first, engine.stats.sent, engine.stats


# -- limits on ---------------------------------------------------------------------------


@dataclass
class RenderCount:
    """What the engine rendered in a run: calls of the render callback that bot.app hands it,
    and its text-cache misses by claimed batch (each claim empties the cache), so that a
    second text for one (item, language) within one batch would show."""

    calls: int = 0
    batches: int = 0
    misses: list[tuple[int, int, str]] = field(default_factory=list)  # (batch, item, language)

    def install(self, engine: DeliveryEngine) -> None:
        pushes, deliveries = engine.pushes, engine.store.deliveries
        render, build, claim = pushes._render_item, pushes._render, deliveries.claim

        async def counted_render(item_id: int, language: str):  # type: ignore[no-untyped-def]
            self.calls += 1
            return await render(item_id, language)

        def counted_build(item_id: int, language: str):  # type: ignore[no-untyped-def]
            # a plain function: it records when the engine makes the cache entry, not when
            # the coroutine first runs (by then the next claim may have emptied the cache)
            self.misses.append((self.batches, item_id, language))
            return build(item_id, language)

        async def counted_claim(*args: object, **kwargs: object) -> list:  # type: ignore[type-arg]
            rows = await claim(*args, **kwargs)  # type: ignore[arg-type]
            if rows:  # the engine empties its text cache before it awaits anything else
                self.batches += 1
            return rows

        pushes._render_item = counted_render
        pushes._render = counted_build  # type: ignore[method-assign]
        deliveries.claim = counted_claim  # type: ignore[method-assign]

    @property
    def most_in_one_batch(self) -> int:
        return max(Counter(self.misses).values(), default=0)


@dataclass
class LimitsRun:
    subscribers: int
    languages: tuple[str, ...]
    seconds: float
    sent: int
    sustained: float
    flood_waits: int
    server: dict
    renders: RenderCount
    picture: bool = False
    image_requests: int = 0  # what the image server was asked for (Telegram's fetches)
    photos: int = 0  # sent as photos, by the engine's count

    def language_of(self, chat_id: int) -> str:
        return self.languages[(chat_id - FIRST_CHAT) % len(self.languages)]

    def per_language(self) -> dict[str, tuple[int, int, int, int]]:
        """language: (chats, messages delivered, with its own footer, with another's footer),
        from the message texts the emulator recorded."""
        footers = {lang: i18n.translator(lang)(texts.DELIVERY_FOOTER) for lang in i18n.LANGUAGES}
        found = {lang: [0, 0, 0, 0] for lang in self.languages}
        for n in range(self.subscribers):
            found[self.language_of(FIRST_CHAT + n)][0] += 1
        for message, chat_ids in self.server["texts"].items():
            for chat_id in chat_ids:
                lang = self.language_of(chat_id)
                found[lang][1] += 1
                found[lang][2] += footers[lang] in message
                found[lang][3] += any(
                    footer in message for other, footer in footers.items() if other != lang
                )
        return {lang: (a, b, c, d) for lang, (a, b, c, d) in found.items()}


def sustained_rate(samples: list[tuple[float, int]], seconds: float) -> float:
    """The middle of the run, leaving out the first and last 5 seconds."""
    middle = [(t, c) for t, c in samples if 5 <= t <= seconds - 5]
    if len(middle) <= 2:
        return 0.0
    return (middle[-1][1] - middle[0][1]) / (middle[-1][0] - middle[0][0])


async def limits_run(
    n: int, languages: tuple[str, ...], database_url: str | None, *, picture: bool = False
) -> LimitsRun:
    renders = RenderCount()
    async with (
        emulator(limits=True, record_texts=True) as emu,
        database(database_url) as url,
        serving_images() as images,
    ):
        news = await seed(url, emu.base_url, n, languages)
        await news._sessions.kw["bind"].dispose()
        # a photo of a usual size (about 200 KB), which the emulator fetches as Telegram would
        image_url = None
        if picture:
            image_url = images.serve("bench.png", make_png(1280, 720, padding=200_000))
        samples: list[tuple[float, int]] = []
        seconds, sent, stats = await run_engine(
            url,
            emu.base_url,
            DeliveryOptions(rate_limits=True),
            n,
            sample=lambda t, count: samples.append((t, count)),
            instrument=renders.install,
            image_url=image_url,
        )
        server = await emu.finish()
        requested = images.requests["bench.png"]
    return LimitsRun(
        n,
        languages,
        seconds,
        sent,
        sustained_rate(samples, seconds),
        stats.flood_waits,  # type: ignore[attr-defined]
        server,
        renders,
        picture,
        requested,
        stats.photos,  # type: ignore[attr-defined]
    )


def limits_table(run: LimitsRun) -> None:
    renders = run.renders
    per_item = len(run.languages)  # one item per run
    rows = [
        ("interface languages", ", ".join(run.languages)),
        ("messages sent", f"{run.sent:,}"),
        ("first to last send", f"{run.seconds:.1f} s"),
        ("overall rate", f"{run.sent / run.seconds:.2f} msg/s"),
        (
            "sustained rate (middle)",
            f"{run.sustained:.2f} msg/s  ({run.sustained / 30:.3f} × 30/s)",
        ),
        ("429s answered by the emulator", f"{run.server['too_many_requests']}"),
        ("429s seen by the engine", f"{run.flood_waits}"),
        ("sendMessage calls at the emulator", f"{run.server['sendMessage']:,}"),
        ("sendPhoto calls at the emulator", f"{run.server.get('sendPhoto', 0):,}"),
        (
            "renders (render callback calls)",
            f"{renders.calls:,} for {run.sent:,} messages "
            f"(1 per {run.sent / max(renders.calls, 1):.0f} messages)",
        ),
        (
            "claimed batches; render bound",
            f"{renders.batches:,}; {renders.batches * per_item:,} "
            f"(batches × {per_item} language{'s' if per_item > 1 else ''} × 1 item)",
        ),
        ("most renders of one (item, language) in a batch", f"{renders.most_in_one_batch}"),
    ]
    if run.picture:
        rows += [
            ("sent as photos (engine)", f"{run.photos:,}"),
            (
                "images Telegram took in: fetched, uploaded",
                f"{run.server.get('downloads', 0)}, {run.server.get('uploads', 0)}"
                f" (image server asked {run.image_requests} time(s); goal: 1)",
            ),
        ]
    for lang, (chats, delivered, own, other) in run.per_language().items():
        rows.append(
            (
                f"{lang}: chats, delivered, {lang} footer, other footer",
                f"{chats:,}, {delivered:,}, {own:,}, {other:,}",
            )
        )
    table(
        f"Limits on{', with a picture' if run.picture else ''}: {run.subscribers:,} subscribers, "
        "emulator enforcing 30/s, 1/s per chat, 20/min per group",
        rows,
    )


def parse_languages(value: str) -> tuple[str, ...]:
    languages = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    unknown = [lang for lang in languages if lang not in i18n.LANGUAGES]
    if not languages or unknown:
        raise SystemExit(
            f"--languages: a comma-separated list of {', '.join(i18n.LANGUAGES)}; "
            f"not {', '.join(unknown) or 'empty'}"
        )
    return languages


async def bench_limits(args: argparse.Namespace) -> None:
    n = args.subscribers
    if args.compare_picture:
        await compare_picture(n, parse_languages(args.languages or "en"), args.database_url)
        return
    if not args.compare_languages:
        limits_table(
            await limits_run(
                n,
                parse_languages(args.languages or "en"),
                args.database_url,
                picture=args.picture,
            )
        )
        return
    mixed_languages = parse_languages(args.languages or ",".join(i18n.LANGUAGES))
    english = await limits_run(n, ("en",), args.database_url)
    limits_table(english)
    mixed = await limits_run(n, mixed_languages, args.database_url)
    limits_table(mixed)
    goal = 0.95 * 30
    label = ",".join(mixed_languages)
    table(
        f"Interface languages: {label} against English only, {n:,} subscribers each, one run",
        [
            (
                "sustained, English only (baseline)",
                f"{english.sustained:.2f} msg/s  ({english.sustained / 30:.3f} × 30/s)",
            ),
            (
                f"sustained, {label}",
                f"{mixed.sustained:.2f} msg/s  ({mixed.sustained / 30:.3f} × 30/s)",
            ),
            ("ratio mixed / English", f"{mixed.sustained / english.sustained:.3f}"),
            (
                "goal: mixed ≥ 0.95 × 30/s",
                f"{'met' if mixed.sustained >= goal else 'NOT met'} ({mixed.sustained / 30:.3f})",
            ),
            (
                "429s answered (English, mixed)",
                f"{english.server['too_many_requests']}, {mixed.server['too_many_requests']}",
            ),
            (
                "renders per message (English, mixed)",
                f"{english.renders.calls / english.sent:.4f}, "
                f"{mixed.renders.calls / mixed.sent:.4f}",
            ),
        ],
    )


async def compare_picture(n: int, languages: tuple[str, ...], database_url: str | None) -> None:
    """The same broadcast without, then with a picture, in one run."""
    plain = await limits_run(n, languages, database_url)
    limits_table(plain)
    pictured = await limits_run(n, languages, database_url, picture=True)
    limits_table(pictured)
    goal = 0.95 * 30
    taken = pictured.server.get("downloads", 0) + pictured.server.get("uploads", 0)
    table(
        f"A picture against none: {n:,} subscribers each, limits on, one run",
        [
            (
                "sustained, text (baseline)",
                f"{plain.sustained:.2f} msg/s  ({plain.sustained / 30:.3f} × 30/s)",
            ),
            (
                "sustained, with a picture",
                f"{pictured.sustained:.2f} msg/s  ({pictured.sustained / 30:.3f} × 30/s)",
            ),
            (
                "ratio picture / text",
                f"{pictured.sustained / plain.sustained:.3f}" if plain.sustained else "n/a",
            ),
            (
                "goal: picture ≥ 0.95 × 30/s",
                f"{'met' if pictured.sustained >= goal else 'NOT met'} "
                f"({pictured.sustained / 30:.3f})",
            ),
            ("sent as photos", f"{pictured.photos:,} of {pictured.sent:,}"),
            (
                "images Telegram took in (fetched + uploaded)",
                f"{taken} (goal: 1; image server asked {pictured.image_requests})",
            ),
            (
                "429s answered (text, picture)",
                f"{plain.server['too_many_requests']}, {pictured.server['too_many_requests']}",
            ),
            (
                "first to last send (text, picture)",
                f"{plain.seconds:.1f} s, {pictured.seconds:.1f} s",
            ),
        ],
    )


# -- limits off: the ceiling --------------------------------------------------------------


async def _fan(n: int, concurrency: int, send: Callable[[int], object]) -> float:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for chat_id in range(FIRST_CHAT, FIRST_CHAT + n):
        queue.put_nowait(chat_id)

    async def worker() -> None:
        while not queue.empty():
            await send(queue.get_nowait())  # type: ignore[misc]

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.monotonic() - started)


async def plain_aiohttp(api_url: str, message: str, n: int, concurrency: int) -> float:
    url = f"{api_url}{TOKEN}/sendMessage"
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send(chat_id: int) -> None:
            payload = {
                "chat_id": chat_id,
                "text": message,
                "parse_mode": "HTML",
                "link_preview_options": {"is_disabled": True},
            }
            async with session.post(url, json=payload) as response:
                body = await response.json()
                assert body["ok"], body

        return await _fan(n, concurrency, send)


async def plain_ptb(api_url: str, message: str, n: int, concurrency: int, request) -> float:  # type: ignore[no-untyped-def]
    bot = Bot(TOKEN, base_url=api_url, request=request)
    async with bot:

        async def send(chat_id: int) -> None:
            await bot.send_message(
                chat_id,
                message,
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )

        return await _fan(n, concurrency, send)


async def bench_ceiling(args: argparse.Namespace) -> None:
    n, c = args.subscribers, args.concurrency
    sample = item_card(
        ItemView(1, draft().title, draft().summary, draft().url, 1, "News", utcnow()), UTC
    )
    message = sample + "\n\n" + texts.DELIVERY_FOOTER
    rows: list[tuple[str, str]] = []
    async with emulator(limits=False) as emu, database(args.database_url) as url:
        base = emu.base_url
        await plain_aiohttp(base, message, 500, c)  # warm-up
        aio = await plain_aiohttp(base, message, n, c)
        httpx = await plain_ptb(
            base, message, n, c, HTTPXRequest(connection_pool_size=c, read_timeout=10)
        )
        ptb_aio = await plain_ptb(
            base, message, n, c, AiohttpRequest(connection_pool_size=c, read_timeout=10)
        )
        news = await seed(url, base, n)
        await news._sessions.kw["bind"].dispose()
        options = replace(DeliveryOptions(rate_limits=False), concurrency=c, claim_batch=500)
        seconds, sent, _stats = await run_engine(url, base, options, n)
        server = await emu.finish()
    engine_rate = sent / seconds
    store = "SQLite" if args.database_url is None else "PostgreSQL"
    rows = [
        ("plain aiohttp client (baseline)", f"{aio:8.0f} msg/s   1.00x"),
        ("PTB Bot, default httpx transport", f"{httpx:8.0f} msg/s   {httpx / aio:.2f}x"),
        ("PTB Bot, bot.delivery.AiohttpRequest", f"{ptb_aio:8.0f} msg/s   {ptb_aio / aio:.2f}x"),
        (
            f"delivery engine ({store}, claim+send+record)",
            f"{engine_rate:8.0f} msg/s   {engine_rate / aio:.2f}x",
        ),
        ("engine: messages / seconds", f"{sent:,} in {seconds:.2f} s"),
        ("emulator: sendMessage calls, errors", f"{server['sendMessage']:,}, {server['errors']}"),
    ]
    table(f"Limits off: {n:,} messages, {c} in flight, one emulator process", rows)


# -- a million subscribers on PostgreSQL ----------------------------------------------------


def require_postgres(url: str | None, mode: str) -> str:
    if not url or "postgres" not in url:
        raise SystemExit(f"{mode} needs --database-url postgresql://...")
    return url


async def bench_fanout(args: argparse.Namespace) -> None:
    require_postgres(args.database_url, "fanout")
    n = args.subscribers
    async with emulator(limits=False) as emu, database(args.database_url) as url:
        await prepare_database(settings_for(url, emu.base_url))
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        news = NewsService(sessions)
        other = await news.publish(draft(0), source="bench", broadcast=False)  # a 2nd category
        await news.publish(ItemDraft("Events", "x", None, None), source="bench", broadcast=False)
        started = time.monotonic()
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO chats (id, type, active, created_at, updated_at) "
                    "SELECT g, 'private', true, now(), now() FROM generate_series(1, :n) g"
                ),
                {"n": n},
            )
            # half follow the category, half follow everything; a tenth follow another one
            await connection.execute(
                text(
                    "INSERT INTO subscriptions (chat_id, category_id, created_at) "
                    "SELECT g, CASE WHEN g % 2 = 0 THEN CAST(:cat AS integer) END, now() "
                    "FROM generate_series(1, :n) g"
                ),
                {"n": n, "cat": other.item.category_id},
            )
            await connection.execute(
                text(
                    "INSERT INTO subscriptions (chat_id, category_id, created_at) "
                    "SELECT g, (SELECT id FROM categories WHERE name = 'Events'), now() "
                    "FROM generate_series(1, :n, 10) g WHERE g % 2 = 0"
                ),
                {"n": n},
            )
        async with engine.connect() as connection:
            await connection.execute(text("COMMIT"))
            await connection.execute(text("VACUUM ANALYZE"))
        seeded = time.monotonic() - started
        await news.publish(draft(1), source="bench")  # queues the broadcast
        store = DeliveryStore(sessions)
        started = time.monotonic()
        fanouts = await store.fanout.expand()
        fanout_seconds = time.monotonic() - started
        rows_created = sum(f.deliveries for f in fanouts)
        await engine.dispose()

        rss: list[tuple[float, float]] = []
        before = rss_mb()
        seconds, sent, _ = await run_engine(
            url,
            emu.base_url,
            replace(DeliveryOptions(rate_limits=False), claim_batch=500),
            n,
            sample=lambda t, _count: rss.append((t, rss_mb())),
            stop_after=args.send_seconds,
        )
        await emu.finish()
    values = [m for _, m in rss]
    tenth = max(1, len(values) // 10)
    table(
        f"Fan-out on PostgreSQL: one item, {n:,} subscribers",
        [
            ("seeding chats + subscriptions", f"{seeded:.1f} s"),
            ("fan-out (one INSERT ... SELECT)", f"{fanout_seconds:.2f} s, {rows_created:,} rows"),
            ("sender: messages sent", f"{sent:,} in {seconds:.0f} s ({sent / seconds:.0f} msg/s)"),
            ("sender RSS before start", f"{before:.0f} MB"),
            ("sender RSS, first 10% of samples", f"{sum(values[:tenth]) / tenth:.0f} MB"),
            ("sender RSS, last 10% of samples", f"{sum(values[-tenth:]) / tenth:.0f} MB"),
            ("sender RSS, max", f"{max(values):.0f} MB"),
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery")
    parser.add_argument("mode", choices=["limits", "ceiling", "fanout"])
    parser.add_argument("--subscribers", type=int)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--send-seconds", type=float, default=60.0)
    parser.add_argument(
        "--languages",
        default=None,
        help="limits: the subscribers' interface languages in turn, e.g. en,fr,es (default en; "
        "with --compare-languages, en,fr,es)",
    )
    parser.add_argument(
        "--compare-languages",
        action="store_true",
        help="limits: run English only, then --languages, and compare the sustained rates",
    )
    parser.add_argument(
        "--picture",
        action="store_true",
        help="limits: the item has a picture (served on 127.0.0.1, fetched by the emulator)",
    )
    parser.add_argument(
        "--compare-picture",
        action="store_true",
        help="limits: the same broadcast without, then with a picture, side by side",
    )
    args = parser.parse_args()
    defaults = {"limits": 10_000, "ceiling": 20_000, "fanout": 1_000_000}
    args.subscribers = args.subscribers or defaults[args.mode]
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    runner = {"limits": bench_limits, "ceiling": bench_ceiling, "fanout": bench_fanout}
    asyncio.run(runner[args.mode](args))


if __name__ == "__main__":
    main()
