"""`coopbot backup FILE`: a consistent copy of a SQLite store, taken while the bot writes, and
one clear line, with nothing written, when FILE cannot be."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli import main
from bot.db.engine import create_engine, create_session_factory
from bot.db.models import BroadcastQueue, Delivery, Item
from bot.services.backup import backup_sqlite
from testbed.delivery_kit import (
    add_subscribers,
    delivery_harness,
    engine,
    publish,
    register_chats,
    sessions,
)
from testbed.harness import until

SUBSCRIBERS = 3_000
ITEMS = 3


async def test_a_backup_taken_during_a_broadcast_opens_and_holds_every_item(tmp_path: Path):
    store_url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    target = tmp_path / "backup.db"
    async with delivery_harness(store_url) as harness:
        chats = list(range(930_001, 930_001 + SUBSCRIBERS))
        register_chats(harness.emu, chats)
        await add_subscribers(sessions(harness), chats)
        items = [await publish(harness) for _ in range(ITEMS)]
        deliveries = engine(harness).store.deliveries
        total = SUBSCRIBERS * ITEMS

        async def sent() -> int:
            return (await deliveries.counts()).get("sent", 0)

        async def sent_at_least(count: int) -> int:
            return await until(
                lambda: _at_least(sent, count), f"{count} deliveries recorded", timeout=60
            )

        await sent_at_least(300)  # the broadcast is under way
        # the copy stops after its first step (its snapshot taken) until the bot has recorded
        # 200 more deliveries: they are written while the backup is being made
        loop = asyncio.get_running_loop()
        snapshot_taken = asyncio.Event()
        go_on = threading.Event()

        def on_step(remaining: int, _total: int) -> None:
            if not go_on.is_set():
                loop.call_soon_threadsafe(snapshot_taken.set)
                go_on.wait(60)

        before = await sent()
        backup = asyncio.create_task(backup_sqlite(store_url, target, pages=16, on_step=on_step))
        await asyncio.wait_for(snapshot_taken.wait(), 60)
        at_snapshot = await sent()
        assert at_snapshot + 200 < total, "the broadcast ended before the backup began"
        await sent_at_least(at_snapshot + 200)
        go_on.set()
        done = await backup
        after = await sent()
        assert done.target == target and done.pages > 16  # it took several steps
        live_items = await _items(sessions(harness))

    copy = create_engine(f"sqlite+aiosqlite:///{target}")
    try:
        async with copy.connect() as connection:
            checked = (await connection.execute(text("PRAGMA integrity_check"))).scalars().all()
            assert checked == ["ok"]
        copied = create_session_factory(copy)
        assert await _items(copied) == live_items  # every item
        assert {i.id for i in items} <= set(live_items)
        async with copied() as session:
            queued = set(await session.scalars(select(BroadcastQueue.item_id)))
            fanned = dict(
                (
                    await session.execute(
                        select(Delivery.item_id, func.count()).group_by(Delivery.item_id)
                    )
                ).all()
            )
            statuses = dict(
                (
                    await session.execute(
                        select(Delivery.status, func.count()).group_by(Delivery.status)
                    )
                ).all()
            )
            unsent = await session.scalar(
                select(func.count()).where(
                    Delivery.status == "sent",
                    Delivery.message_id.is_(None) | Delivery.sent_at.is_(None),
                )
            )
    finally:
        await copy.dispose()
    # a fan-out is one transaction: an item has all its deliveries, or none and its queue row
    for item in items:
        assert (item.id in queued, fanned.get(item.id, 0)) in {(True, 0), (False, SUBSCRIBERS)}
    # the outcomes are those of one moment between the copy's start and its first step,
    # before the 200 written while it went on
    assert before <= statuses.get("sent", 0) <= at_snapshot < after
    assert sum(statuses.values()) == sum(fanned.values())
    assert unsent == 0  # a sent row has its message id and time: rows are whole


async def _at_least(count_now: Callable[[], Awaitable[int]], count: int) -> bool:
    return await count_now() >= count


async def _items(session_factory: async_sessionmaker[AsyncSession]) -> dict[int, str]:
    async with session_factory() as session:
        return dict((await session.execute(select(Item.id, Item.title).order_by(Item.id))).all())


# -- a backup that cannot be made ----------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A SQLite store with the sample items, named by DATABASE_URL."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    path = tmp_path / "bot.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    assert main(["seed"]) == 0
    return path


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _backup(target: Path | str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["backup", str(target)])
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err  # one line, no traceback
    return code, err.strip()


def test_a_backup_path_that_cannot_be_written_is_one_line_and_writes_nothing(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    before = _files(tmp_path)
    code, err = _backup(tmp_path / "missing" / "b.db", capsys)
    assert code == 1
    assert err == (
        f"coopbot: cannot write {tmp_path / 'missing' / 'b.db'}: the folder "
        f"{tmp_path / 'missing'} does not exist."
    )
    code, err = _backup(tmp_path, capsys)
    assert (code, err) == (
        1,
        f"coopbot: cannot write {tmp_path}: that is a folder; name a file in it.",
    )
    for own in (store, Path(f"{store}-wal"), tmp_path / "bot.db.lock"):
        code, err = _backup(own, capsys)
        assert code == 1 and err.startswith(f"coopbot: cannot write {own}: that is the store"), err
    # a place nothing can be written: a read-only folder (root writes anyway: /sys)
    read_only = tmp_path / "read-only"
    read_only.mkdir(mode=0o555)
    place = read_only if os.geteuid() != 0 else Path("/sys")
    code, err = _backup(place / "b.db", capsys)
    assert code == 1
    assert err.startswith(f"coopbot: cannot write {place / 'b.db'}: no file can be made in {place}")
    assert not (place / "b.db").exists()
    read_only.rmdir()
    assert _files(tmp_path) == before  # the store untouched, nothing half-written beside it


def test_a_backup_for_postgresql_points_to_pg_dump(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "postgresql://coopbot@127.0.0.1:9/coopbot")
    code, err = _backup(tmp_path / "b.db", capsys)
    assert code == 2
    assert "DATABASE_URL is postgresql" in err and "pg_dump" in err and "pg_restore" in err
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    code, err = _backup(tmp_path / "b.db", capsys)
    assert code == 1
    none = tmp_path / "none.db"
    assert err == f"coopbot: no backup made: there is no SQLite store at {none} (DATABASE_URL)."
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # not even an empty store


def test_a_backup_replaces_an_older_one_whole_or_not_at_all(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "nightly.db"
    target.write_bytes(b"yesterday's backup")

    class Broken(Exception):
        pass

    def fail(remaining: int, _total: int) -> None:
        raise Broken  # the disk fills up, the process is stopped…

    with pytest.raises(Broken):
        asyncio.run(backup_sqlite(f"sqlite:///{store}", target, pages=4, on_step=fail))
    assert target.read_bytes() == b"yesterday's backup"  # as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bot.db", "nightly.db"]

    capsys.readouterr()
    assert main(["backup", str(target)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Backed up {store} to {target} (")
    with contextlib.closing(sqlite3.connect(target)) as copy:
        assert copy.execute("SELECT count(*) FROM items").fetchone() == (10,)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one plain file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bot.db", "nightly.db"]


async def test_a_cancelled_backup_leaves_nothing(store: Path, tmp_path: Path) -> None:
    target = tmp_path / "b.db"
    first_step = threading.Event()
    release = threading.Event()

    def hold(remaining: int, _total: int) -> None:
        first_step.set()
        release.wait(60)

    backup = asyncio.create_task(backup_sqlite(f"sqlite:///{store}", target, pages=1, on_step=hold))
    await asyncio.to_thread(first_step.wait, 60)
    backup.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await backup
    left = await asyncio.to_thread(lambda: sorted(p.name for p in tmp_path.iterdir()))
    assert left == ["bot.db"]
