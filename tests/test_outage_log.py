"""A database outage is logged by one rule, whichever kind of send meets it: one traceback
for the run of failures in this process, then one line for each failure, and one line when
the database answers again (bot.delivery.runner.OutageLog).

The outage is real: once the sender leads, the folder of its SQLite file is moved away and
its pool closed, so every claim of every kind fails to open the file; moving the folder back
ends it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bot.db.engine import create_engine, create_session_factory
from bot.db.migrate import upgrade
from bot.delivery import AiohttpRequest, BroadcastBot, DeliveryEngine, DeliveryStore
from bot.delivery.budget import Budget
from bot.delivery.leader import Leadership
from emulator import BotApiEmulator
from testbed.delivery_kit import FAST
from testbed.harness import TOKEN, until

KINDS = ("pushes", "corrections", "digests")
FAILURES_EACH = 3  # claims that fail, for each kind, before the database comes back
SETTLE = 30.0  # bounds against a hang only


@dataclass(frozen=True)
class _Seen:
    """A log record as it was emitted (a handler further up, such as the bot's token
    redaction, may rewrite the record itself afterwards)."""

    levelno: int
    message: str
    traceback: bool


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[_Seen] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(_Seen(record.levelno, record.getMessage(), bool(record.exc_info)))

    def failing(self, kind: str) -> int:
        return sum(1 for r in self.records if r.message.startswith(f"delivery: {kind}: "))


async def _nothing(*_args: object) -> None:
    return None


async def _no_pages(*_args: object) -> list[str]:
    return []


async def test_a_database_outage_is_logged_once_whatever_kind_meets_it(tmp_path: Path) -> None:
    folder, away = tmp_path / "data", tmp_path / "away"
    folder.mkdir()
    database = create_engine(f"sqlite+aiosqlite:///{folder / 'bot.db'}")
    await upgrade(database)
    records = _Records()
    logger = logging.getLogger("bot.delivery")
    logger.addHandler(records)
    previous_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        async with BotApiEmulator(token=TOKEN) as emu:
            sender = DeliveryEngine(
                store=DeliveryStore(create_session_factory(database)),
                render=_nothing,
                compose=_no_pages,
                bot=BroadcastBot(TOKEN, base_url=emu.base_url, request=AiohttpRequest()),
                budget=Budget(FAST),
                leadership=Leadership(),  # SQLite: this process always leads
                options=FAST,
                poll_seconds=0.05,
            )
            await sender.start()
            try:
                await until(_leading(sender), "the sender leads", SETTLE)
                for runner in sender.runners:  # each kind has claimed once, and found nothing
                    await runner.settled()
                assert sender.outages.failures == 0  # (the outage below is the first)
                records.records.clear()
                folder.rename(away)  # the database goes away
                await database.dispose()
                await until(
                    _each_kind_failed(records),
                    f"{FAILURES_EACH} failed claims of each kind",
                    SETTLE,
                )
                during = list(records.records)
                away.rename(folder)  # the database comes back
                await until(_answered(sender), "the sender's claims work again", SETTLE)
            finally:
                await sender.stop()
                await sender.release()
    finally:
        logger.removeHandler(records)
        logger.setLevel(previous_level)
        await database.dispose()

    # one traceback per run of failures: the first, and one after each time it answered
    # again in between (a claim that was under way when the folder moved may still succeed)
    runs = 1 + sum(1 for r in during if "answers again" in r.message)
    tracebacks = [r for r in during if r.traceback]
    assert len(tracebacks) == runs, [r.message for r in tracebacks]
    assert all(r.levelno == logging.ERROR for r in tracebacks)
    failures = [r for r in during if r.levelno >= logging.WARNING]
    lines = [r for r in failures if not r.traceback]
    assert len(lines) >= FAILURES_EACH * len(KINDS) - runs
    # every other failure: one line, no traceback
    assert all("failed again" in r.message for r in lines), [r.message for r in lines]
    for kind in KINDS:  # each kind of send met the outage, under the same rule
        assert any(r.message.startswith(f"delivery: {kind}: ") for r in during), kind
    back = [r for r in records.records if "answers again" in r.message]
    assert back and back[0].levelno == logging.INFO


def _each_kind_failed(records: _Records) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return all(records.failing(kind) >= FAILURES_EACH for kind in KINDS)

    return check


def _leading(sender: DeliveryEngine) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return sender.is_leader

    return check


def _answered(sender: DeliveryEngine) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return sender.outages.failures == 0

    return check
