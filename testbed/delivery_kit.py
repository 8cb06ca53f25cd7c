"""Helpers shared by the delivery tests and benchmarks: a bot on the emulator with chosen
delivery options, bulk subscribers, and publishing without going through a chat."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Iterable, Sequence

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import Services
from bot.db.base import utcnow
from bot.db.models import Chat, Subscription
from bot.delivery import DeliveryEngine, DeliveryOptions
from bot.services.validation import ItemDraft
from bot.services.views import ItemView
from emulator import BotApiEmulator
from testbed.harness import Harness, bot_harness

# limits off and short timeouts: what most delivery tests want (one test turns limits on)
FAST = DeliveryOptions(
    rate_limits=False,
    concurrency=32,
    send_timeout=0.5,
    backoff_seconds=0.05,
    max_attempts=5,
    lease_seconds=60.0,
)
_titles = itertools.count(1)


@contextlib.asynccontextmanager
async def delivery_harness(
    database_url: str, options: DeliveryOptions = FAST, **overrides: object
) -> AsyncIterator[Harness]:
    """The test harness with these delivery options and a quick poll for other processes."""
    overrides.setdefault("delivery_poll_seconds", 0.2)
    async with bot_harness(database_url, delivery=options, **overrides) as harness:
        yield harness


@contextlib.asynccontextmanager
async def harness_with_categories(
    database_url: str, categories: Sequence[str] = ("News", "Decent work", "Decent housing")
) -> AsyncIterator[Harness]:
    """`delivery_harness` with one item published (and delivered) in each category."""
    async with delivery_harness(database_url) as harness:
        for category in categories:
            await publish(harness, category)
        await drain(harness)
        yield harness


def services(harness: Harness) -> Services:
    return harness.application.bot_data["services"]


def engine(harness: Harness) -> DeliveryEngine:
    delivery = services(harness).delivery
    assert delivery is not None
    return delivery


def sessions(harness: Harness) -> async_sessionmaker[AsyncSession]:
    return services(harness).subscriptions._sessions


async def publish(harness_or_services: Harness | Services, category: str = "News") -> ItemView:
    found = (
        services(harness_or_services)
        if isinstance(harness_or_services, Harness)
        else harness_or_services
    )
    n = next(_titles)
    published = await found.news.publish(
        ItemDraft(category, f"Item {n} <&> co-ops", f"https://example.org/{n}", "Summary."),
        source="test",
    )
    return published.item


async def add_subscribers(
    session_factory: async_sessionmaker[AsyncSession],
    chat_ids: Iterable[int],
    category_id: int | None = None,
    *,
    chat_type: str = "private",
    batch: int = 5_000,
    languages: Sequence[str] = ("en",),
) -> int:
    """Chats that follow `category_id` (None: everything), written in bulk. Their interface
    languages are `languages` in turn: the n-th chat id gets `languages[n % len(languages)]`."""
    ids = list(chat_ids)
    now = utcnow()
    for start in range(0, len(ids), batch):
        part = ids[start : start + batch]
        async with session_factory.begin() as session:
            await session.execute(
                insert(Chat),
                [
                    {
                        "id": i,
                        "type": chat_type,
                        "active": True,
                        "language": languages[(start + n) % len(languages)],
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n, i in enumerate(part)
                ],
            )
            await session.execute(
                insert(Subscription),
                [{"chat_id": i, "category_id": category_id, "created_at": now} for i in part],
            )
    return len(ids)


def register_chats(
    emu: BotApiEmulator, chat_ids: Iterable[int], chat_type: str = "private"
) -> None:
    for chat_id in chat_ids:
        emu.register_chat(chat_id, chat_type, None if chat_type == "private" else f"Chat {chat_id}")


async def drain(harness: Harness, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    """Wait until no broadcast is queued or pending, every runner has recorded what it sent,
    and the bot has stopped calling the API.

    Not the backlog alone: a push in flight when its item was deleted is no longer pending,
    and only once its outcome is recorded does its correction (deleting it) exist."""
    delivery = engine(harness)
    store = delivery.store.deliveries
    async with asyncio.timeout(timeout):
        while True:
            if await store.backlog():
                await asyncio.sleep(0.02)  # rows in the database: no event to wait on
                continue
            if delivery.is_leader:
                # pushes first: recording a push can arm a correction
                for runner in delivery.runners:
                    await runner.settled()
            if not await store.backlog():
                break
    await harness.emu.wait_idle(quiet=0.05, timeout=timeout)
