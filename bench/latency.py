"""The reading speed check: what Co-op News Bot adds to a /latest or a category tap.

With a million items in 30 categories in SQLite, each request's time runs from the update
leaving the emulator (handed out in a getUpdates response) to the reply reaching it
(sendMessage received). The same is measured, in the same run and on the same emulator, for
a bare python-telegram-bot echo bot; the difference is the time the bot adds. Both bots run
as separate processes; the bot's RSS (after start-up, after the run, and its peak) is read
from /proc. With COOPBOT_TRACEMALLOC=/some/prefix the bot runs under tracemalloc
(`bench.memtrace`) and the top allocation sources after start-up and after the run are printed.

Requests are spaced (`--gap`, 50 ms by default): the bot keeps all its sends within
Telegram's 30 messages/s, so back-to-back requests would measure that budget, not the bot.

    python -m bench.latency [--items 1000000] [--requests 400]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import memtrace
from bot.config import Settings
from bot.lifecycle import prepare_database
from emulator import BotApiEmulator

TOKEN = "123456789:BENCH-token-for-the-emulator-abcdefgh"
USER = 5_000_001
ROOT = Path(__file__).resolve().parent.parent


def fill_database(path: Path, items: int, categories: int) -> None:
    """Bulk-load straight through sqlite3: building a million ORM objects is not the point."""
    start = datetime(2015, 1, 1, tzinfo=UTC)
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    now = datetime.now(UTC).strftime(fmt)
    db = sqlite3.connect(path)
    per_category = [0] * categories
    rng = random.Random(7)
    db.executemany(
        "INSERT INTO categories (id, name, name_key, item_count, created_at) VALUES (?,?,?,0,?)",
        [(c + 1, f"Category {c + 1}", f"category {c + 1}", now) for c in range(categories)],
    )

    def rows():
        for n in range(items):
            category = rng.randrange(categories)
            per_category[category] += 1
            published = (start + timedelta(seconds=n * 300 + rng.randrange(300))).strftime(fmt)
            yield (
                f"Co-op story number {n}: members vote on a new housing project",
                "A summary of the story, long enough to look like a real one. " * 2,
                f"https://news.example/{n}",
                category + 1,
                published,
                now,
                "bench",
            )

    db.executemany(
        "INSERT INTO items (title, summary, url, category_id, published_at, created_at, source)"
        " VALUES (?,?,?,?,?,?,?)",
        rows(),
    )
    db.executemany(
        "UPDATE categories SET item_count = ? WHERE id = ?",
        [(count, c + 1) for c, count in enumerate(per_category)],
    )
    db.commit()
    db.execute("ANALYZE")
    db.close()


async def loaded_database(
    items: int, categories: int, prefix: str, keep: Path | None = None
) -> str:
    """The URL of a fresh SQLite database at the head migration holding `items` items (or of
    `keep`, made so by an earlier run with the same figures, to spare the loading)."""
    db_path = keep or Path(tempfile.mkdtemp(prefix=prefix)) / "bench.db"
    url = f"sqlite+aiosqlite:///{db_path}"
    if keep is not None and keep.exists():  # noqa: ASYNC240 (before anything runs)
        print(f"reusing {keep} (made by an earlier run: check it holds {items:,} items)")
        return url
    t0 = time.perf_counter()
    await prepare_database(Settings(database_url=url))
    fill_database(db_path, items, categories)
    print(f"loaded {items:,} items in {categories} categories in {time.perf_counter() - t0:.1f} s")
    return url


async def _start(module: list[str], env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *module,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def _stop(process: asyncio.subprocess.Process) -> None:
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 15)
    except TimeoutError:
        process.kill()


async def _measure(emu: BotApiEmulator, requests: int, send, gap: float) -> list[float]:
    """Milliseconds from the update being handed out to the bot's reply arriving."""
    samples = []
    for n in range(requests):
        await asyncio.sleep(gap)
        before = len(emu.messages(USER))
        update_id = send(n)
        await emu.wait_for(lambda b=before: len(emu.messages(USER)) > b, 10)
        reply = emu.messages(USER)[before]
        handed = emu.update_handed_out_at[update_id]
        samples.append((reply.received_at - handed) * 1000)
    return samples


