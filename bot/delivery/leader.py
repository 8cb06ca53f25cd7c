"""Only one process sends at a time.

PostgreSQL: a session-level advisory lock held on a connection of its own. It is released
the moment the holder's connection closes, so when a leader dies (even by SIGKILL) a standby
replica, trying every second, takes over within about a second.

SQLite cannot be shared by replicas at all: `SqliteGuard` holds an OS file lock next to the
database for the life of the process, and a second process refuses to start.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path

from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

# an arbitrary 64-bit key that names "the delivery sender of this database"
ADVISORY_KEY = 0x636F_6F70_6E65_7773  # "coopnews"


class Leadership:
    """Always the leader: for SQLite, where `SqliteGuard` already keeps others out."""

    async def try_acquire(self) -> bool:
        return True

    async def still_held(self) -> bool:
        return True

    async def release(self) -> None:
        pass


class PostgresLeadership(Leadership):
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None

    async def try_acquire(self) -> bool:
        if self._connection is None:
            self._connection = await self._engine.connect()
        try:
            got = await self._connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
            )
            await self._connection.commit()
        except Exception:
            await self._drop_connection()
            raise
        return bool(got)

    async def still_held(self) -> bool:
        """False once the lock's connection is gone (then another replica may lead)."""
        if self._connection is None:
            return False
        try:
            held = await self._connection.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND pid = pg_backend_pid() AND granted "
                    "AND ((classid::bigint << 32) | objid::bigint) = :key"
                ),
                {"key": ADVISORY_KEY},
            )
            await self._connection.commit()
        except Exception as exc:  # (an outage: its one traceback is the runners' to log)
            log.warning("lost the connection holding the delivery lock: %s", exc)
            await self._drop_connection()
            return False
        return bool(held)

    async def release(self) -> None:
        if self._connection is None:
            return
        with contextlib.suppress(Exception):
            await self._connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY}
            )
            await self._connection.commit()
        await self._drop_connection()

    async def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.invalidate()
            with contextlib.suppress(Exception):
                await connection.close()


def leadership_for(engine: AsyncEngine) -> Leadership:
    if engine.dialect.name == "postgresql":
        return PostgresLeadership(engine)
    return Leadership()


class AlreadyRunning(Exception):
    """Another bot process holds the SQLite database."""


class SqliteGuard:
    """An exclusive OS lock on `<database>.lock`, held while the bot runs."""

    def __init__(self, database_url: str) -> None:
        database = make_url(database_url).database
        self.path = None if not database or database == ":memory:" else Path(database)
        self._fd: int | None = None

    def acquire(self) -> None:
        if self.path is None:
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunning(
                f"another bot process is already running on the SQLite database {self.path}. "
                "SQLite allows one bot process at a time: stop the other one, or use "
                "PostgreSQL (DATABASE_URL=postgresql://...) to run several replicas."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
