"""`python -m bench.digests memory`: the bot's memory over a digest run of many chats.

The chats are seeded (by bench.digests) with their digests not yet due; the bot starts as a
process of its own against an emulator in this process, with Telegram's limits off; once it
polls, the digests are made due, and the bot's own job creates and sends them all. The bot's
RSS is read from /proc after start-up, every second of the run, after it, and its peak.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from bench import memtrace
from bench.delivery import table
from bench.emulator_process import LeanEmulator
from bot.db.engine import create_engine
from bot.db.models import Chat, Digest
from bot.db.models.digests import DIGEST_EMPTY, DIGEST_SENT
from testbed.harness import BOT_USERNAME, TOKEN

ROOT = Path(__file__).resolve().parent.parent
STALL_SECONDS = 120.0


def _log_text(log: Path) -> str:
    return log.read_text()


async def _snapshot(process: asyncio.subprocess.Process, log: Path, taken: int) -> None:
    """With COOPBOT_TRACEMALLOC set, the bot writes a tracemalloc snapshot (bench.memtrace)."""
    if not os.environ.get(memtrace.ENV):
        return
    process.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 300
    while _log_text(log).count("memtrace: wrote") < taken:
        if time.monotonic() > deadline:
            raise TimeoutError("no tracemalloc snapshot from the bot")
        await asyncio.sleep(0.2)


async def run_memory(url: str, chats: int, items: int, since: datetime) -> None:
    engine = create_engine(url)
    async with engine.begin() as connection:  # not due before the bot has started
        await connection.execute(update(Chat).values(digest_since=since + timedelta(days=9)))
    emu = LeanEmulator(token=TOKEN, bot_username=BOT_USERNAME)
    emu.record_calls = False
    emu.enforce_limits = False
    log = Path(tempfile.mkstemp(prefix="coopbot-digest-memory-", suffix=".log")[1])
    async with emu:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": emu.base_url,
            "DATABASE_URL": url,
            "LOG_LEVEL": "WARNING",
            "ADMIN_IDS": "",
            "DELIVERY_RATE_LIMITS": "off",
        }
        errors = os.open(log, os.O_WRONLY)
        try:
            bot = await asyncio.create_subprocess_exec(
                sys.executable,
                *memtrace.command("bot", "run"),
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=errors,
            )
        finally:
            os.close(errors)
        try:
            ready_by = time.monotonic() + (300 if os.environ.get(memtrace.ENV) else 60)
            while emu.stats.per_method.get("getUpdates", 0) == 0:
                if bot.returncode is not None or time.monotonic() > ready_by:
                    raise SystemExit(f"the bot did not start:\n{_log_text(log)}")
                await asyncio.sleep(0.1)
            await asyncio.sleep(2.0)  # its start-up jobs (the digest catch-up finds nothing)
            started, _ = memtrace.rss_mb(bot.pid)
            await _snapshot(bot, log, 1)
            async with engine.begin() as connection:  # every digest due: the job takes them
                await connection.execute(update(Chat).values(digest_since=since))
            first = time.monotonic()
            samples: list[float] = []
            done, last, last_change = 0, -1, first
            while done < chats:
                await asyncio.sleep(1.0)
                samples.append(memtrace.rss_mb(bot.pid)[0])
                async with engine.connect() as connection:
                    done = await connection.scalar(
                        select(func.count())
                        .select_from(Digest)
                        .where(Digest.status.in_((DIGEST_SENT, DIGEST_EMPTY)))
                    )
                if done != last:
                    last, last_change = done, time.monotonic()
                if time.monotonic() - last_change > STALL_SECONDS or bot.returncode is not None:
                    raise SystemExit(f"stalled at {done:,} of {chats:,}:\n{_log_text(log)}")
            seconds = time.monotonic() - first
            await asyncio.sleep(2.0)  # the last outcomes recorded, the sender idle again
            after, peak = memtrace.rss_mb(bot.pid)
            await _snapshot(bot, log, 2)
        finally:
            if bot.returncode is None:
                bot.terminate()
                try:
                    await asyncio.wait_for(bot.wait(), 30)
                except TimeoutError:
                    bot.kill()
        sent = emu.stats.per_method.get("sendMessage", 0)
    await engine.dispose()
    kind = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    table(
        f"Digest run, the bot's memory: {chats:,} chats, {items} items each, limits off, {kind}",
        [
            ("digests done (sent or empty)", f"{done:,} in {seconds:.0f} s"),
            ("messages the emulator received", f"{sent:,}"),
            ("bot RSS after start-up", f"{started:.0f} MB"),
            ("bot RSS, highest 1 s sample in the run", f"{max(samples):.0f} MB"),
            ("bot RSS after the run", f"{after:.0f} MB"),
            ("bot peak RSS (VmHWM)", f"{peak:.0f} MB (goal: < 150 MB)"),
        ],
    )
    if prefix := os.environ.get(memtrace.ENV):
        print("(tracemalloc was on: these figures include its cost)")
        memtrace.report(f"{prefix}.1.snapshot", f"{prefix}.2.snapshot")
    os.unlink(log)