async def _snapshot(process: asyncio.subprocess.Process) -> None:
    """With COOPBOT_TRACEMALLOC set, the bot writes a tracemalloc snapshot (bench.memtrace)."""
    if os.environ.get(memtrace.ENV):
        process.send_signal(signal.SIGUSR1)
        while b"memtrace: wrote" not in await asyncio.wait_for(process.stderr.readline(), 120):
            pass


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _wait_ready(emu: BotApiEmulator, process: asyncio.subprocess.Process) -> None:
    try:
        await emu.wait_for(
            lambda: (
                process.returncode is not None or any(c.method == "getUpdates" for c in emu.calls)
            ),
            300 if os.environ.get(memtrace.ENV) else 60,
        )
    finally:
        if process.returncode is not None:
            errors = (await process.stderr.read()).decode()
            raise SystemExit(f"the bot under test exited ({process.returncode}):\n{errors}")


async def run(items: int, categories: int, requests: int, gap: float, keep: Path | None) -> None:
    url = await loaded_database(items, categories, "coopbot-bench-", keep)

    results: dict[str, list[float]] = {}
    async with BotApiEmulator(token=TOKEN, bot_username="BenchBot") as emu:
        emu.register_chat(USER, "private", first_name="Bench")
        env = {"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": emu.base_url}

        def text(message: str):
            def send(_n: int) -> int:
                emu.send_message(message, user_id=USER, first_name="Bench")
                return emu.last_update_id

            return send

        def tap(n: int) -> int:
            # a tap on the /category keyboard: the callback data the bot itself makes
            emu.press_button(USER, 1, f"v1:cat:{n % categories + 1}", USER)
            return emu.last_update_id

        echo = await _start(["-m", "bench.echo_bot"], env)
        await _wait_ready(emu, echo)
        await _measure(emu, 30, text("warm up"), gap)
        results["echo bot: text → reply"] = await _measure(emu, requests, text("/latest"), gap)
        results["echo bot: tap → message"] = await _measure(emu, requests, tap, gap)
        await _stop(echo)

        emu.calls.clear()
        bot = await _start(
            memtrace.command("bot", "run"),
            {**env, "DATABASE_URL": url, "LOG_LEVEL": "WARNING", "ADMIN_IDS": ""},
        )
        await _wait_ready(emu, bot)
        await _measure(emu, 30, text("/latest"), gap)
        started_rss, _ = memtrace.rss_mb(bot.pid)
        await _snapshot(bot)
        results["coop bot: /latest"] = await _measure(emu, requests, text("/latest"), gap)
        results["coop bot: category tap"] = await _measure(emu, requests, tap, gap)
        rss, peak = memtrace.rss_mb(bot.pid)
        await _snapshot(bot)
        await _stop(bot)

    print(
        f"\n{requests} requests each, {gap * 1000:.0f} ms apart; milliseconds from the update"
        " being handed out to the reply being received\n"
    )
    print(f"{'':28} {'p50':>8} {'p99':>8} {'mean':>8}")
    for name, samples in results.items():
        print(
            f"{name:28} {_pct(samples, 0.5):8.2f} {_pct(samples, 0.99):8.2f}"
            f" {statistics.fmean(samples):8.2f}"
        )
    pairs = [
        ("/latest", "coop bot: /latest", "echo bot: text → reply"),
        ("category tap", "coop bot: category tap", "echo bot: tap → message"),
    ]
    print("\ntime the bot adds over the bare echo bot (goal: < 5 ms at p99)")
    for label, ours, base in pairs:
        for q in (0.5, 0.99):
            added = _pct(results[ours], q) - _pct(results[base], q)
            ratio = _pct(results[ours], q) / _pct(results[base], q)
            print(f"  {label:14} p{int(q * 100):<3} +{added:6.2f} ms  ({ratio:.2f}× the echo bot)")
    print(
        f"\nbot RSS after start-up and 30 requests: {started_rss:.0f} MB; after the run:"
        f" {rss:.0f} MB, peak {peak:.0f} MB (goal: < 100 MB)"
    )
    if prefix := os.environ.get(memtrace.ENV):
        print("(tracemalloc was on: these figures include its cost)")
        memtrace.report(f"{prefix}.1.snapshot", f"{prefix}.2.snapshot")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--categories", type=int, default=30)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument(
        "--gap",
        type=float,
        default=0.05,
        help="seconds between requests (default 0.05: 20/s, inside the 30/s the bot keeps to)",
    )
    parser.add_argument(
        "--keep-database",
        type=Path,
        help="an SQLite file to load once and reuse in later runs (default: a fresh one)",
    )
    args = parser.parse_args()
    asyncio.run(run(args.items, args.categories, args.requests, args.gap, args.keep_database))


if __name__ == "__main__":
    main()
