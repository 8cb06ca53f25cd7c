"""Retention: old finished rows go in batches, their daily figures stay right, what corrections
need stays within the window, and /edit says when sent messages are past correcting.

The service is driven with an explicit `now`, and rows are written as the delivery engine
leaves them (statuses, send times), so a year can pass in a test."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, insert, select, update

from bot import texts
from bot.db.models import AuditEntry, Delivery, DeliveryDay, Item
from bot.db.models.delivery import CANCELLED, FAILED, PENDING, SENT
from bot.db.models.digests import Digest
from bot.db.models.filters import FilteredPush
from bot.services.news import NewsService
from bot.services.retention import Figures, RetentionService, forget_deliveries
from bot.services.validation import ItemDraft
from testbed.delivery_kit import drain, publish
from testbed.delivery_kit import sessions as harness_sessions
from testbed.harness import ADMIN_ID, bot_harness

LONG_AGO = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)  # five months later


async def _item(news: NewsService, n: int, created: datetime) -> int:
    item = (
        await news.publish(
            ItemDraft("News", f"Item {n}", f"https://coop.example/{n}", None),
            source="test",
            broadcast=False,
        )
    ).item
    async with news._sessions.begin() as session:
        await session.execute(update(Item).where(Item.id == item.id).values(created_at=created))
    return item.id


async def _deliveries(sessions, item_id: int, when: datetime, statuses: dict[int, str]) -> None:
    """Rows as the engine leaves them: sent ones with a send time, blocked chats cancelled."""
    rows = []
    for chat_id, status in statuses.items():
        rows.append(
            {
                "item_id": item_id,
                "chat_id": chat_id,
                "status": status,
                "created_at": when,
                "sent_at": when + timedelta(minutes=1) if status == SENT else None,
                "message_id": chat_id if status == SENT else None,
                "last_error": "chat gone: blocked" if status == CANCELLED else None,
            }
        )
    async with sessions.begin() as session:
        await session.execute(insert(Delivery), rows)


async def _count(sessions, model, *where) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


def _outcomes(n: int) -> dict[int, str]:
    """n chats: mostly sent, some failed, some blocked, a few still pending."""
    cycle = [SENT, SENT, SENT, FAILED, CANCELLED, SENT, PENDING]
    return {1000 + i: cycle[i % len(cycle)] for i in range(n)}


async def test_old_rows_go_in_batches_and_their_figures_stay(sessions, news) -> None:
    old = await _item(news, 1, LONG_AGO)
    recent = await _item(news, 2, NOW - timedelta(days=3))
    await _deliveries(sessions, old, LONG_AGO, _outcomes(40))
    await _deliveries(sessions, recent, NOW - timedelta(days=3), _outcomes(10))
    async with sessions.begin() as session:
        session.add(FilteredPush(item_id=old, held_back=4))
        session.add(FilteredPush(item_id=recent, held_back=1))
    retention = RetentionService(sessions, keep_days=30, audit_keep_days=365, batch=7)
    before = {item: await retention.figures(item) for item in (old, recent)}
    assert before[old] == {LONG_AGO.date(): Figures(sent=23, failed=6, blocked=6)}

    purged = await retention.purge(NOW)
    assert purged.deliveries == 35  # 40 rows, 5 of them pending
    assert purged.filtered == 1
    # the figures are the same, now read from the daily rows
    assert {item: await retention.figures(item) for item in (old, recent)} == before
    assert await _count(sessions, Delivery, Delivery.item_id == old) == 5  # pending stay
    assert await _count(sessions, Delivery, Delivery.item_id == recent) == 10
    assert await _count(sessions, DeliveryDay) == 1
    assert await _count(sessions, FilteredPush) == 1
    # a second run finds nothing more, and counts nothing twice
    assert (await retention.purge(NOW)).total == 0
    assert await retention.figures(old) == before[old]


async def test_figures_add_up_across_runs_and_days(sessions, news) -> None:
    item = await _item(news, 1, LONG_AGO)
    await _deliveries(sessions, item, LONG_AGO, {1: SENT, 2: SENT})
    retention = RetentionService(sessions, keep_days=30, audit_keep_days=365)
    await retention.purge(NOW)
    # a late retry of the same item, sent a day later, folded by a later run
    await _deliveries(sessions, item, LONG_AGO + timedelta(days=1), {3: SENT, 4: FAILED})
    await retention.purge(NOW)
    assert await retention.figures(item) == {
        LONG_AGO.date(): Figures(sent=2),
        (LONG_AGO + timedelta(days=1)).date(): Figures(sent=1, failed=1),
    }


async def test_audit_and_digests_keep_their_own_time(sessions, news) -> None:
    async with sessions.begin() as session:
        session.add(AuditEntry(actor_id=1, action="old", created_at=NOW - timedelta(days=400)))
        session.add(AuditEntry(actor_id=1, action="kept", created_at=NOW - timedelta(days=300)))
        for period, status in (("2030-01-02", SENT), ("2030-01-03", PENDING), ("2030-05-30", SENT)):
            session.add(
                Digest(
                    chat_id=1,
                    period=period,
                    since=LONG_AGO,
                    until=LONG_AGO,
                    status=status,
                    created_at=LONG_AGO,
                )
            )
    retention = RetentionService(sessions, keep_days=30, audit_keep_days=365)
    purged = await retention.purge(NOW)
    assert (purged.audit, purged.digests) == (1, 1)
    async with sessions() as session:
        assert list(await session.scalars(select(AuditEntry.action))) == ["kept"]
        periods = sorted(await session.scalars(select(Digest.period)))
    assert periods == ["2030-01-03", "2030-05-30"]  # a pending digest stays, whatever its age


async def test_forgetting_a_chat_keeps_the_totals_without_it(sessions, news) -> None:
    item = await _item(news, 1, NOW)
    await _deliveries(sessions, item, NOW, {1: SENT, 2: SENT, 3: CANCELLED, 4: PENDING})
    retention = RetentionService(sessions, keep_days=30, audit_keep_days=365)
    before = await retention.figures(item)
    async with sessions.begin() as session:
        assert await forget_deliveries(session, 2) == 1
        assert await forget_deliveries(session, 4) == 1  # pending: dropped, never counted
    assert await retention.figures(item) == before
    async with sessions() as session:
        left = await session.scalars(select(Delivery.chat_id).where(Delivery.item_id == item))
        assert sorted(left) == [1, 3]
    day_rows = await _count(sessions, DeliveryDay, DeliveryDay.day == NOW.date())
    assert day_rows == 1


async def test_corrections_work_inside_the_window_and_edit_says_when_past_it(
    database_url: str,
) -> None:
    async with bot_harness(database_url, delivery_keep_days=30) as harness:
        services = harness.application.bot_data["services"]
        reader = harness.private()
        await reader.reply("/subscribe all")
        admin = harness.admin()
        await admin.send("/add News | Kept | https://coop.example/kept")
        await drain(harness)
        pushed = harness.emu.messages(reader.chat_id)[-1]
        # a run today leaves the rows a correction needs
        await services.retention.purge()
        await services.corrections.edit(ADMIN_ID, 1, "title", "Kept, corrected")
        await services.delivery.corrections_runner.settled()
        await harness.emu.wait_idle(quiet=0.05, timeout=10)
        edited = harness.emu.bot_message(reader.chat_id, pushed.message_id)
        assert edited.text.startswith("Kept, corrected")

        # forty days on, the rows are gone and /edit says the messages are past correcting
        later = datetime.now(UTC) + timedelta(days=40)
        async with harness_sessions(harness).begin() as session:
            await session.execute(
                update(Item).where(Item.id == 1).values(created_at=later - timedelta(days=40))
            )
        purged = await services.retention.purge(later)
        assert purged.deliveries == 1
        async with harness_sessions(harness).begin() as session:
            await session.execute(
                update(Item).where(Item.id == 1).values(created_at=datetime(2020, 1, 1, tzinfo=UTC))
            )
        shown = await admin.reply("/edit 1")
        assert texts.EDIT_PAST_KEEPING.format(id=1, days=30) in shown.html
        await admin.reply("/cancel")
        shown = await admin.reply("/delete 1")
        assert texts.DELETE_PAST_KEEPING.format(id=1, days=30) in shown.html
        figures = await services.retention.figures(1)
        assert sum(f.sent for f in figures.values()) == 1
        assert isinstance(next(iter(figures)), date)


async def test_publish_keeps_working_while_rows_are_purged(database_url: str) -> None:
    """A purge between two broadcasts changes nothing for the second one."""
    async with bot_harness(database_url, delivery_keep_days=30) as harness:
        services = harness.application.bot_data["services"]
        reader = harness.private()
        await reader.reply("/subscribe all")
        first = await publish(harness)
        await drain(harness)
        await services.retention.purge(datetime.now(UTC) + timedelta(days=60))
        assert await services.retention.figures(first.id) != {}
        before = harness.message_count(reader.chat_id)
        await publish(harness)
        await drain(harness)
        assert harness.message_count(reader.chat_id) == before + 1
