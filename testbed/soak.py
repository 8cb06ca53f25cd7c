"""Soak test of stopping: start `coopbot run`, give it traffic, SIGTERM it; again and again.

Each cycle starts the bot as a process of its own against the Bot API emulator (which runs
here, in the driver), waits until it answers a /latest, sends a few user messages, has an
admin publish an item to the subscribers (so the sender is busy), then sends SIGTERM while
that item is still going out. Measured per cycle: time from SIGTERM to exit, exit code, a
hang (no exit within 10 s: killed and counted), and on PostgreSQL the process's database
connections: those still in `pg_stat_activity` after it exited, and those it did not close
itself (`pg_stat_database.sessions_abandoned`: the server saw the socket drop without a
goodbye, which is what a process exiting with connections open looks like). After the last
cycle one more run sends what is left, and every subscriber must have each item exactly once.

Run by bench/soak.py (many cycles) and tests/test_cli.py (two, on SQLite).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import make_url, text

from bot.config import Settings, normalize_database_url
from bot.db.engine import create_engine, create_session_factory
from bot.delivery import DeliveryStore
from bot.lifecycle import prepare_database
from emulator import BotApiEmulator
from testbed.cli_runner import child_env
from testbed.databases import scratch_postgres
from testbed.delivery_kit import add_subscribers
from testbed.harness import ADMIN_ID, BOT_USERNAME, TOKEN

ROOT = Path(__file__).resolve().parent.parent
HANG_SECONDS = 10.0  # an exit slower than this is a hang
START_SECONDS = 60.0  # a start slower than this fails the cycle
READER = 7_000_001
FIRST_SUBSCRIBER = 7_100_000
_ITEM = re.compile(r"Soak item (\d+)\b")


@dataclass
class Cycle:
    started: float = 0.0  # seconds from spawn to the first answer
    exit_seconds: float | None = None  # None: hung
    exit_code: int | None = None
    open_after_exit: int = 0  # connections of its database still listed after exit
    abandoned: int = 0  # sessions the server saw dropped without a goodbye
    sessions: int = 0  # sessions the process opened
    sent_before_stop: int = 0  # messages of this cycle's item out when SIGTERM went
    log_problems: list[str] = field(default_factory=list)  # ERROR lines, tracebacks
    failure: str | None = None  # the cycle could not do its traffic


class Postgres:
    """Connection figures of one database, read through the server's maintenance database."""

    def __init__(self, server_url: str, database_url: str) -> None:
        self._engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
        self._name = make_url(normalize_database_url(database_url)).database

    async def open_connections(self) -> int:
        async with self._engine.connect() as connection:
            return int(
                await connection.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE datname = :name"),
                    {"name": self._name},
                )
            )

    async def sessions(self) -> tuple[int, int]:
        """(sessions ever opened, of which abandoned) for the database."""
        async with self._engine.connect() as connection:
            await connection.execute(text("SELECT pg_stat_clear_snapshot()"))
            row = (
                await connection.execute(
                    text(
                        "SELECT sessions, sessions_abandoned FROM pg_stat_database "
                        "WHERE datname = :name"
                    ),
                    {"name": self._name},
                )
            ).one()
            return int(row[0]), int(row[1])

    async def close(self) -> None:
        await self._engine.dispose()


