"""Corrections end to end: /edit and /delete reach the messages subscribers already got;
the admin who published gets a report when a broadcast ends; /stats."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot import texts
from bot.context import Services
from bot.db.engine import create_engine, create_session_factory
from bot.delivery import DeliveryOptions, DeliveryStore
from bot.render import delivered_item
from bot.services.validation import ItemDraft
from emulator.models import SentMessage
from testbed.harness import ADMIN_ID, GROUP_ID, Chatter, Harness, bot_harness

T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    # the report of a correction comes from the periodic report job: check often
    async with bot_harness(database_url, schedule_poll_seconds=0.05) as running:
        yield running


def _services(harness: Harness) -> Services:
    return harness.application.bot_data["services"]


async def _press(chat: Chatter, message: SentMessage, label: str) -> list[SentMessage]:
    sent, answers = await chat.press(message, label)
    assert [a["text"] for a in answers] == [None], answers
    return sent


async def _wait_html(harness: Harness, chat_id: int, html: str, times: int = 1) -> None:
    """Wait until the bot has sent `html` to the chat `times` times."""
    await harness.emu.wait_for(
        lambda: [m.html for m in harness.emu.messages(chat_id)].count(html) >= times, 10, html
    )


def _broadcast_reports(harness: Harness) -> int:
    return sum("delivered</b>" in (m.html or "") for m in harness.emu.messages(ADMIN_ID))


async def _add(harness: Harness, admin: Chatter, line: str) -> list[SentMessage]:
    """/add, then wait for its broadcast report, so it does not arrive in a later step."""
    reports = _broadcast_reports(harness)
    replies = await admin.send(line)
    await harness.emu.wait_for(lambda: _broadcast_reports(harness) > reports, 10, line)
    return replies


async def _readers(harness: Harness, count: int) -> list[Chatter]:
    readers = [harness.private() for _ in range(count)]
    for reader in readers:
        await reader.send("/subscribe all")
    return readers


async def _delivered(harness: Harness, reader: Chatter, count: int = 1) -> SentMessage:
    """The latest item delivered to `reader` (after its /subscribe reply)."""
    messages = await harness.emu.wait_for_messages(reader.chat_id, 1 + count, timeout=10)
    return messages[count]


async def test_edit_and_delete_list_the_last_ten_and_explain_bad_numbers(
    harness: Harness,
) -> None:
    admin = harness.admin()
    for command in ("edit", "delete"):
        reply = await admin.reply(f"/{command}")
        assert reply.html == texts.CORRECT_NO_ITEMS.format(command=command)
    news = _services(harness).news
    for n in range(12):
        await news.publish(
            ItemDraft("News", f"Story <{n}>", f"https://coop.example/{n}", None),
            source="test",
            published_at=T0 + timedelta(days=n),
            broadcast=False,
        )
    for command in ("edit", "delete"):
        listing = await admin.reply(f"/{command}")
        assert listing.html == "\n".join(
            [texts.CORRECT_LIST_HEADER.format(n=10, command=command)]
            + [
                texts.CORRECT_LIST_LINE.format(
                    id=n + 1,
                    date=f"{(T0 + timedelta(days=n)).day} {T0 + timedelta(days=n):%b %Y}",
                    title=f"Story &lt;{n}&gt;",
                )
                for n in range(11, 1, -1)
            ]
        )
        for bad in ("abc", "1 2", "-3", "0", "1.5", "٣"):
            reply = await admin.reply(f"/{command} {bad}")
            assert reply.html == texts.CORRECT_BAD_NUMBER.format(text=bad, command=command), bad
        unknown = await admin.reply(f"/{command} 999")
        assert unknown.html == texts.CORRECT_UNKNOWN.format(id=999, command=command)
    which = await admin.reply("/edit #5")
    assert which.html.startswith(texts.EDIT_WHICH.format(id=5))
    assert [b["text"] for b in which.buttons] == [
        "Title",
        "Summary",
        "Link",
        "Category",
        "Picture",
        texts.BUTTON_CANCEL,
    ]
    assert (await admin.reply("/cancel")).html == texts.EDIT_CANCELLED.format(id=5)
    group = harness.in_group(ADMIN_ID)
    assert (await group.reply("/edit 5")).html == texts.FLOW_PRIVATE_ONLY.format(command="edit")
    assert group.chat_id == GROUP_ID


async def test_edit_updates_the_messages_subscribers_already_got(harness: Harness) -> None:
    readers = await _readers(harness, 2)
    admin = harness.admin()
    await _add(harness, admin, "/add News | Old title | https://coop.example/1 | Old summary")
    sent = [await _delivered(harness, reader) for reader in readers]
    item = await _services(harness).news.get_item(1)
    assert [m.html for m in sent] == [delivered_item(item, UTC)] * 2

    which = await admin.reply("/edit 1")
    [ask] = await _press(admin, which, "Title")
    assert ask.html == texts.ADD_ASK_NEW["title"]
    assert (await admin.reply("   ")).html == texts.ADD_ASK_AGAIN.format(
        problem=texts.PROBLEMS["empty_title"]
    )
    assert (await admin.reply("Old title")).html == texts.EDIT_NOTHING
    intro, preview = await admin.send("New <title>")
    assert intro.html == texts.EDIT_PREVIEW.format(id=1)
    changed = item.__class__(**{**_fields(item), "title": "New <title>"})
    assert preview.html == delivered_item(changed, UTC)
    await _press(admin, preview, texts.BUTTON_SAVE)
    await _wait_html(harness, ADMIN_ID, texts.EDIT_SAVED.format(id=1, updated=2, total=2))
    for reader, message in zip(readers, sent, strict=True):
        now = harness.emu.bot_message(reader.chat_id, message.message_id)
        assert now.html == delivered_item(changed, UTC) and now.edit_count == 1

    # a new category: counts follow; the link of another item is refused
    which = await admin.reply("/edit 1")
    [ask] = await _press(admin, which, "Category")
    _, preview = await admin.send("Events")
    await _press(admin, preview, texts.BUTTON_SAVE)
    await _wait_html(harness, ADMIN_ID, texts.EDIT_SAVED.format(id=1, updated=2, total=2), times=2)
    counts = [(c.name, c.item_count) for c in await _services(harness).news.categories()]
    assert counts == [("Events", 1), ("News", 0)]

    await _add(harness, admin, "/add News | Other | https://coop.example/2")
    which = await admin.reply("/edit 1")
    [ask] = await _press(admin, which, "Link")
    assert (await admin.reply("https://coop.example/2")).html == texts.ADD_LINK_TAKEN.format(id=2)
    assert (await admin.reply("mailto:x@y.org")).html == texts.ADD_ASK_AGAIN.format(
        problem=texts.PROBLEMS["bad_url"]
    )
    _, preview = await _press(admin, ask, texts.BUTTON_SKIP)
    assert [m.html for m in await _press(admin, preview, texts.BUTTON_CANCEL)] == [
        texts.EDIT_CANCELLED.format(id=1)
    ]
    assert (await _services(harness).news.get_item(1)).url == "https://coop.example/1"

    which = await admin.reply("/edit 1")
    [ask] = await _press(admin, which, "Summary")
    _, preview = await _press(admin, ask, texts.BUTTON_SKIP)
    await _press(admin, preview, texts.BUTTON_SAVE)
    await _wait_html(harness, ADMIN_ID, texts.EDIT_SAVED.format(id=1, updated=2, total=2), times=3)
    final = await _services(harness).news.get_item(1)
    assert (final.title, final.category, final.url, final.summary) == (
        "New <title>",
        "Events",
        "https://coop.example/1",
        None,
    )
    for reader, message in zip(readers, sent, strict=True):
        now = harness.emu.bot_message(reader.chat_id, message.message_id)
        assert now.html == delivered_item(final, UTC) and now.edit_count == 3
    # the old Save button does nothing now
    _, answers = await admin.press(preview, data="v1:ed:save")
    assert [a["text"] for a in answers] == [texts.BUTTON_EXPIRED]
    audit = [(a.action, a.item_id) for a in await _services(harness).audit.recent()]
    assert audit.count(("edit", 1)) == 3


def _fields(item: object) -> dict[str, object]:
    return {name: getattr(item, name) for name in item.__slots__}  # type: ignore[attr-defined]


async def test_delete_retracts_sent_messages_younger_than_48_hours(harness: Harness) -> None:
    young, old = await _readers(harness, 2)
    admin = harness.admin()
    await _add(harness, admin, "/add News | Withdrawn | https://coop.example/1")
    young_message = await _delivered(harness, young)
    old_message = await _delivered(harness, old)
    # this one was sent more than two days ago, as far as Telegram is concerned
    harness.emu.bot_message(old.chat_id, old_message.message_id).date -= 49 * 3600

    confirm = await admin.reply("/delete 1")
    assert confirm.html.startswith(texts.DELETE_CONFIRM)
    assert [m.html for m in await _press(admin, confirm, texts.BUTTON_KEEP)] == [
        texts.DELETE_KEPT.format(id=1)
    ]
    assert (await _services(harness).news.get_item(1)) is not None

    confirm = await admin.reply("/delete 1")
    await _press(admin, confirm, texts.BUTTON_DELETE)
    report = texts.DELETE_DONE.format(id=1, deleted=1, cancelled=0) + texts.DELETE_TOO_OLD.format(
        old=1
    )
    await _wait_html(harness, ADMIN_ID, report)
    assert harness.emu.bot_message(young.chat_id, young_message.message_id).deleted
    assert not harness.emu.bot_message(old.chat_id, old_message.message_id).deleted

    assert (await harness.private().reply("/latest")).html == texts.NO_ITEMS
    assert [(c.name, c.item_count) for c in await _services(harness).news.categories()] == [
        ("News", 0)
    ]
    assert (await admin.reply("/edit 1")).html == texts.CORRECT_UNKNOWN.format(id=1, command="edit")
    # the confirmation once more: the item is gone already
    [again], _ = await admin.press(confirm, data="v1:del:yes:1")
    assert again.html == texts.CORRECT_UNKNOWN.format(id=1, command="delete")
    audit = await _services(harness).audit.recent()
    assert (audit[0].action, audit[0].item_id, audit[0].detail) == (
        "delete",
        1,
        "Withdrawn <https://coop.example/1>",
    )
    # its link is free again: the corrected item can be published, and reaches both chats
    intro, _ = await _add(
        harness, admin, "/add News | Withdrawn, corrected | https://coop.example/1"
    )
    assert intro.html == texts.ADD_DONE.format(id=2)
    await _delivered(harness, young, 1)  # its first item was retracted
    await _delivered(harness, old, 2)

    # everything older than 48 hours in Telegram's clock: nothing can be retracted
    harness.emu.clock_offset = 49 * 3600
    await _press(admin, await admin.reply("/delete 2"), texts.BUTTON_DELETE)
    report = texts.DELETE_DONE.format(id=2, deleted=0, cancelled=0) + texts.DELETE_TOO_OLD.format(
        old=2
    )
    await _wait_html(harness, ADMIN_ID, report)


async def test_delete_cancels_deliveries_that_have_not_gone_out(harness: Harness) -> None:
    await _readers(harness, 2)
    services = _services(harness)
    await services.delivery.stop()  # the sender is down: deliveries stay pending
    await services.news.publish(
        ItemDraft("News", "Never sent", "https://coop.example/1", None), source="test"
    )
    engine = create_engine(harness.settings.database_url)
    try:
        store = DeliveryStore(create_session_factory(engine))
        assert [f.deliveries for f in await store.fanout.expand()] == [2]
        admin = harness.admin()
        await _press(admin, await admin.reply("/delete 1"), texts.BUTTON_DELETE)
        await _wait_html(harness, ADMIN_ID, texts.DELETE_DONE.format(id=1, deleted=0, cancelled=2))
        assert await store.deliveries.counts(1) == {"cancelled": 2}
    finally:
        await engine.dispose()


# -- the report after a broadcast, and /stats ----------------------------------------------------


@pytest.fixture
async def quick(database_url: str) -> AsyncIterator[Harness]:
    # one failed attempt is final, so a broken chat fails at once
    options = DeliveryOptions(max_attempts=1)
    async with bot_harness(database_url, schedule_poll_seconds=0.05, delivery=options) as harness:
        yield harness


async def test_the_publishing_admin_gets_a_report_when_the_broadcast_ends(quick: Harness) -> None:
    harness = quick
    _fine, blocked, broken = await _readers(harness, 3)
    harness.emu.faults.block(blocked.chat_id)
    harness.emu.faults.server_error(broken.chat_id)
    admin = harness.admin()
    await admin.send("/add News | Reported | https://coop.example/1")
    pattern = re.escape(
        texts.BROADCAST_REPORT.format(
            id=1, title="Reported", sent=1, blocked=1, failed=1, took="TOOK"
        )
    ).replace("TOOK", r"\d+\.\d s")
    await harness.emu.wait_for(
        lambda: any(re.fullmatch(pattern, m.html or "") for m in harness.emu.messages(ADMIN_ID)),
        10,
    )
    await harness.settle()
    reports = [m for m in harness.emu.messages(ADMIN_ID) if "delivered" in (m.html or "")]
    assert len(reports) == 1  # once, not at every check

    stats = await admin.reply("/stats")
    assert stats.html == "\n".join(
        [
            texts.STATS_HEADER,
            texts.STATS_SUBSCRIBERS,
            texts.STATS_LINE.format(name=texts.STATS_ALL_CATEGORIES, count=2),
            texts.STATS_ITEMS,
            texts.STATS_LINE.format(name="News", count=1),
            texts.STATS_DELIVERIES.format(tz="UTC", sent=1, failed=1, pending=0),
            texts.STATS_ACTIVE_CHATS.format(active=3, inactive=1),
            texts.STATS_FILTERED.format(count=0),
        ]
    )
