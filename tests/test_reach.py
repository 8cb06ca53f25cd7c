"""Reach: the roll-ups kept as deliveries settle, tracked links, reactions, subscribers joining
and leaving; through the running bot on the emulator, on every store under test."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import aiohttp
from aiohttp import web
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import and_, func, or_, select, text

from bot.db.base import utcnow
from bot.db.engine import create_engine
from bot.db.migrate import _alembic_config
from bot.db.models import Base, Delivery, ItemReach, ReachDay
from bot.db.models.delivery import CANCELLED, FAILED, NOT_BLOCKED, PENDING, SENT
from bot.delivery.store.chats import ChatRepository
from bot.delivery.store.fanout import FanoutStore
from bot.lifecycle import prepare_database
from bot.reach_routes import redirect_routes
from bot.services.corrections import CorrectionsService
from bot.services.news import NewsService
from bot.services.reach import ItemReachView, ReachService
from bot.services.retention import forget_deliveries
from bot.services.validation import ItemDraft
from bot.services.views import ItemView
from testbed.delivery_kit import (
    FAST,
    add_subscribers,
    delivery_harness,
    drain,
    publish,
    register_chats,
    services,
    sessions,
)
from testbed.harness import Harness, until
from testbed.harness import test_settings as settings_for

WEB = "http://127.0.0.1:9"  # never asked: the redirect is served by the test's own server
CHATS = list(range(910_001, 910_007))
HREF = re.compile(r'href="([^"]+)"')


async def from_deliveries(harness: Harness, item_id: int) -> ItemReachView:
    """What the deliveries table says of an item, by the rule reports use."""
    blocked = and_(
        Delivery.status == CANCELLED,
        or_(Delivery.last_error.is_(None), Delivery.last_error.not_in(NOT_BLOCKED)),
    )
    async with sessions(harness)() as session:
        row = (
            await session.execute(
                select(
                    func.count().filter(Delivery.status == SENT),
                    func.count().filter(Delivery.status == PENDING),
                    func.count().filter(Delivery.status == FAILED),
                    func.count().filter(blocked),
                ).where(Delivery.item_id == item_id)
            )
        ).one()
    return ItemReachView(item_id, sent=row[0], pending=row[1], failed=row[2], blocked=row[3])


def figures(view: ItemReachView) -> tuple[int, int, int, int]:
    return view.sent, view.pending, view.failed, view.blocked


async def settled(harness: Harness, item_id: int) -> ItemReachView:
    """Wait until the roll-ups and the deliveries table agree, with nothing pending."""
    reach = services(harness).reach

    async def agree() -> ItemReachView | None:
        mine = await reach.item(item_id)
        theirs = await from_deliveries(harness, item_id)
        return mine if figures(mine) == figures(theirs) and not mine.pending else None

    found = await until(agree, "the roll-ups to match the deliveries", 30)
    assert isinstance(found, ItemReachView)
    return found


@contextlib.asynccontextmanager
async def redirect_server(reach: ReachService) -> AsyncIterator[str]:
    app = web.Application()
    app.add_routes(redirect_routes(reach))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_roll_ups_follow_every_outcome_and_survive_retention(database_url: str) -> None:
    # a send may take its time: the slow chat's push is in flight, not timed out
    async with delivery_harness(database_url, replace(FAST, send_timeout=10.0)) as harness:
        await add_subscribers(sessions(harness), CHATS)
        register_chats(harness.emu, CHATS)
        blocked, failing, slow = CHATS[0], CHATS[1], CHATS[2]
        harness.emu.faults.block(blocked)
        harness.emu.faults.server_error(failing)  # every try: failed after the last attempt
        harness.emu.faults.latency(2.0, slow)  # still in flight while the others settle
        item = await publish(harness)
        reach = services(harness).reach

        async def in_flight() -> bool:
            theirs = await from_deliveries(harness, item.id)
            return theirs.sent == len(CHATS) - 3 and theirs.failed == 1 and theirs.pending == 1

        await until(in_flight, "all but the slow chat to settle", 30)
        assert figures(await reach.item(item.id)) == figures(
            await from_deliveries(harness, item.id)
        )
        assert (await reach.waiting()).pushes == 1

        await drain(harness)
        final = await settled(harness, item.id)
        assert figures(final) == (len(CHATS) - 2, 0, 1, 1)
        today = (await reach.daily(1))[0]
        assert (today.sent, today.failed, today.blocked) == (len(CHATS) - 2, 1, 1)
        assert (await reach.waiting()).pushes == 0

        # retention folds the rows away; the roll-ups hold no chat and stay as they were
        retention = services(harness).retention
        later = utcnow() + retention.keep + timedelta(days=1)
        assert (await retention.purge(later)).deliveries == len(CHATS)
        assert await reach.item(item.id) == final
        assert (await reach.daily(1))[0] == today


async def test_cancelled_and_forgotten_pushes_are_pending_no_more(sessions, news) -> None:
    """No sender runs here: the fan-out makes pending pushes, which an item's deletion, a
    chat that is gone and a chat forgotten take back, each by its own rule."""
    await add_subscribers(sessions, CHATS)
    withdrawn, kept = await publish_plain(news), await publish_plain(news)
    await FanoutStore(sessions).expand()
    reach = ReachService(sessions, key=b"k")
    assert [figures(await reach.item(i.id)) for i in (withdrawn, kept)] == [(0, 6, 0, 0)] * 2
    assert (await reach.waiting()).pushes == 12

    await CorrectionsService(sessions, news).delete(1, withdrawn.id)
    assert figures(await reach.item(withdrawn.id)) == (0, 0, 0, 0)  # deleted: not blocked
    await ChatRepository(sessions).deactivate(CHATS[0], "Forbidden: bot was blocked by the user")
    assert figures(await reach.item(kept.id)) == (0, 5, 0, 1)
    async with sessions.begin() as session:
        await forget_deliveries(session, CHATS[1])
    assert figures(await reach.item(kept.id)) == (0, 4, 0, 1)
    day = (await reach.daily(1))[0]
    assert (day.blocked, day.left) == (1, 1)  # the chat gone was a subscriber
    assert (await reach.waiting()).pushes == 4


async def publish_plain(news: NewsService) -> ItemView:
    return (
        await news.publish(
            ItemDraft("News", f"Item {utcnow().timestamp()}", None, "Summary."), source="test"
        )
    ).item


async def test_tracked_links_count_opens_and_redirect_only_to_the_item(database_url: str) -> None:
    async with delivery_harness(database_url, web_url=WEB, click_tracking=True) as harness:
        reader = harness.private()
        await reader.send("/subscribe all")
        item = await publish(harness)
        await drain(harness)
        pushed = harness.emu.messages(reader.chat_id)[-1]
        link = HREF.findall(pushed.html or "")[0]
        assert link.startswith(f"{WEB}/r/"), pushed.html
        code = link.rsplit("/", 1)[1]
        reach = services(harness).reach
        assert code == reach.link_code(item.id)
        # reading commands keep the item's own link
        latest = await reader.send("/latest 1")
        assert item.url in (latest[-1].html or "") and "/r/" not in (latest[-1].html or "")

        async with redirect_server(reach) as base, aiohttp.ClientSession() as http:

            async def get(path: str, agent: str = "Mozilla/5.0") -> aiohttp.ClientResponse:
                async with http.get(
                    base + path, allow_redirects=False, headers={"User-Agent": agent}
                ) as answer:
                    return answer

            first = await get(f"/r/{code}")
            assert (first.status, first.headers["Location"]) == (302, item.url)
            await get(f"/r/{code}")
            preview = await get(f"/r/{code}", "TelegramBot (like TwitterBot)")
            assert (preview.status, preview.headers["Location"]) == (302, item.url)
            forged = code[:-1] + ("a" if code[-1] != "a" else "b")
            other = reach.link_code(item.id + 1)[:-10] + code[-10:]  # another id, this MAC
            for bad in (forged, other, "zz", code + "x", "../healthz"):
                assert (await get(f"/r/{bad}")).status == 404, bad
            assert (await get(f"/r/{code}?next=https://evil.example")).headers[
                "Location"
            ] == item.url

        await reach.flush_opens()  # (written within a second anyway, in batches)
        assert (await reach.item(item.id)).opens == 3  # the preview fetcher's not counted
        assert (await reach.daily(1))[0].opens == 3
        top = await reach.top_by_opens(30, 5)
        assert [(t.item_id, t.opens) for t in top] == [(item.id, 3)]


async def test_reactions_are_counted_per_item(database_url: str) -> None:
    channel = -100_777_000_001
    async with delivery_harness(database_url) as harness:
        reader = harness.private()
        await reader.send("/subscribe all")
        await add_subscribers(sessions(harness), [channel], chat_type="channel")
        register_chats(harness.emu, [channel], "channel")
        item = await publish(harness)
        await drain(harness)
        reach = services(harness).reach
        emu = harness.emu
        mine = emu.messages(reader.chat_id)[-1].message_id

        async def react(chat_id: int, message_id: int, emoji: list[str], user: int) -> int:
            emu.react(chat_id, message_id, emoji, user_id=user)
            await harness.settle()
            return (await reach.item(item.id)).reactions

        assert await react(reader.chat_id, mine, ["👍"], reader.user_id) == 1
        assert await react(reader.chat_id, mine, ["❤"], reader.user_id) == 1  # changed
        assert await react(reader.chat_id, mine, ["❤", "🔥"], reader.user_id) == 2
        assert await react(reader.chat_id, mine, [], reader.user_id) == 0  # removed
        posted = emu.messages(channel)[-1].message_id
        assert await react(channel, posted, ["👍"], 5001) == 1  # channels: totals
        assert await react(channel, posted, ["🔥"], 5002) == 2
        emu.react_count(channel, posted, {"👍": 7, "🔥": 3})
        await harness.settle()
        assert (await reach.item(item.id)).reactions == 10
        # a reaction to a message that showed no item (a reply) changes nothing
        reply = (await reader.send("/start"))[-1]
        assert await react(reader.chat_id, reply.message_id, ["👍"], reader.user_id) == 10


async def test_subscribers_joining_and_leaving_by_day(database_url: str) -> None:
    async with delivery_harness(database_url) as harness:
        reach = services(harness).reach
        first, second = harness.private(), harness.private()
        await first.send("/subscribe all")
        await second.send("/subscribe all")
        await first.send("/subscribe all")  # already: no second join
        day = (await reach.daily(1))[0]
        assert (day.joined, day.left, day.subscribers) == (2, 0, 2)
        await first.send("/unsubscribe all")
        harness.emu.send_my_chat_member(second.chat_id, second.user_id, "member", "kicked")
        await harness.settle()
        day = (await reach.daily(1))[0]
        assert (day.joined, day.left, day.subscribers) == (2, 2, 0)
        harness.emu.send_my_chat_member(second.chat_id, second.user_id, "kicked", "member")
        await harness.settle()
        days = await reach.daily(3)
        assert [d.date for d in days] == [utcnow().date() - timedelta(days=n) for n in (2, 1, 0)]
        # today: two joined, two left, one back; the days before began with none
        assert [(d.subscribers, d.joined, d.left) for d in days] == [
            (0, 0, 0),
            (0, 0, 0),
            (1, 3, 2),
        ]
        async with sessions(harness)() as session:
            assert await session.scalar(select(func.count()).select_from(ReachDay)) == 1
            assert await session.scalar(select(func.count()).select_from(ItemReach)) == 0


async def test_the_migration_fills_the_roll_ups_from_what_was_kept(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "0016"))
            rows = [  # item, chat, status, last_error, sent_at
                (1, 1, "sent", None, "2026-12-01 10:00:00"),
                (1, 2, "failed", "boom", None),
                (1, 3, "cancelled", "Forbidden: bot was blocked by the user", None),
                (1, 4, "cancelled", "item gone", None),
                (1, 5, "pending", None, None),
                (2, 1, "sent", None, "2026-12-02 10:00:00"),
            ]
            created = "2026-12-01 09:00:00"

            def stamp(name: str) -> str:  # SQLite keeps the text as SQLAlchemy would write it
                if "postgres" not in database_url:
                    return name
                return f"CAST(CAST({name} AS TEXT) || '+00' AS TIMESTAMPTZ)"

            for item, chat, status, error, sent_at in rows:
                await connection.execute(
                    text(
                        "INSERT INTO deliveries (item_id, chat_id, status, attempts, last_error,"
                        " sent_at, photo, created_at) VALUES (:i, :c, :s, 1, :e,"
                        f" {stamp(':t')}, false, {stamp(':c0')})"
                    ),
                    {"i": item, "c": chat, "s": status, "e": error, "t": sent_at, "c0": created},
                )
            await connection.execute(
                text(
                    "INSERT INTO delivery_days (item_id, day, sent, failed, blocked)"
                    " VALUES (2, '2026-11-30', 5, 1, 2)"
                )
            )
            # subscribers: chats 1 and 2 follow something; 3 does but is gone; 4 follows nothing
            for chat, active in ((1, True), (2, True), (3, False), (4, True)):
                await connection.execute(
                    text(
                        "INSERT INTO chats (id, type, active, created_at, updated_at)"
                        f" VALUES (:id, 'private', :active, {stamp(':c0')}, {stamp(':c0')})"
                    ),
                    {"id": chat, "active": active, "c0": created},
                )
            for chat in (1, 2, 3):
                await connection.execute(
                    text(
                        "INSERT INTO subscriptions (chat_id, category_id, created_at)"
                        f" VALUES (:chat, NULL, {stamp(':c0')})"
                    ),
                    {"chat": chat, "c0": created},
                )
        await prepare_database(settings_for(database_url, "http://127.0.0.1:9/bot"))
        async with engine.connect() as connection:
            subscribers = await connection.scalar(text("SELECT subscribers FROM reach_totals"))
            items = (
                await connection.execute(
                    text(
                        "SELECT item_id, sent, failed, blocked, pending FROM item_reach"
                        " ORDER BY item_id"
                    )
                )
            ).all()
            days = (
                await connection.execute(
                    text("SELECT day, sent, failed, blocked FROM reach_days ORDER BY day")
                )
            ).all()
            differences = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
        assert subscribers == 2
        assert [tuple(row) for row in items] == [(1, 1, 1, 1, 1), (2, 6, 1, 2, 0)]
        assert [(str(d), s, f, b) for d, s, f, b in days] == [
            ("2026-11-30", 5, 1, 2),
            ("2026-12-01", 1, 1, 1),
            ("2026-12-02", 1, 0, 0),
        ]
        ours = (
            "item_reach",
            "reach_days",
            "reach_totals",
            "item_open_days",
            "message_reactions",
            "deliveries",
        )
        assert [d for d in differences if any(name in repr(d) for name in ours)] == []
    finally:
        await engine.dispose()
