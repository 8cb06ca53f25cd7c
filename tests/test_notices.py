"""The desk's notices, a kind of send like the others: queued in the transaction that calls for
one, sent once after the commit (at once when the service says so, else at the next poll),
with its buttons; retried on 429, 5xx and timeouts; cancelled for a chat that blocked the bot;
followed to a supergroup; left to another sender by one that died; purged when old; erased by
/forget.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import ColumnElement, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Chat, Notice
from bot.db.models.delivery import CANCELLED, FAILED, PENDING
from bot.db.models.desk import NOTICE_SENT
from bot.delivery import ChatLife, DeliveryOptions
from bot.delivery.chat_life import CLAIMED_AT
from bot.delivery.store import DeliveryStore, NoticeOutcome
from bot.services.notices import queue_notice
from bot.services.privacy import PrivacyService
from bot.services.retention import RetentionService
from testbed.delivery_kit import FAST, delivery_harness, engine, services, sessions
from testbed.harness import Harness, until

# an ordinary answer may take long on a loaded machine: a timed-out send is sent again
PATIENT = replace(FAST, send_timeout=10.0)
SETTLE = 30.0  # bounds against a hang only
BUTTONS = [
    [{"text": "Approve", "callback_data": "v1:review:a:7:1"}],
    [
        {"text": "Reject", "callback_data": "v1:review:r:7:1"},
        {"text": "Open", "url": "https://coop.example/draft/7"},
    ],
]
EDITOR = 5_001


@contextlib.asynccontextmanager
async def desk(
    database_url: str, options: DeliveryOptions = PATIENT, **overrides: object
) -> AsyncIterator[Harness]:
    """The bot on the emulator, with an editor's private chat known to Telegram."""
    async with delivery_harness(database_url, options, **overrides) as harness:
        harness.emu.register_chat(EDITOR, "private", None)
        yield harness


async def queue(
    harness: Harness,
    chat_id: int = EDITOR,
    html: str = "A <b>draft</b> waits &amp; more",
    buttons: list[list[dict[str, str]]] | None = None,
    *,
    tell: bool = True,
) -> int:
    """What a desk service does: queue in its transaction, then say so after the commit."""
    async with sessions(harness).begin() as session:
        notice = queue_notice(session, chat_id, html, buttons)
        await session.flush()
        notice_id = notice.id
    if tell:
        services(harness).notices.committed()
    return notice_id


async def row(harness: Harness, notice_id: int) -> Notice:
    async with sessions(harness)() as session:
        found = await session.get(Notice, notice_id)
    assert found is not None
    return found


async def settled(harness: Harness) -> int:
    """Until the sender has carried out every notice due now; how many it claimed."""
    runner = engine(harness).notices_runner
    before = runner.claimed
    await runner.settled()
    return runner.claimed - before


def calls_to(harness: Harness, chat_id: int) -> int:
    return sum(1 for c in harness.emu.calls if int(c.params.get("chat_id", 0) or 0) == chat_id)


# -- sent once, with its buttons -------------------------------------------------------------------


async def test_a_queued_notice_is_sent_at_once_with_its_buttons(database_url: str) -> None:
    # the sender polls only hourly here: what sends the notice is the service's word
    async with desk(database_url, delivery_poll_seconds=3600) as harness:
        await settled(harness)  # the sender leads, has looked, and waits
        notice_id = await queue(harness, buttons=BUTTONS)
        [message] = await harness.emu.wait_for_messages(EDITOR, 1, timeout=SETTLE)
        assert message.html == "A <b>draft</b> waits &amp; more"
        assert message.text == "A draft waits & more"
        assert message.reply_markup == BUTTONS
        assert message.link_preview_options == {"is_disabled": True}
        assert await settled(harness) == 0  # nothing left to claim
        sent = await row(harness, notice_id)
        assert (sent.status, sent.attempts, sent.message_id) == (NOTICE_SENT, 1, message.message_id)
        assert sent.sent_at is not None and sent.lease_owner is None
        assert await settled(harness) == 0
        assert len(harness.emu.messages(EDITOR)) == 1


async def test_a_notice_nobody_told_of_goes_out_at_the_next_poll(database_url: str) -> None:
    """Another process queued it: this sender finds it by polling."""
    async with desk(database_url, delivery_poll_seconds=0.1) as harness:
        notice_id = await queue(harness, html="Polled", tell=False)
        [message] = await harness.emu.wait_for_messages(EDITOR, 1, timeout=SETTLE)
        assert (message.text, message.reply_markup) == ("Polled", None)

        async def recorded() -> bool:
            return (await row(harness, notice_id)).status == NOTICE_SENT

        await until(recorded, "the notice recorded as sent", SETTLE)


