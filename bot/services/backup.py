"""`coopbot backup FILE`: a consistent copy of a SQLite store, taken while the bot runs.

SQLite's online backup API (`sqlite3.Connection.backup`) copies the store a few pages at a
time. A step that finds the store changed by another connection since the step before starts
the copy again from the first page, so against a bot that commits every few milliseconds a
plain paged copy never ends. The copy therefore holds one read transaction on the store from
its first page to its last: in WAL mode (the bot's, `bot/db/engine.py`) that is a snapshot,
beside which the bot goes on writing (into the WAL) without restarting the copy. The copy is
the store as it was at that instant, every transaction in it whole or not at all. Between
steps of `BACKUP_PAGES` pages the copy pauses briefly, so it never has the disk to itself.

The copy is written to a temporary name beside FILE, checked (`PRAGMA quick_check`), and
renamed over FILE only then (`bot.services.files`): a failed backup leaves nothing behind.
PostgreSQL has its own tools for this, pg_dump and pg_restore (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from bot.db.engine import normalize_database_url
from bot.services.files import WRITE_FAILED, WriteRefused, replacing

BACKUP_PAGES = 1024  # pages copied per step (4 MiB with SQLite's default 4 KiB pages)
BACKUP_PAUSE_SECONDS = 0.002  # between steps
BUSY_SECONDS = 5.0  # how long opening the snapshot may wait for a lock

# why a store cannot be backed up (worded in `bot.texts.CLI_BACKUP_PROBLEMS`)
NOT_SQLITE = "not_sqlite"
IN_MEMORY = "in_memory"
NO_STORE = "no_store"
NOT_A_STORE = "not_a_store"
CHECK_FAILED = "check_failed"

# files that belong to a SQLite store beside the store itself (the bot's guard is `.lock`)
_STORE_FILES = ("-wal", "-shm", "-journal", ".lock")


class BackupRefused(Exception):
    """The store cannot be copied: `code` says why, `details` fill its wording."""

    def __init__(self, code: str, **details: Any) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


@dataclass(frozen=True, slots=True)
class BackupDone:
    store: Path
    target: Path
    pages: int
    size: int  # bytes
    seconds: float


def sqlite_store(database_url: str) -> Path:
    """The SQLite file `database_url` names. BackupRefused for any other database
    (NOT_SQLITE, with its dialect as `dialect`) or an in-memory one."""
    try:
        url = make_url(normalize_database_url(database_url))
    except ArgumentError:
        raise BackupRefused(NOT_SQLITE, dialect="unknown") from None
    if url.get_backend_name() != "sqlite":
        raise BackupRefused(NOT_SQLITE, dialect=url.get_backend_name())
    if not url.database or url.database == ":memory:":
        raise BackupRefused(IN_MEMORY)
    return Path(url.database)


async def backup_sqlite(
    database_url: str,
    target: Path,
    *,
    pages: int = BACKUP_PAGES,
    pause: float = BACKUP_PAUSE_SECONDS,
    on_step: Callable[[int, int], None] | None = None,
) -> BackupDone:
    """Copy the SQLite store of `database_url` to `target` (see the module); the bot may be
    running. `on_step(remaining, total)` is called, in the copying thread, after each step.

    Raises BackupRefused (the store) or WriteRefused (the target); then `target` is as it was.
    """
    store = sqlite_store(database_url)
    protected = [store, *(Path(f"{store}{side}") for side in _STORE_FILES)]
    stop = threading.Event()
    started = time.monotonic()

    def copy() -> tuple[int, int]:
        if not store.is_file():
            raise BackupRefused(NO_STORE, store=store)
        with replacing(target, protected=protected) as temporary:
            return _copy(store, temporary, pages, pause, on_step, stop)

    copying = asyncio.ensure_future(asyncio.to_thread(copy))
    try:
        pages_copied, size = await asyncio.shield(copying)
    except asyncio.CancelledError:
        stop.set()  # the thread stops at its next step and removes what it wrote
        with contextlib.suppress(BaseException):
            await copying
        raise
    return BackupDone(store, target, pages_copied, size, time.monotonic() - started)


class _Stopped(Exception):
    pass


def _copy(
    store: Path,
    temporary: Path,
    pages: int,
    pause: float,
    on_step: Callable[[int, int], None] | None,
    stop: threading.Event,
) -> tuple[int, int]:
    """Copy `store` into `temporary` from one snapshot; returns its pages and bytes."""

    def step(_status: int, remaining: int, total: int) -> None:
        if on_step is not None:
            on_step(remaining, total)
        if stop.is_set():
            raise _Stopped
        if remaining:
            time.sleep(pause)

    # mode=rw: never create a store that is not there (is_file said it was)
    source = sqlite3.connect(
        f"{store.resolve().as_uri()}?mode=rw", uri=True, isolation_level=None, timeout=BUSY_SECONDS
    )
    try:
        try:
            source.execute("BEGIN")
            source.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot
        except sqlite3.DatabaseError as exc:
            raise BackupRefused(NOT_A_STORE, store=store, error=str(exc)) from None
        copy = sqlite3.connect(temporary, isolation_level=None)
        try:
            source.backup(copy, pages=pages, progress=step)
            # the copy keeps the store's WAL mode; a backup is better one plain file, which
            # opens even where it cannot write (the bot sets WAL again when it runs on it)
            copy.execute("PRAGMA journal_mode=DELETE")
            verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
            copied = int(copy.execute("PRAGMA page_count").fetchone()[0])
            page_size = int(copy.execute("PRAGMA page_size").fetchone()[0])
        except sqlite3.Error as exc:  # the disk filled up, the folder went…
            raise WriteRefused(temporary, WRITE_FAILED, error=str(exc)) from None
        finally:
            copy.close()
        if verdict != "ok":
            raise BackupRefused(CHECK_FAILED, store=store, error=str(verdict))
        return copied, copied * page_size
    finally:
        source.close()
