"""PostgreSQL's pooled connections are checked at checkout without a round trip each time
(bot.db.engine): one the server closed is replaced, one idle for long is pinged first, and one
that fails its ping is replaced, so a handler never gets a dead connection from the pool."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

from bot.db import engine as engines
from testbed.databases import scratch_postgres

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL (TEST_DATABASE_URL)"
)
SETTLE = 10.0  # bounds against a hang only


@pytest.fixture
async def one_connection() -> AsyncIterator[AsyncEngine]:
    """An engine whose pool holds a single connection: every checkout is that one."""
    async with scratch_postgres(os.environ["TEST_DATABASE_URL"]) as url:
        engine = engines.create_engine(url, pool_size=1, max_overflow=0)
        try:
            yield engine
        finally:
            await engine.dispose()


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        pid = await connection.scalar(text("SELECT pg_backend_pid()"))
    assert isinstance(pid, int)
    return pid


async def test_a_connection_the_server_closed_is_replaced_at_checkout(
    one_connection: AsyncEngine,
) -> None:
    pooled = await one_connection.raw_connection()
    driver = pooled.driver_connection
    assert driver is not None
    first = await driver.fetchval("SELECT pg_backend_pid()")
    closed = asyncio.Event()
    driver.add_termination_listener(lambda _connection: closed.set())
    await greenlet_spawn(pooled.close)  # back in the pool

    async with engines.create_engine(str(one_connection.url)).connect() as other:
        await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    await asyncio.wait_for(closed.wait(), SETTLE)  # the driver has read the end of it

    assert await backend_pid(one_connection) != first  # no error: a new connection


async def test_a_connection_idle_for_long_is_pinged_and_replaced_when_it_fails(
    one_connection: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await backend_pid(one_connection)
    pings: list[int] = []

    def silent_link(_adapter: object) -> None:  # what a link a NAT dropped does: no answer
        pings.append(1)
        raise ConnectionResetError("no answer")

    # the driver's adapter keeps no per-connection attributes: its class is patched
    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", silent_link)
    assert await backend_pid(one_connection) == first  # used just now: not pinged
    assert pings == []
    monkeypatch.setattr(engines, "PING_AFTER_IDLE_SECONDS", -1.0)  # every one counts as idle
    assert await backend_pid(one_connection) != first  # pinged, failed, replaced
    assert pings == [1]