async def test_a_notice_whose_transaction_rolled_back_is_never_sent(database_url: str) -> None:
    async with desk(database_url) as harness:
        with pytest.raises(RuntimeError):
            async with sessions(harness).begin() as session:
                queue_notice(session, EDITOR, "Never")
                await session.flush()  # written, then rolled back
                raise RuntimeError("the decision failed")
        services(harness).notices.committed()  # (a careless service says so all the same)
        await queue(harness, html="Afterwards")
        await harness.emu.wait_for_messages(EDITOR, 1, timeout=SETTLE)
        await settled(harness)
        assert [m.text for m in harness.emu.messages(EDITOR)] == ["Afterwards"]
        async with sessions(harness)() as session:
            assert await session.scalar(select(func.count()).select_from(Notice)) == 1


# -- Telegram's errors, as for every kind ------------------------------------------------------


@pytest.mark.parametrize("fault", ["502", "timeout", "dropped"])
async def test_a_failed_send_is_retried_and_sent_once(database_url: str, fault: str) -> None:
    # a short timeout, for the injected one to end; the injected hang is twice as long
    options = replace(FAST, send_timeout=1.5)
    async with desk(database_url, options) as harness:
        faults = harness.emu.faults
        if fault == "502":
            faults.server_error(EDITOR, count=2, status=502)
        elif fault == "timeout":
            faults.timeout(EDITOR, count=1, seconds=3.0, delivered=False)
        else:
            faults.drop_connection(EDITOR, count=1)
        notice_id = await queue(harness, buttons=BUTTONS)

        async def recorded() -> Notice | None:
            found = await row(harness, notice_id)
            return found if found.status != PENDING else None

        done = await until(recorded, "the notice settled", SETTLE)
        assert isinstance(done, Notice)
        tries = 3 if fault == "502" else 2
        assert (done.status, done.attempts) == (NOTICE_SENT, tries)
        [message] = harness.emu.messages(EDITOR)
        assert message.reply_markup == BUTTONS and done.message_id == message.message_id
        assert engine(harness).notices.stats.retries == tries - 1


async def test_flood_control_is_waited_out_and_is_no_attempt(database_url: str) -> None:
    async with desk(database_url) as harness:
        harness.emu.enforce_limits = True  # one message a second to a private chat, or 429
        ids = [await queue(harness, html=f"Notice {n}") for n in range(3)]
        await harness.emu.wait_for_messages(EDITOR, 3, timeout=SETTLE)
        await settled(harness)
        assert sorted(m.text for m in harness.emu.messages(EDITOR)) == [
            "Notice 0",
            "Notice 1",
            "Notice 2",
        ]
        assert engine(harness).notices.stats.flood_waits >= 1
        for notice_id in ids:
            found = await row(harness, notice_id)
            assert (found.status, found.attempts) == (NOTICE_SENT, 1)


async def test_a_chat_that_blocked_the_bot_cancels_its_notices(database_url: str) -> None:
    async with desk(database_url) as harness:
        async with sessions(harness).begin() as session:
            session.add(Chat(id=EDITOR, type="private"))
        harness.emu.faults.block(EDITOR)
        async with sessions(harness).begin() as session:  # not due yet: never tried
            # due later from its first commit: a poll between a commit and an update
            # would otherwise try it, and count a second call
            waiting = queue_notice(session, EDITOR, "Later")
            waiting.next_attempt_at = datetime.now(UTC) + timedelta(hours=1)
            await session.flush()
            later = waiting.id
        now = await queue(harness, html="Now")

        async def cancelled() -> bool:
            return (await row(harness, now)).status == CANCELLED

        await until(cancelled, "the notice cancelled", SETTLE)
        await settled(harness)
        for notice_id in (now, later):
            found = await row(harness, notice_id)
            assert found.status == CANCELLED and "blocked" in (found.last_error or "")
        assert calls_to(harness, EDITOR) == 1  # one failing call, and the chat is known gone
        assert harness.emu.messages(EDITOR) == []
        async with sessions(harness)() as session:
            assert await session.scalar(select(Chat.active).where(Chat.id == EDITOR)) is False
        assert engine(harness).notices.stats.cancelled == 1


async def test_a_notice_to_a_migrated_group_goes_to_its_supergroup(database_url: str) -> None:
    async with desk(database_url) as harness:
        group = -4_300_001
        harness.emu.register_chat(group, "group", "The editors")
        supergroup = harness.emu.faults.migrate(group)
        notice_id = await queue(harness, group, "To the editors", BUTTONS)
        [message] = await harness.emu.wait_for_messages(supergroup, 1, timeout=SETTLE)
        assert message.reply_markup == BUTTONS

        async def recorded() -> Notice | None:
            found = await row(harness, notice_id)
            return found if found.status == NOTICE_SENT else None

        sent = await until(recorded, "the notice recorded", SETTLE)
        assert isinstance(sent, Notice)
        assert (sent.chat_id, sent.message_id) == (supergroup, message.message_id)
        assert calls_to(harness, group) == 1  # the one call that found it moved


# -- leases -------------------------------------------------------------------------------------


