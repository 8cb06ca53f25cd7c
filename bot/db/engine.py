"""Engine and session factory for SQLite (the default) and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

CONNECT_TIMEOUT_SECONDS = 5.0  # PostgreSQL: how long opening a connection may take


class UnusableDatabaseUrl(ValueError):
    """SQLAlchemy cannot make an engine of the URL (unknown dialect or driver, bad syntax)."""


def normalize_database_url(url: str) -> str:
    """Pick SQLAlchemy's async driver for the plain URLs people usually write."""
    url = url.strip()
    for plain, async_form in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return async_form + url[len(plain) :]
    return url


def create_engine(database_url: str, **kwargs: object) -> AsyncEngine:
    url = normalize_database_url(database_url)
    try:
        if url.startswith("sqlite"):
            engine = create_async_engine(url, **kwargs)
            _tune_sqlite(engine)
            return engine
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
        kwargs.setdefault("pool_pre_ping", True)
        # asyncpg waits 60 s for a connection by default: where the network drops packets
        # (rather than refusing), every webhook update, readiness check and sender step would
        # hang that long instead of failing soon and being tried again
        kwargs.setdefault("connect_args", {"timeout": CONNECT_TIMEOUT_SECONDS})
        return create_async_engine(url, **kwargs)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise UnusableDatabaseUrl(str(exc)) from None


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets readers go on while the bot writes; the busy timeout makes a writer
        # wait for the lock instead of failing at once
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"
