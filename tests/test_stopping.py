"""Stopping: the sender's loops end on their own when told to stop (not by being
cancelled), a stop sends nothing twice, and a start that fails leaves nothing open."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace

import pytest
from sqlalchemy import text

from bot.config import SecretStr
from bot.db.engine import create_engine, is_sqlite
from bot.lifecycle import StartupError, running_bot
from emulator import BotApiEmulator, methods
from emulator.errors import ApiError
from testbed.delivery_kit import (
    FAST,
    add_subscribers,
    delivery_harness,
    drain,
    engine,
    publish,
    register_chats,
    sessions,
)
from testbed.harness import TOKEN
from testbed.harness import test_settings as settings_for

ROUNDS = 12


async def test_the_sender_stops_on_its_own_while_being_woken(database_url: str) -> None:
    # wake() comes at any moment (the JobQueue's poll, every publish), also during a stop. A
    # loop that only ends when cancelled can lose that cancel to a wake-up on Python 3.11
    # (asyncio.wait_for returns instead of raising), and then a stop hangs.
    # within Telegram's limits (30 a second), so that stops find workers waiting for the
    # budget, sends in flight and rows still queued
    # a send that times out is sent again (Telegram keeps no idempotency key), and the wake-up
    # storm below can hold the loop past FAST's half-second timeout: that is not what this
    # test is about, so the timeout is far above the emulator's latency
    options = replace(FAST, rate_limits=True, send_timeout=10.0)
    async with delivery_harness(database_url, options) as harness:
        chats = list(range(710_001, 710_101))  # more than there are workers: some wait queued
        register_chats(harness.emu, chats)
        await add_subscribers(sessions(harness), chats)
        harness.emu.faults.latency(0.02)
        delivery = engine(harness)
        storming = True

        def sent() -> int:
            return sum(len(harness.emu.messages(c)) for c in chats)

        async def storm() -> None:
            while storming:
                delivery.wake()
                await asyncio.sleep(0)

        waker = asyncio.create_task(storm())
        try:
            await publish(harness)
            for round_ in range(ROUNDS):
                # stop, each time, a few messages further into the broadcast
                await harness.emu.wait_for(lambda r=round_: sent() >= 5 * (r + 1), 30)
                tasks = list(delivery._tasks)
                await delivery.stop()
                assert all(task.done() and not task.cancelled() for task in tasks)
                await delivery.release()
                await delivery.start()
        finally:
            storming = False
            await waker
        assert delivery.cancelled_on_stop == 0
        await drain(harness)
        # what a stop left claimed went out after the next start, and only once
        assert [len(harness.emu.messages(c)) for c in chats] == [1] * len(chats)


async def _failed_start(database_url: str, emu: BotApiEmulator, **overrides: object) -> str:
    settings = settings_for(database_url, emu.base_url, **overrides)
    with pytest.raises(StartupError) as failed:
        async with running_bot(settings):
            pass
    return str(failed.value)


async def _open_connections(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        if is_sqlite(engine):
            return 0
        async with engine.connect() as connection:
            return await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    finally:
        await engine.dispose()


def _threads_since(before: set[threading.Thread]) -> list[str]:
    started = [t for t in threading.enumerate() if t not in before]
    for thread in started:  # a closed aiosqlite connection's thread ends right after
        thread.join(timeout=5)
    return [t.name for t in started if t.is_alive()]


@pytest.mark.parametrize("failure", ["token rejected", "menu refused"])
async def test_a_start_that_fails_leaves_nothing_open(
    database_url: str, failure: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads = set(threading.enumerate())
    async with BotApiEmulator(token=TOKEN) as emu:
        if failure == "token rejected":  # initialize() fails
            wrong = SecretStr("999999999:WRONG-token-WRONG-token-WRONG-token")
            message = await _failed_start(database_url, emu, bot_token=wrong)
            assert "rejected BOT_TOKEN" in message
        else:  # after initialize(): the application, its bot and the database engine are open

            def refuse(_state: object, _params: object) -> None:
                raise ApiError(502, "Bad Gateway")

            monkeypatch.setitem(methods.METHODS, "setmycommands", refuse)
            message = await _failed_start(database_url, emu)
            assert "Cannot reach the Telegram Bot API" in message
        # the SQLite guard was released: the next start gets as far again
        assert await _failed_start(database_url, emu, **_same(failure)) == message
    assert await _open_connections(database_url) == 0
    assert _threads_since(threads) == []


def _same(failure: str) -> dict[str, object]:
    if failure == "token rejected":
        return {"bot_token": SecretStr("999999999:WRONG-token-WRONG-token-WRONG-token")}
    return {}
