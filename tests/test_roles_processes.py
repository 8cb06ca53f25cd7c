"""Roles change at once in every process on PostgreSQL: what an owner changes through one bot,
every other bot's filters follow as soon as it hears `roles` (LISTEN/NOTIFY); while a
process cannot vouch for hearing it, its filters hold the owners only, and they are read
again when it listens again. Two "processes" are two bots on two emulators, or two sets of
services on two engines, against one scratch database; waits are on what was heard."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import texts
from bot.context import Services
from bot.db.engine import create_engine, create_session_factory, normalize_database_url
from bot.lifecycle import prepare_database
from bot.services.admins import AdminService, Role, Roster
from bot.services.chats import ChatService
from bot.services.invalidation import ROLES, CacheListener
from bot.services.news import NewsService
from testbed.databases import scratch_postgres
from testbed.harness import ADMIN_ID, Harness, bot_harness
from testbed.harness import test_settings as settings_for
from tests.tcp_proxy import TcpProxy

AUTHOR_ID = 5006
OWNERS = frozenset({ADMIN_ID})


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    raw = os.environ.get("TEST_DATABASE_URL")
    if not raw:
        pytest.skip("TEST_DATABASE_URL is not set")
    async with scratch_postgres(raw, "coopbot_roles") as url:
        await prepare_database(settings_for(url, "http://127.0.0.1:9/bot"))
        yield url


async def heard(listener: CacheListener, before: int) -> None:
    """Until `listener` has read the roles again after a `roles` notification."""
    await asyncio.wait_for(listener.until(lambda: listener.heard[ROLES] > before), 5)


def _services(harness: Harness) -> Services:
    return harness.application.bot_data["services"]


def _listener(harness: Harness) -> CacheListener:
    listener = _services(harness).runtime.cache_listener
    assert listener is not None
    return listener


async def test_a_role_changed_through_one_bot_applies_at_once_in_the_other(
    postgres_url: str,
) -> None:
    async with bot_harness(postgres_url) as first, bot_harness(postgres_url) as second:
        listener = _listener(second)
        await asyncio.wait_for(listener.until(lambda: listener.live), 10)
        author_there = second.private(AUTHOR_ID)
        assert (await author_there.reply("/stats")).html == texts.NOT_ADMIN
        owner = first.admin()

        steps = [
            (f"/admins add {AUTHOR_ID} author", texts.NOT_EDITOR),
            (f"/admins role {AUTHOR_ID} editor", None),  # /stats answers
            (f"/admins role {AUTHOR_ID} author", texts.NOT_EDITOR),  # demoted: at once
            (f"/admins remove {AUTHOR_ID}", texts.NOT_ADMIN),  # removed: at once
        ]
        for command, refusal in steps:
            before = listener.heard[ROLES]
            await owner.send(command)
            await heard(listener, before)
            reply = await author_there.reply("/stats")
            if refusal is None:
                assert reply.html.startswith(texts.STATS_HEADER), command
            else:
                assert reply.html == refusal, command
        assert _services(second).admins.user_ids == OWNERS
        assert _services(second).authors.user_ids == frozenset()


@dataclass
class Process:
    engine: AsyncEngine
    roster: AdminService
    listener: CacheListener
    rosters: list[Roster]  # what the filters were given, in order

    @property
    def filters(self) -> Roster:
        return self.rosters[-1]


@contextlib.asynccontextmanager
async def process(url: str, listen_url: str | None = None) -> AsyncIterator[Process]:
    """One bot process's roster and listener (on `listen_url` when given), listening."""
    engine = create_engine(url)
    listen_engine = engine if listen_url is None else create_engine(listen_url)
    sessions = create_session_factory(engine)
    rosters: list[Roster] = []
    roster = AdminService(sessions, OWNERS, on_roster=rosters.append)
    listener = CacheListener(
        listen_engine, NewsService(sessions), ChatService(sessions), roster=roster
    )
    listener.start()
    try:
        await asyncio.wait_for(listener.until(lambda: listener.connections == 1), 10)
        yield Process(engine, roster, listener, rosters)
    finally:
        await listener.stop()
        await engine.dispose()
        await listen_engine.dispose()


ONLY_OWNERS = Roster(OWNERS, frozenset())


async def test_rights_are_read_again_on_every_reconnection_and_never_stale_meanwhile(
    postgres_url: str,
) -> None:
    target = make_url(normalize_database_url(postgres_url))
    async with TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
        through_proxy = target.set(host="127.0.0.1", port=proxy.port)
        listen_url = through_proxy.render_as_string(hide_password=False)
        async with process(postgres_url) as a, process(postgres_url, listen_url) as b:
            assert b.filters == ONLY_OWNERS  # read once it listened: nobody added yet
            before = b.listener.heard[ROLES]
            await a.roster.add(ADMIN_ID, AUTHOR_ID, Role.EDITOR)
            await heard(b.listener, before)
            assert b.filters == Roster(OWNERS | {AUTHOR_ID}, frozenset())

            # b loses its way to the database: until it listens again, the owners only ...
            proxy.cut()
            await asyncio.wait_for(b.listener.until(lambda: not b.listener.live), 5)
            assert b.filters == ONLY_OWNERS
            # ... and what changes meanwhile goes unheard there
            await a.roster.set_role(ADMIN_ID, AUTHOR_ID, Role.AUTHOR)
            assert b.filters == ONLY_OWNERS
            proxy.restore()
            await asyncio.wait_for(b.listener.until(lambda: b.listener.connections == 2), 15)
            assert b.filters == Roster(OWNERS, frozenset({AUTHOR_ID}))  # read again

            # the server drops b's connection, and a change it never hears of is made
            async with a.engine.begin() as connection:
                await connection.execute(text("DELETE FROM admins"))  # no announcement
                killed = await connection.scalar(
                    text("SELECT pg_terminate_backend(:pid)"), {"pid": b.listener.backend_pid}
                )
            assert killed
            await asyncio.wait_for(b.listener.until(lambda: b.listener.connections == 3), 15)
            assert b.filters == ONLY_OWNERS
            assert b.listener.losses == 2
