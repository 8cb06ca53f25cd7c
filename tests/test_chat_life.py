"""One owner for a chat's life: whichever kind of send (push, correction, digest, notice) meets a
chat that is gone or has moved, the result is the same (bot.delivery.chat_life).

Each test leaves work of every kind pending for one chat, lets only one kind come due,
breaks the chat in the emulator, and starts the sender: that kind meets the error first.
- blocked, kicked, chat not found: the chat is marked inactive, every pending push,
  correction, digest and notice for it is cancelled, and the bot made one call to it, not one
  per kind;
- migrated: settings, pushes, digests and notices move to the supergroup and go out there; the
  correction, whose message stays in the old group, is cancelled.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Boolean, Column, Integer, String, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import utcnow
from bot.db.models import Chat, Correction, Delivery, Digest, Notice
from bot.delivery.store.chats import NOT_SETTINGS, ChatRepository, chat_settings
from bot.services.news import ItemView
from emulator import BotApiEmulator
from testbed.delivery_kit import (
    add_subscribers,
    delivery_harness,
    drain,
    engine,
    publish,
    services,
    sessions,
)
from testbed.harness import ADMIN_ID, Harness, until

KINDS = ("pushes", "corrections", "digests", "notices")
TABLES = {"pushes": Delivery, "corrections": Correction, "digests": Digest, "notices": Notice}
PERIOD = "2030-01-01"
SETTLE = 30.0  # bounds against a hang only


def calls_to(emu: BotApiEmulator, chat_id: int) -> int:
    """Requests the emulator received for a chat (sends, edits, deletions)."""
    return sum(1 for c in emu.calls if int(c.params.get("chat_id", 0) or 0) == chat_id)


async def _pending_of_every_kind(
    harness: Harness, chat_id: int, first: str, *, chat_type: str = "private"
) -> tuple[ItemView, ItemView]:
    """A sent item (`edited`, with its correction pending), a pushed one waiting (`waiting`),
    a digest row and a desk notice, all for `chat_id`; only the `first` kind is due now."""
    await add_subscribers(sessions(harness), [chat_id], chat_type=chat_type)
    harness.emu.register_chat(chat_id, chat_type, "A chat")
    edited = await publish(harness)
    await drain(harness)
    assert len(harness.emu.messages(chat_id)) == 1
    sender = engine(harness)
    await sender.stop()  # the sender is down while the work piles up
    await sender.release()
    waiting = await publish(harness)
    assert [f.deliveries for f in await sender.store.fanout.expand()] == [1]
    await services(harness).corrections.edit(ADMIN_ID, edited.id, "title", "Corrected title")
    async with sessions(harness).begin() as session:
        session.add(
            Digest(
                chat_id=chat_id,
                period=PERIOD,
                since=utcnow() - timedelta(days=1),
                until=utcnow() + timedelta(minutes=1),
            )
        )
        session.add(Notice(chat_id=chat_id, html="A notice from the editorial desk"))
    later = utcnow() + timedelta(hours=1)
    async with sessions(harness).begin() as session:
        for kind, table in TABLES.items():
            if kind != first:
                await session.execute(
                    update(table).where(table.chat_id == chat_id).values(next_attempt_at=later)
                )
    assert await _statuses(harness, chat_id) == {kind: ["pending"] for kind in KINDS}
    return edited, waiting


async def _statuses(harness: Harness, chat_id: int) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    async with sessions(harness)() as session:
        for kind, table in TABLES.items():
            query = select(table.status).where(table.chat_id == chat_id)
            if table is Delivery:  # the item sent before the sender stopped is done
                query = query.where(Delivery.status != "sent")
            found[kind] = list(await session.scalars(query))
    return found


async def _active(harness: Harness, chat_id: int) -> bool | None:
    async with sessions(harness)() as session:
        return await session.scalar(select(Chat.active).where(Chat.id == chat_id))


GONE: dict[str, Callable[[BotApiEmulator, int], None]] = {
    "blocked": lambda emu, chat: emu.faults.block(chat),
    "kicked": lambda emu, chat: emu.faults.kick(chat),
    "chat not found": lambda emu, chat: emu.faults.chat_not_found(chat),
}


@pytest.mark.parametrize("first", KINDS)
@pytest.mark.parametrize("event", list(GONE))
async def test_a_gone_chat_ends_every_kind_of_send_after_one_call(
    database_url: str, event: str, first: str
) -> None:
    async with delivery_harness(database_url) as harness:
        chat_id = 910_001
        await _pending_of_every_kind(harness, chat_id, first)
        GONE[event](harness.emu, chat_id)
        before = calls_to(harness.emu, chat_id)
        sender = engine(harness)
        await sender.start()

        async def settled() -> bool:
            statuses = await _statuses(harness, chat_id)
            return all("pending" not in found for found in statuses.values())

        await until(settled, "nothing pending for the chat", SETTLE)
        assert await _active(harness, chat_id) is False
        assert await _statuses(harness, chat_id) == {kind: ["cancelled"] for kind in KINDS}
        # one failing call, by the kind that came first; none by the others
        assert calls_to(harness.emu, chat_id) == before + 1
        # (and the others' rows, due now, are not tried either)
        async with sessions(harness).begin() as session:
            for table in TABLES.values():
                await session.execute(update(table).values(next_attempt_at=None))
        sender.wake()
        await drain(harness)
        for runner in sender.runners:
            await runner.settled()
        assert calls_to(harness.emu, chat_id) == before + 1


@pytest.mark.parametrize("first", KINDS)
async def test_a_migrated_group_takes_every_kind_of_send_along(
    database_url: str, first: str
) -> None:
    async with delivery_harness(database_url) as harness:
        group = -4_200_001
        edited, waiting = await _pending_of_every_kind(harness, group, first, chat_type="group")
        # the group's own settings, which the supergroup inherits
        async with sessions(harness).begin() as session:
            await session.execute(
                update(Chat)
                .where(Chat.id == group)
                .values(language="fr", timezone="Europe/Paris", quiet_start=0, quiet_end=1)
            )
        supergroup = harness.emu.faults.migrate(group)
        before = calls_to(harness.emu, group)
        sender = engine(harness)
        await sender.start()

        async def moved() -> bool:
            return await _active(harness, supergroup) is True

        await until(moved, "the supergroup's chat row", SETTLE)
        # the others come due: they go on in the supergroup
        async with sessions(harness).begin() as session:
            for table in TABLES.values():
                await session.execute(update(table).values(next_attempt_at=None))
        sender.wake()
        for runner in sender.runners:
            await runner.settled()
        await drain(harness)

        assert await _active(harness, group) is False
        assert calls_to(harness.emu, group) == before + 1  # the one call that found it moved
        moved_on = await _statuses(harness, supergroup)
        assert moved_on["pushes"] == [] and moved_on["digests"] == ["sent"]
        assert moved_on["notices"] == ["sent"]
        async with sessions(harness)() as session:
            push = await session.get(Delivery, (waiting.id, supergroup))
            chat = await session.get(Chat, supergroup)
            correction = await session.scalar(
                select(Correction).where(Correction.item_id == edited.id)
            )
        assert push is not None and push.status == "sent"
        assert chat is not None and (chat.language, chat.timezone) == ("fr", "Europe/Paris")
        assert (chat.quiet_start, chat.quiet_end) == (0, 1)
        # an edit cannot follow its message: it stays in the old group, uncorrected
        assert correction is not None and correction.chat_id == group
        assert (correction.status, correction.last_error) == ("cancelled", "chat migrated")
        received = [m.text for m in harness.emu.messages(supergroup)]
        assert len(received) == 3  # the push, the digest's one page and the notice
        assert any(waiting.title in text for text in received)


def _a_setting(column: Column[Any]) -> object:
    """A value unlike the column's default, of its type."""
    kind = column.type
    if isinstance(kind, Boolean):
        return True
    if isinstance(kind, Integer):  # (SmallInteger and BigInteger too)
        return 7
    if isinstance(kind, String):
        return "fr"[: kind.length or 2] if column.key == "language" else f"{column.key}"[:8]
    return datetime(2030, 1, 2, 3, 4, tzinfo=UTC)  # UTCDateTime


async def test_a_supergroup_inherits_every_setting_of_its_group(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # every column of a chat row that is a setting, today's and any added later: the copy
    # reads the table, not a list kept by hand
    settings = {
        attribute.key: _a_setting(attribute.columns[0])
        for attribute in Chat.__mapper__.column_attrs
        if attribute.key not in NOT_SETTINGS
    }
    assert {"language", "timezone", "quiet_start", "digest_mode", "digest_since"} <= set(settings)
    async with sessions.begin() as session:
        session.add(Chat(id=-4_300_001, type="group", **settings))
    migrated = await ChatRepository(sessions).migrate(-4_300_001, -1_004_300_001)
    assert migrated.new_chat_id == -1_004_300_001
    async with sessions() as session:
        old = await session.get(Chat, -4_300_001)
        new = await session.get(Chat, -1_004_300_001)
    assert old is not None and new is not None
    assert (old.active, new.active, new.type) == (False, True, "supergroup")
    assert chat_settings(new) == chat_settings(old) == settings
