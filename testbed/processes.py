"""Real `coopbot run` processes for tests and benchmarks: spawn one against an emulator,
seed what it should send, wait until it is sent, stop or kill it; and the work only the
leader of several processes may do (a due scheduled item, a feed never read)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import utcnow
from bot.db.engine import create_engine, create_session_factory
from bot.db.models import Delivery, Feed
from bot.lifecycle import prepare_database
from bot.services.news import NewsService
from bot.services.scheduling import SchedulingService
from bot.services.validation import ItemDraft
from emulator import BotApiEmulator
from testbed.cli_runner import child_env
from testbed.delivery_kit import add_subscribers, publish
from testbed.harness import TOKEN
from testbed.harness import test_settings as settings_for

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 8


async def spawn_bot(
    database_url: str,
    emu: BotApiEmulator,
    log: Path | None = None,
    *,
    tree: Path = ROOT,
    **env: str,
) -> asyncio.subprocess.Process:
    """A `coopbot run` process; its log goes to `log` (a file: a pipe nobody reads would
    fill up and stall it), else to a pipe for `communicate()`. `tree`: the checkout whose
    code runs (a bench's baseline: another commit's worktree)."""
    with contextlib.ExitStack() as files:  # the child keeps its own copy of the file
        stderr = asyncio.subprocess.PIPE if log is None else files.enter_context(log.open("ab"))
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=child_env(
                {
                    "BOT_TOKEN": TOKEN,
                    "TELEGRAM_API_URL": emu.base_url,
                    "DATABASE_URL": database_url,
                    "DELIVERY_POLL_SECONDS": "0.3",
                    "DELIVERY_RATE_LIMITS": "off",
                    "DELIVERY_CONCURRENCY": str(CONCURRENCY),
                    "LOG_LEVEL": "WARNING",
                    "PYTHONPATH": str(tree),
                    **env,
                }
            ),
            cwd=str(tree),  # `python -m` looks in its working directory first
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )


async def seed(database_url: str, emu: BotApiEmulator, chats: list[int]) -> int:
    """Subscribers and one queued item, written the way another process would."""
    await prepare_database(settings_for(database_url, emu.base_url))
    engine = create_engine(database_url)
    try:
        sessions = create_session_factory(engine)
        await add_subscribers(sessions, chats)
        item = await publish(_services(NewsService(sessions)))
    finally:
        await engine.dispose()
    for chat_id in chats:
        emu.register_chat(chat_id)
    return item.id


class _services:  # the two attributes `publish` needs
    def __init__(self, news: NewsService) -> None:
        self.news = news


async def committed_sent(database_url: str, item_id: int) -> set[int]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(Delivery.chat_id).where(
                    Delivery.item_id == item_id, Delivery.status == "sent"
                )
            )
            return {r[0] for r in rows}
    finally:
        await engine.dispose()


async def wait_all_sent(database_url: str, item_id: int, total: int) -> None:
    async with asyncio.timeout(60):
        while len(await committed_sent(database_url, item_id)) < total:  # noqa: ASYNC110
            await asyncio.sleep(0.1)


async def kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGKILL)
    await process.wait()


async def stop(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 15)
    except TimeoutError:
        await kill(process)


# -- one leader for the jobs -------------------------------------------------------------

READER = 7_000_001
SCHEDULER = 1_001  # the admin who scheduled the items: told when each is out, and how it went


def received(emu: BotApiEmulator, title: str) -> int:
    return sum(1 for m in emu.messages(READER) if m.text.startswith(title + "\n"))


async def add_feed(sessions: async_sessionmaker[AsyncSession], url: str) -> None:
    async with sessions.begin() as session:  # due at once: no next poll time yet
        session.add(Feed(url=url, title=url.rsplit("/", 1)[-1]))


async def schedule_due(scheduling: SchedulingService, title: str) -> None:
    """A scheduled item whose time has just come, as an admin's /add would leave it."""
    draft = ItemDraft("News", title, f"https://coop.example/{title.lower()}", None)
    when = utcnow() - timedelta(seconds=1)
    await scheduling.schedule(draft, when, actor_id=SCHEDULER, chat_id=SCHEDULER)