async def test_a_notice_held_by_a_process_that_died_is_sent_once_its_lease_ends(
    database_url: str,
) -> None:
    async with desk(database_url) as harness:
        sender = engine(harness)
        # stopped (still holding the sender lock), so that another process claims it first
        await sender.stop()
        notice_id = await queue(harness, html="Held")
        [held] = await sender.store.notices.claim("other:1", 10, lease_seconds=300)
        assert held.id == notice_id
        await sender.start()
        # the other process is alive (its lease runs): this one leaves the notice alone
        assert await settled(harness) == 0
        assert harness.emu.messages(EDITOR) == []
        # it died: once its lease is over, the notice is claimed again and sent, once
        async with sessions(harness).begin() as session:
            await session.execute(
                update(Notice).values(lease_until=datetime.now(UTC) - timedelta(seconds=1))
            )
        await settled(harness)  # (the sender's own poll may have claimed it first)
        assert await settled(harness) == 0
        assert [m.text for m in harness.emu.messages(EDITOR)] == ["Held"]
        # and what the dead one would write back, had it lived, changes nothing
        await sender.store.notices.record(
            [NoticeOutcome(notice_id, EDITOR, FAILED, 9, last_error="late")], "other:1"
        )
        found = await row(harness, notice_id)
        assert (found.status, found.attempts) == (NOTICE_SENT, 1)


async def test_a_new_leader_takes_over_what_the_old_one_held(database_url: str) -> None:
    async with desk(database_url) as harness:
        sender = engine(harness)
        await sender.stop()
        await sender.release()  # the leader is gone: the lock is free
        notice_id = await queue(harness, html="Taken over")
        # a process that died with the notice claimed, its lease long to run
        await sender.store.notices.claim("dead:1", 10, lease_seconds=3600)
        await sender.start()  # leads again, and frees what others held
        await harness.emu.wait_for_messages(EDITOR, 1, timeout=SETTLE)
        await settled(harness)
        assert [m.text for m in harness.emu.messages(EDITOR)] == ["Taken over"]
        assert (await row(harness, notice_id)).status == NOTICE_SENT


# -- retention and /forget ---------------------------------------------------------------------


NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


async def _notices(
    sessions: async_sessionmaker[AsyncSession], chat_id: int, statuses: list[str], when: datetime
) -> None:
    async with sessions.begin() as session:
        await session.execute(
            insert(Notice),
            [
                {"chat_id": chat_id, "html": "Old news", "status": status, "created_at": when}
                for status in statuses
            ],
        )


async def _count(sessions: async_sessionmaker[AsyncSession], *where: ColumnElement[bool]) -> int:
    async with sessions() as session:
        query = select(func.count()).select_from(Notice).where(*where)
        return int(await session.scalar(query) or 0)


async def test_old_finished_notices_are_purged_in_batches(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    retention = RetentionService(sessions, keep_days=30, audit_keep_days=365, batch=2)
    finished = [NOTICE_SENT, NOTICE_SENT, FAILED, CANCELLED, NOTICE_SENT]
    await _notices(sessions, 1, [*finished, PENDING], NOW - timedelta(days=31))
    await _notices(sessions, 1, [NOTICE_SENT, FAILED], NOW - timedelta(days=29))
    purged = await retention.purge(NOW)
    assert purged.notices == 5 and purged.total == 5
    # a pending one stays, whatever its age, and so do the recent ones
    assert await _count(sessions) == 3
    assert await _count(sessions, Notice.status == PENDING) == 1
    assert (await retention.purge(NOW)).notices == 0


class _Chats:
    def forget_cached(self, chat_id: int) -> None: ...


async def test_forget_erases_a_chats_notices(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        session.add_all([Chat(id=1, type="private"), Chat(id=2, type="private")])
    await _notices(sessions, 1, [NOTICE_SENT, PENDING, PENDING], NOW)
    await _notices(sessions, 2, [PENDING], NOW)
    store = DeliveryStore(sessions)
    claimed_at = time.monotonic()
    claimed = await store.notices.claim("me", 10, 60.0)  # in flight when the chat is erased
    assert len(claimed) == 3
    life = ChatLife(store.chats)
    privacy = PrivacyService(sessions, chats=_Chats(), chat_life=life)
    data = await privacy.chat_data(1)
    assert data is not None
    forgotten = await privacy.forget(1, data.stamp)
    assert forgotten is not None and forgotten.notices == 3
    assert await _count(sessions, Notice.chat_id == 1) == 0
    token = CLAIMED_AT.set(claimed_at)  # what this process claimed for it is dropped
    try:
        assert life.is_gone(1) and not life.is_gone(2)
    finally:
        CLAIMED_AT.reset(token)
    # outcomes written for rows that are gone match nothing, and the others are written
    now = datetime.now(UTC)
    await store.notices.record(
        [
            NoticeOutcome(unit.id, unit.chat_id, NOTICE_SENT, 1, message_id=9, sent_at=now)
            for unit in claimed
        ],
        "me",
    )
    async with sessions() as session:
        rows = (await session.execute(select(Notice.chat_id, Notice.status))).all()
    assert rows == [(2, NOTICE_SENT)]
