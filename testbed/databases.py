"""Throwaway PostgreSQL databases for tests and benchmarks: one per use, dropped after."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

from sqlalchemy import make_url, text

from bot.config import normalize_database_url
from bot.db.engine import create_engine


@contextlib.asynccontextmanager
async def scratch_postgres(server_url: str, prefix: str = "coopbot_test") -> AsyncIterator[str]:
    """Create an empty database on the server of `server_url`; yield its URL; drop it."""
    base = make_url(normalize_database_url(server_url))
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as connection:
                await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()
