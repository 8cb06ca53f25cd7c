"""Real bot processes killed with SIGKILL in the middle of correcting 2,000 sent messages:
after a restart every message ends corrected, and none is edited or deleted twice needlessly."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.db.engine import create_engine, create_session_factory
from bot.db.models import Correction
from bot.render import delivered_item
from bot.services.corrections import CorrectionsService
from bot.services.news import NewsService
from emulator import BotApiEmulator
from testbed.databases import scratch_postgres
from testbed.harness import ADMIN_ID, BOT_USERNAME, TOKEN
from testbed.processes import (
    CONCURRENCY,
    kill,
    seed,
    spawn_bot,
    stop,
    wait_all_sent,
)

SUBSCRIBERS = 2_000
KILL_AFTER = 300  # corrections carried out before the kill


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
        return
    raw = os.environ.get("TEST_DATABASE_URL")
    if not raw:
        pytest.skip("TEST_DATABASE_URL is not set")
    async with scratch_postgres(raw, "coopbot_corrections") as url:
        yield url


class _Database:
    """The database as another process (the CLI, an admin's replica) sees it."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.sessions = create_session_factory(self.engine)
        self.news = NewsService(self.sessions)
        self.corrections = CorrectionsService(self.sessions, self.news)

    async def done(self, item_id: int, action: str) -> set[int]:
        """Chats whose correction is recorded as done."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(Correction.chat_id).where(
                    Correction.item_id == item_id,
                    Correction.action == action,
                    Correction.status == "sent",
                )
            )
            return set(rows)

    async def unfinished(self, item_id: int) -> int:
        async with self.sessions() as session:
            return await session.scalar(
                select(func.count()).where(
                    Correction.item_id == item_id, Correction.status == "pending"
                )
            )

    async def wait_finished(self, item_id: int) -> None:
        async with asyncio.timeout(90):
            while await self.unfinished(item_id):  # noqa: ASYNC110
                await asyncio.sleep(0.1)


def calls_per_chat(emu: BotApiEmulator, method: str) -> Counter[int]:
    return Counter(int(call.params["chat_id"]) for call in emu.calls if call.method == method)


async def _kill_midway(
    process: asyncio.subprocess.Process, emu: BotApiEmulator, counter: str
) -> None:
    try:
        await emu.wait_for(lambda: getattr(emu.stats, counter) >= KILL_AFTER, timeout=60)
    finally:
        await kill(process)
    # requests cut off by the kill finish (or not) on our side before the snapshot
    await emu.wait_for(lambda: emu.requests_in_flight == 0, timeout=30)


async def test_sigkill_mid_correction_edits_and_deletes_each_message_once(
    store_url: str,
) -> None:
    chats = [7_000_000 + n for n in range(SUBSCRIBERS)]
    async with BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME) as emu:
        item_id = await seed(store_url, emu, chats)
        database = _Database(store_url)
        processes: list[asyncio.subprocess.Process] = []
        try:
            processes.append(await spawn_bot(store_url, emu))
            # every delivery recorded: the edit below finds 2,000 sent messages
            await wait_all_sent(store_url, item_id, SUBSCRIBERS)
            sent = {c: emu.messages(c)[0].message_id for c in chats}
            emu.faults.latency(0.02)  # ~400 a second with 8 in flight: time to kill mid-way

            # -- edit: killed mid-way, resumed by the next process ----------------------------
            edited = await database.corrections.edit(
                ADMIN_ID, item_id, "title", "Corrected <title>"
            )
            assert edited.messages == SUBSCRIBERS
            await _kill_midway(processes[-1], emu, "edited_messages")
            edited_at_kill = {c for c in chats if emu.bot_message(c, sent[c]).edit_count}
            recorded_at_kill = await database.done(item_id, "edit")
            assert KILL_AFTER <= len(edited_at_kill) < SUBSCRIBERS  # really killed mid-way
            assert recorded_at_kill <= edited_at_kill  # nothing recorded that was not done

            processes.append(await spawn_bot(store_url, emu))
            await database.wait_finished(item_id)
            corrected = delivered_item(await database.news.get_item(item_id), UTC)
            messages = [emu.bot_message(c, sent[c]) for c in chats]
            assert [c for c, m in zip(chats, messages, strict=True) if m.html != corrected] == []
            assert {m.edit_count for m in messages} == {1}  # never edited twice
            edits = calls_per_chat(emu, "editMessageText")
            assert set(edits) == set(chats)
            asked_twice = {c for c, n in edits.items() if n > 1}
            # only what was in flight, or sent but not recorded, at the kill was asked again
            # (and answered "not modified")
            assert asked_twice.isdisjoint(recorded_at_kill)
            assert len(asked_twice) <= 3 * CONCURRENCY
            assert max(edits.values()) <= 2
            assert await database.done(item_id, "edit") == set(chats)

            # -- delete: killed mid-way, resumed by the next process --------------------------
            deleted = await database.corrections.delete(ADMIN_ID, item_id)
            assert (deleted.messages, deleted.too_old) == (SUBSCRIBERS, 0)
            await _kill_midway(processes[-1], emu, "deleted_messages")
            deleted_at_kill = {c for c in chats if emu.bot_message(c, sent[c]).deleted}
            recorded_at_kill = await database.done(item_id, "delete")
            assert KILL_AFTER <= len(deleted_at_kill) < SUBSCRIBERS
            assert recorded_at_kill <= deleted_at_kill

            processes.append(await spawn_bot(store_url, emu))
            await database.wait_finished(item_id)
            assert [c for c in chats if emu.messages(c)] == []
            deletes = calls_per_chat(emu, "deleteMessage")
            assert set(deletes) == set(chats)
            asked_twice = {c for c, n in deletes.items() if n > 1}
            assert asked_twice.isdisjoint(recorded_at_kill)
            assert len(asked_twice) <= 3 * CONCURRENCY
            assert max(deletes.values()) <= 2
            # a second try that found its message gone knows it was its own first try
            assert await database.done(item_id, "delete") == set(chats)
        finally:
            for process in processes:
                await stop(process)
            await database.engine.dispose()
