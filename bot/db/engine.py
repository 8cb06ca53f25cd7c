"""Engine and session factory for SQLite (the default) and PostgreSQL."""

from __future__ import annotations

import time

from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError, DisconnectionError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

CONNECT_TIMEOUT_SECONDS = 5.0  # PostgreSQL: how long opening a connection may take
SQLITE_CACHE_KIB = 512  # SQLite's page cache per connection
PING_AFTER_IDLE_SECONDS = 30.0  # PostgreSQL: a pooled connection idle longer is pinged first
_IDLE_SINCE = "coopbot_idle_since"


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
        # asyncpg waits 60 s for a connection by default: where the network drops packets
        # (rather than refusing), every webhook update, readiness check and sender step would
        # hang that long instead of failing soon and being tried again
        kwargs.setdefault("connect_args", {"timeout": CONNECT_TIMEOUT_SECONDS})
        engine = create_async_engine(url, **kwargs)
        if not kwargs.get("pool_pre_ping"):
            _check_on_checkout(engine)
        return engine
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise UnusableDatabaseUrl(str(exc)) from None


def _check_on_checkout(engine: AsyncEngine) -> None:
    """What `pool_pre_ping` guards against, without its three round trips on every checkout.

    A connection the server closed (a restart, a terminated backend, a cut network link that
    reset it) is known closed to the driver as soon as the event loop read the end of it, so
    looking costs nothing; one that sat idle for long gets the pre-ping's own ping, as a
    silently dropped link (a NAT's timeout) only shows when something is sent. A connection in
    use moments ago, under load, is neither: pinging it doubled the round trips of a short
    read. Raising DisconnectionError makes the pool open a new connection instead.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _idle_from(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _usable(
        dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _proxy: object
    ) -> None:
        driver = getattr(dbapi_connection, "driver_connection", None)
        if driver is not None and driver.is_closed():
            raise DisconnectionError("the server closed the connection")
        idle_since = record.info.get(_IDLE_SINCE)  # none yet: opened just now
        if idle_since is not None and time.monotonic() - idle_since > PING_AFTER_IDLE_SECONDS:
            try:
                engine.dialect.do_ping(dbapi_connection)  # the pre-ping's own ping
            except Exception as exc:
                raise DisconnectionError("the connection did not answer a ping") from exc


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
        # each pooled connection keeps its own page cache (2 MiB by default, filled soon in a
        # store of a million items); the OS caches the file for all of them anyway
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"
