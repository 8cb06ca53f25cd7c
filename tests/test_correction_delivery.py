"""Corrections go through the delivery engine: rows, retries, the shared budget, and races
with the item's own broadcast."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, timedelta

import pytest
from sqlalchemy import select, update

from bot import texts
from bot.db.base import utcnow
from bot.db.models import Correction, Delivery
from bot.render import delivered_item
from emulator import BotApiEmulator
from testbed.delivery_kit import (
    FAST,
    add_subscribers,
    delivery_harness,
    drain,
    engine,
    publish,
    register_chats,
    services,
    sessions,
)
from testbed.harness import ADMIN_ID, Harness

CHATS = 20


async def _corrections(harness: Harness, item_id: int) -> dict[tuple[int, str], Correction]:
    async with sessions(harness)() as session:
        rows = await session.scalars(select(Correction).where(Correction.item_id == item_id))
        return {(row.chat_id, row.action): row for row in rows}


def calls_per_chat(emu: BotApiEmulator, method: str) -> Counter[int]:
    """Requests of `method` per chat, answered or not."""
    return Counter(
        int(call.params["chat_id"])
        for call in emu.calls
        if call.method.lower() == method.lower() and "chat_id" in call.params
    )


async def _wait_report(harness: Harness, text: str) -> None:
    await harness.emu.wait_for(
        lambda: any(m.html == text for m in harness.emu.messages(ADMIN_ID)), 15, text
    )


async def test_edits_and_deletions_are_rows_retried_on_429_5xx_and_timeouts(
    database_url: str,
) -> None:
    # an ordinary send may take a second on a loaded machine: only the slow one's 8 s may
    # time out, so each row's attempts are what its faults make them
    options = replace(FAST, concurrency=4, max_attempts=5, backoff_seconds=0.02, send_timeout=3.0)
    async with delivery_harness(database_url, options, schedule_poll_seconds=0.05) as harness:
        emu = harness.emu
        emu.register_chat(ADMIN_ID)
        chats = list(range(930_001, 930_001 + CHATS))
        register_chats(emu, chats)
        await add_subscribers(sessions(harness), chats)
        item = await publish(harness)
        await drain(harness)
        sent = {c: emu.messages(c)[0] for c in chats}

        flaky, slow, gone = chats[0], chats[1], chats[2]
        emu.faults.server_error(flaky, count=2, status=502)
        emu.faults.timeout(slow, count=1, seconds=8.0, delivered=False)
        emu.bot_message(gone, sent[gone].message_id).deleted = True  # the reader deleted it
        # a strict emulator (5 a second overall) and no pacing in the bot: a storm of 429s,
        # each waited out and the same edit sent again
        emu.enforce_limits = True
        emu.limits.global_limit = 5
        edited = await services(harness).corrections.edit(
            ADMIN_ID, item.id, "title", "Corrected <title>", report_chat_id=ADMIN_ID
        )
        assert edited.messages == CHATS
        engine(harness).corrected(item.id)
        await _wait_report(
            harness,
            texts.EDIT_SAVED.format(id=item.id, updated=CHATS - 1, total=CHATS)
            + texts.EDIT_SAVED_FAILED.format(failed=1),
        )
        corrected = delivered_item(await services(harness).news.get_item(item.id), UTC)
        for chat_id in chats:
            if chat_id == gone:
                continue
            message = emu.bot_message(chat_id, sent[chat_id].message_id)
            assert (message.html, message.edit_count) == (corrected, 1), chat_id
        rows = await _corrections(harness, item.id)
        assert {r.status for c, r in rows.items() if c[0] != gone} == {"sent"}
        assert rows[(gone, "edit")].status == "failed"
        assert "not found" in rows[(gone, "edit")].last_error
        assert rows[(flaky, "edit")].attempts == 3
        assert rows[(slow, "edit")].attempts == 2
        stats = engine(harness).corrections.stats
        refused = sum(call.status == 429 and call.method == "editMessageText" for call in emu.calls)
        assert refused > 0
        assert stats.flood_waits == refused
        assert stats.retries == 3

        emu.enforce_limits = False
        emu.faults.server_error(flaky, count=1, status=500)
        deleted = await services(harness).corrections.delete(
            ADMIN_ID, item.id, report_chat_id=ADMIN_ID
        )
        assert (deleted.messages, deleted.too_old) == (CHATS, 0)
        engine(harness).corrected(item.id)
        await _wait_report(
            harness,
            texts.DELETE_DONE.format(id=item.id, deleted=CHATS - 1, cancelled=0)
            + texts.DELETE_FAILED.format(failed=1),  # the one the reader deleted
        )
        assert [emu.messages(c) for c in chats] == [[]] * CHATS
        rows = await _corrections(harness, item.id)
        assert {rows[(c, "delete")].status for c in chats if c != gone} == {"sent"}
        assert rows[(gone, "delete")].last_error == "Message to delete not found"
        assert rows[(flaky, "delete")].attempts == 2
        deletes = calls_per_chat(emu, "deleteMessage")
        assert deletes == Counter({c: 2 if c == flaky else 1 for c in chats})


async def test_a_second_edit_before_the_first_went_out_is_one_edit(database_url: str) -> None:
    async with delivery_harness(database_url, schedule_poll_seconds=0.05) as harness:
        emu = harness.emu
        emu.register_chat(ADMIN_ID)
        chats = list(range(940_001, 940_001 + CHATS))
        register_chats(emu, chats)
        await add_subscribers(sessions(harness), chats)
        item = await publish(harness)
        await drain(harness)
        delivery = engine(harness)
        await delivery.stop()  # the sender is down while the admin edits twice
        corrections = services(harness).corrections
        first = await corrections.edit(
            ADMIN_ID, item.id, "title", "First fix", report_chat_id=ADMIN_ID
        )
        second = await corrections.edit(ADMIN_ID, item.id, "summary", "Second fix")
        rows = await _corrections(harness, item.id)
        assert len(rows) == CHATS
        assert {(r.status, r.request_id) for r in rows.values()} == {("pending", second.request_id)}
        assert first.request_id != second.request_id
        # the first is done as far as its admin is concerned: the second carries its change
        await _wait_report(harness, texts.EDIT_SAVED.format(id=item.id, updated=CHATS, total=CHATS))
        assert delivery.stats.sent == CHATS


@pytest.mark.parametrize("here", [True, False], ids=["edited-here", "edited-elsewhere"])
async def test_an_edit_while_the_item_goes_out_reaches_every_chat_corrected(
    database_url: str, here: bool
) -> None:
    """Edited through this bot (which tells its sender at once), or by another process (the
    sender notices the newer revision when it claims the next rows)."""
    # a send timed out on a loaded machine is sent again (Telegram keeps no idempotency key),
    # which is not what these tests are about: a timeout far above the emulator's latency
    options = replace(FAST, concurrency=8, send_timeout=10.0)
    async with delivery_harness(database_url, options) as harness:
        emu = harness.emu
        chats = list(range(950_001, 950_401))
        register_chats(emu, chats)
        await add_subscribers(sessions(harness), chats)
        emu.faults.latency(0.04)  # a slow Telegram: ~200 messages a second with 8 in flight
        item = await publish(harness)
        await emu.wait_for(lambda: emu.stats.sent_messages >= 50, timeout=30)
        await services(harness).corrections.edit(ADMIN_ID, item.id, "title", "Corrected")
        if here:
            engine(harness).corrected(item.id)
        before_drain = emu.stats.sent_messages
        await drain(harness, timeout=60)
        assert before_drain < len(chats)  # the edit really landed mid-broadcast

        corrected = delivered_item(await services(harness).news.get_item(item.id), UTC)
        messages = [emu.messages(c) for c in chats]
        assert [len(m) for m in messages] == [1] * len(chats)
        assert [c for c, [m] in zip(chats, messages, strict=True) if m.html != corrected] == []
        edited = [m for [m] in messages if m.edit_count]
        assert max(m.edit_count for [m] in messages) == 1  # never edited twice
        assert len(edited) >= 50  # those sent before the edit …
        assert len(edited) < len(chats)  # … while the rest went out corrected
        edits = calls_per_chat(emu, "editMessageText")
        assert max(edits.values()) == 1
        rows = await _corrections(harness, item.id)
        assert len(rows) == len(edits) == len(edited)


async def test_a_deletion_while_the_item_goes_out_leaves_no_message(database_url: str) -> None:
    # a send timed out on a loaded machine is sent again (Telegram keeps no idempotency key),
    # which is not what these tests are about: a timeout far above the emulator's latency
    options = replace(FAST, concurrency=8, send_timeout=10.0)
    async with delivery_harness(database_url, options) as harness:
        emu = harness.emu
        chats = list(range(960_001, 960_401))
        register_chats(emu, chats)
        await add_subscribers(sessions(harness), chats)
        emu.faults.latency(0.04)
        item = await publish(harness)
        await emu.wait_for(lambda: emu.stats.sent_messages >= 50, timeout=30)
        deleted = await services(harness).corrections.delete(ADMIN_ID, item.id)
        engine(harness).corrected(item.id)
        await drain(harness, timeout=60)
        assert deleted.cancelled > 0  # it really landed mid-broadcast
        assert [c for c in chats if emu.messages(c)] == []
        sent = emu.stats.sent_messages
        assert calls_per_chat(emu, "deleteMessage").total() == sent
        assert max(calls_per_chat(emu, "deleteMessage").values()) == 1
        counts = await engine(harness).store.corrections.counts(item.id)
        assert counts == {("delete", "sent"): sent}


async def test_messages_older_than_48_hours_are_counted_not_asked_for(database_url: str) -> None:
    async with delivery_harness(database_url, schedule_poll_seconds=0.05) as harness:
        emu = harness.emu
        emu.register_chat(ADMIN_ID)
        chats = list(range(970_001, 970_001 + CHATS))
        register_chats(emu, chats)
        await add_subscribers(sessions(harness), chats)
        item = await publish(harness)
        await drain(harness)
        old = chats[:5]
        async with sessions(harness).begin() as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.chat_id.in_(old))
                .values(sent_at=utcnow() - timedelta(hours=49))
            )
        deleted = await services(harness).corrections.delete(
            ADMIN_ID, item.id, report_chat_id=ADMIN_ID
        )
        assert (deleted.messages, deleted.too_old, deleted.cancelled) == (CHATS - 5, 5, 0)
        engine(harness).corrected(item.id)
        await _wait_report(
            harness,
            texts.DELETE_DONE.format(id=item.id, deleted=CHATS - 5, cancelled=0)
            + texts.DELETE_TOO_OLD.format(old=5),
        )
        assert set(calls_per_chat(emu, "deleteMessage")) == set(chats[5:])
        assert [c for c in chats if emu.messages(c)] == old
