"""Fixtures: a database for every store under test, and a running bot on the emulator.

SQLite always; PostgreSQL too when TEST_DATABASE_URL is set (CI sets it when the machine
runs a server). Each test gets an empty database.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.engine import create_engine, create_session_factory
from bot.lifecycle import prepare_database
from bot.services.news import NewsService
from testbed.databases import scratch_postgres
from testbed.harness import Harness, bot_harness, test_settings

STORES = ["sqlite"]
if os.environ.get("TEST_DATABASE_URL"):
    STORES.append("postgresql")


@pytest.fixture(params=STORES)
async def database_url(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    # a database of its own for each test (about 0.2 s), so tests never share rows
    async with scratch_postgres(os.environ["TEST_DATABASE_URL"]) as url:
        yield url


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await prepare_database(test_settings(database_url, "http://127.0.0.1:9/bot"))
    engine = create_engine(database_url)
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def news(sessions: async_sessionmaker[AsyncSession]) -> NewsService:
    return NewsService(sessions)


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    async with bot_harness(database_url) as running:
        yield running