class Soak:
    def __init__(
        self,
        emu: BotApiEmulator,
        database_url: str,
        subscribers: int,
        hang_seconds: float = HANG_SECONDS,
    ) -> None:
        self.emu = emu
        self.hang_seconds = hang_seconds
        self.database_url = database_url
        self.subscribers = list(range(FIRST_SUBSCRIBER, FIRST_SUBSCRIBER + subscribers))
        self.items = 0

    async def seed(self) -> None:
        settings = Settings(database_url=self.database_url, telegram_api_url=self.emu.base_url)
        await prepare_database(settings)
        engine = create_engine(self.database_url)
        try:
            await add_subscribers(create_session_factory(engine), self.subscribers)
        finally:
            await engine.dispose()
        for chat_id in self.subscribers:
            self.emu.register_chat(chat_id)

    async def spawn(self, log_file: Path) -> asyncio.subprocess.Process:
        with log_file.open("wb") as log:
            return await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                env=child_env(
                    {
                        "BOT_TOKEN": TOKEN,
                        "TELEGRAM_API_URL": self.emu.base_url,
                        "DATABASE_URL": self.database_url,
                        "ADMIN_IDS": str(ADMIN_ID),
                        "DELIVERY_POLL_SECONDS": "0.5",
                        "LOG_LEVEL": "WARNING",
                    }
                ),
                cwd=str(log_file.parent),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )

    async def ask(self, user_id: int, line: str, timeout: float = 15.0) -> None:  # noqa: ASYNC109
        before = len(self.emu.messages(user_id))
        self.emu.send_message(line, user_id=user_id, first_name="Soak")
        await self.emu.wait_for(lambda: len(self.emu.messages(user_id)) > before, timeout, line)

    def item_messages(self, n: int) -> int:
        return sum(
            1
            for chat in self.subscribers
            for m in self.emu.messages(chat)
            if (found := _ITEM.search(m.text)) and int(found.group(1)) == n
        )

    async def cycle(self, work: Path, pg: Postgres | None) -> Cycle:
        result = Cycle()
        log_file = work / "bot.log"
        opened_before = await pg.sessions() if pg else (0, 0)
        spawned = time.monotonic()
        process = await self.spawn(log_file)
        try:
            await self.ask(READER, "/latest 3", START_SECONDS)  # serving
            result.started = time.monotonic() - spawned
            for line in ("/start", "/help", "/category", "/subscriptions"):
                await self.ask(READER, line)
            self.items += 1
            n = self.items
            await self.ask(ADMIN_ID, f"/add News | Soak item {n} | https://soak.example/{n}")
            # stop while the item is going out (30 a second within Telegram's limits)
            wanted = min(10, len(self.subscribers))
            await self.emu.wait_for(lambda: self.item_messages(n) >= wanted, 30, "sending")
            result.sent_before_stop = self.item_messages(n)
        except TimeoutError as exc:
            result.failure = str(exc)
        finally:
            stopped = time.monotonic()
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), self.hang_seconds)
                result.exit_seconds = time.monotonic() - stopped
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
            result.exit_code = process.returncode
        if pg:
            result.open_after_exit = await pg.open_connections()
            for _attempt in range(50):  # a backend ends a moment after its client
                if await pg.open_connections() == 0:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.2)  # and then counts its session
            opened, abandoned = await pg.sessions()
            result.sessions = opened - opened_before[0]
            result.abandoned = abandoned - opened_before[1]
        log = log_file.read_text(errors="replace")
        result.log_problems = [
            line for line in log.splitlines() if " ERROR " in line or "Traceback" in line
        ]
        if TOKEN in log:
            result.log_problems.append("the token appears in the log")
        return result

    async def drain(self, work: Path) -> None:
        """One more run that sends what the SIGTERMs left pending, then stops."""
        process = await self.spawn(work / "drain.log")
        engine = create_engine(self.database_url)
        try:
            store = DeliveryStore(create_session_factory(engine))
            deadline = time.monotonic() + 600
            while await store.deliveries.backlog() and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.5)
            await self.emu.wait_idle(quiet=1.0, timeout=60)
        finally:
            await engine.dispose()
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            await process.wait()

    def copies(self) -> Counter[int]:
        """How many chats got an item how many times: {copies: (chat, item) pairs}."""
        per_pair: Counter[tuple[int, int]] = Counter()
        for chat in self.subscribers:
            for message in self.emu.messages(chat):
                if found := _ITEM.search(message.text):
                    per_pair[(chat, int(found.group(1)))] += 1
        spread: Counter[int] = Counter(per_pair.values())
        spread[0] = len(self.subscribers) * self.items - len(per_pair)
        return spread


@contextlib.asynccontextmanager
async def _database(server: str | None, folder: Path) -> AsyncIterator[str]:
    if server is None:
        yield f"sqlite+aiosqlite:///{folder / 'soak.db'}"
        return
    async with scratch_postgres(server, "coopbot_soak") as url:
        yield url


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def soak(
    cycles: int,
    subscribers: int,
    server: str | None,
    hang_seconds: float = HANG_SECONDS,
) -> dict[str, object]:
    """Run the soak on PostgreSQL (a scratch database on `server`) or on SQLite (`server`
    None); returns the figures (also printed, one line per cycle, as it goes)."""
    results: list[Cycle] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        async with (
            BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME) as emu,
            _database(server, work) as url,
        ):
            soak = Soak(emu, url, subscribers, hang_seconds)
            await soak.seed()
            pg = None if server is None else Postgres(server, url)
            try:
                for number in range(1, cycles + 1):
                    result = await soak.cycle(work, pg)
                    results.append(result)
                    exit_text = (
                        "HUNG" if result.exit_seconds is None else f"{result.exit_seconds:.2f}s"
                    )
                    print(
                        f"cycle {number:>3}: up {result.started:.1f}s, "
                        f"{result.sent_before_stop} sent, exit {exit_text} "
                        f"code {result.exit_code}, open after {result.open_after_exit}, "
                        f"sessions {result.sessions} (abandoned {result.abandoned})"
                        + (f", log: {result.log_problems[:2]}" if result.log_problems else "")
                        + (f", FAILED: {result.failure}" if result.failure else ""),
                        flush=True,
                    )
                await soak.drain(work)
                copies = soak.copies()
            finally:
                if pg:
                    await pg.close()
    exits = [r.exit_seconds for r in results if r.exit_seconds is not None]
    figures: dict[str, object] = {
        "cycles": len(results),
        "clean exits": sum(
            1
            for r in results
            if r.exit_code == 0
            and r.exit_seconds is not None
            and not r.log_problems
            and not r.failure
        ),
        "cycles whose traffic failed": sum(1 for r in results if r.failure),
        "hangs": sum(1 for r in results if r.exit_seconds is None),
        "exit codes": dict(Counter(r.exit_code for r in results)),
        "exit s min/median/p95/max": (
            f"{min(exits):.2f} / {statistics.median(exits):.2f} / "
            f"{_pct(exits, 0.95):.2f} / {max(exits):.2f}"
            if exits
            else "-"
        ),
        "start s median/max": (
            f"{statistics.median(r.started for r in results):.2f} / "
            f"{max(r.started for r in results):.2f}"
        ),
        "cycles with ERROR or traceback in the log": sum(1 for r in results if r.log_problems),
        "item copies per subscriber (copies: pairs)": dict(sorted(copies.items())),
    }
    if server is not None:
        figures["connections open after exit"] = sum(r.open_after_exit for r in results)
        figures["sessions opened / abandoned (leaked)"] = (
            f"{sum(r.sessions for r in results)} / {sum(r.abandoned for r in results)}"
        )
    width = max(len(k) for k in figures)
    store = "SQLite" if server is None else "PostgreSQL"
    print(f"\nSoak: {len(results)} start → traffic → SIGTERM cycles of `coopbot run` on {store}")
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    return figures


def passed(figures: dict[str, object]) -> bool:
    """No hang, every exit clean, every item once to every subscriber, nothing leaked."""
    copies = figures["item copies per subscriber (copies: pairs)"]
    ok = figures["hangs"] == 0 and figures["clean exits"] == figures["cycles"]
    ok = ok and set(copies) <= {0, 1} and copies.get(0) == 0  # type: ignore[union-attr]
    if "connections open after exit" in figures:
        ok = ok and figures["connections open after exit"] == 0
        ok = ok and str(figures["sessions opened / abandoned (leaked)"]).endswith(" 0")
    return ok
