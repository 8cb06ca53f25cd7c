"""Quiet hours and forum topics, end to end: the emulator, the real bot, the real database.

Quiet hours are made to cover (or miss) the present moment in a chosen time zone, so no test
waits for a clock; topics are opened, closed and deleted by users in the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot import texts
from bot.db.models import Chat, Subscription
from bot.services.validation import ItemDraft
from emulator import make_png
from emulator.models import SentMessage
from testbed.delivery_kit import (
    add_subscribers,
    drain,
    harness_with_categories,
    publish,
    services,
    sessions,
)
from testbed.harness import Harness
from testbed.image_server import serving_images

FORUM = -100_777_000_222
ADMIN = 5005
MEMBER = 5006
ZONE = "Pacific/Auckland"  # far from UTC: a window read in the wrong zone misses


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    async with harness_with_categories(database_url) as running:
        yield running


def window_around_now(zone: str, *, starts_in: int, lasts: int) -> str:
    """A /quiet window starting `starts_in` minutes from now (negative: ago), in `zone`."""
    now = datetime.now(UTC).astimezone(ZoneInfo(zone))
    start = now + timedelta(minutes=starts_in)
    end = start + timedelta(minutes=lasts)
    return f"{start:%H:%M}-{end:%H:%M}"


async def set_timezone(harness: Harness, chat_id: int, zone: str) -> None:
    # /timezone is another command's; what it stores is all quiet hours read
    async with sessions(harness).begin() as session:
        await session.execute(update(Chat).where(Chat.id == chat_id).values(timezone=zone))


async def quiet_window(harness: Harness, chat_id: int) -> tuple[int | None, int | None]:
    async with sessions(harness)() as session:
        row = (
            await session.execute(
                select(Chat.quiet_start, Chat.quiet_end).where(Chat.id == chat_id)
            )
        ).one()
    return row.quiet_start, row.quiet_end


def pushes(harness: Harness, chat_id: int) -> list[SentMessage]:
    return [m for m in harness.emu.messages(chat_id) if m.text.startswith("Item")]


# -- quiet hours -------------------------------------------------------------------------


async def test_quiet_command_forms_and_bad_input(harness: Harness) -> None:
    ada = harness.private()
    shown = await ada.reply("/quiet")
    assert shown.text.startswith("🔔 No quiet hours") and "(UTC)" in shown.text
    assert "/quiet 22:00-07:00" in shown.text  # the right form

    for bad in ("25:00-07:00", "22:00-07:60", "banana", "22:00", "22-07", "<b>9</b>"):
        reply = await ada.reply(f"/quiet {bad}")
        assert reply.text.startswith("I couldn't read"), bad
        assert "/quiet 22:00-07:00" in reply.text
    assert "“<b>9</b>”" in reply.text  # shown as typed, not as markup
    zero = await ada.reply("/quiet 08:00-08:00")
    assert zero.text.startswith("Quiet hours must start and end at different times")
    assert await quiet_window(harness, ada.chat_id) == (None, None)  # nothing changed

    done = await ada.reply("/quiet 22:00-07:00")
    assert done.text.startswith("🌙 Quiet hours set: 22:00–07:00 (UTC)")
    assert await quiet_window(harness, ada.chat_id) == (22 * 60, 7 * 60)
    assert (await ada.reply("/quiet 8:30 – 9:15")).text.startswith(
        "🌙 Quiet hours set: 08:30–09:15"
    )
    await ada.reply("/quiet 25:00-07:00")
    assert await quiet_window(harness, ada.chat_id) == (510, 555)  # a bad one changes nothing

    await set_timezone(harness, ada.chat_id, ZONE)
    shown = await ada.reply("/quiet")
    assert shown.text.startswith(f"🌙 Quiet hours: 08:30–09:15 ({ZONE})")
    assert (await ada.reply("/quiet OFF")).text == texts.QUIET_OFF
    assert await quiet_window(harness, ada.chat_id) == (None, None)
    assert (await ada.reply("/quiet off")).text == texts.QUIET_ALREADY_OFF

    # in a group, only administrators change them; anyone may look
    member = harness.in_group(MEMBER)
    refused = await member.reply("/quiet 22:00-07:00")
    assert refused.text == texts.QUIET_ADMINS_ONLY
    assert await quiet_window(harness, member.chat_id) == (None, None)
    assert (await member.reply("/quiet")).text.startswith("🔔 No quiet hours")
    harness.emu.set_member_status(member.chat_id, MEMBER, "administrator")
    assert (await member.reply("/quiet 23:00-06:30")).text.startswith("🌙 Quiet hours set")

    # the command is in /help and in the menu
    assert "/quiet" in (await ada.reply("/help")).text
    menu = await harness.application.bot.get_my_commands()
    assert "quiet" in [c.command for c in menu]


async def test_pushes_inside_quiet_hours_arrive_silently(harness: Harness) -> None:
    inside, outside, none = harness.private(), harness.private(), harness.private()
    for reader in (inside, outside, none):
        await reader.reply("/subscribe news")
        await set_timezone(harness, reader.chat_id, ZONE)
    # around now in Auckland: read in UTC (the default zone) it would miss by hours
    await inside.reply(f"/quiet {window_around_now(ZONE, starts_in=-60, lasts=120)}")
    await outside.reply(f"/quiet {window_around_now(ZONE, starts_in=60, lasts=120)}")

    await publish(harness, "News")
    await publish(harness, "News")
    await drain(harness)
    for reader, silent in ((inside, True), (outside, False), (none, False)):
        got = pushes(harness, reader.chat_id)
        assert len(got) == 2, reader  # nothing held back or lost
        assert [m.disable_notification for m in got] == [silent, silent], reader
    assert services(harness).delivery.stats.silent == 2
    sends = [c for c in harness.emu.calls if c.method == "sendMessage"]
    assert any(c.params.get("disable_notification") is True for c in sends)

    # the window read at each send: moved away, the next push rings again
    await inside.reply(f"/quiet {window_around_now(ZONE, starts_in=120, lasts=60)}")
    await publish(harness, "News")
    await drain(harness)
    assert pushes(harness, inside.chat_id)[-1].disable_notification is False


# -- forum topics ------------------------------------------------------------------------


async def in_topic(harness: Harness, text: str, thread_id: int | None, user_id: int = ADMIN):
    """`user_id` writes `text` in forum topic `thread_id` (None: General); the bot's replies."""
    before = harness.message_count(FORUM)
    harness.emu.send_message(
        text,
        chat_id=FORUM,
        user_id=user_id,
        chat_type="supergroup",
        chat_title="Federation",
        message_thread_id=thread_id,
    )
    await harness.settle()
    return harness.emu.messages(FORUM)[before:]


def open_forum(harness: Harness, *names: str) -> list[int]:
    harness.emu.make_forum(FORUM, "Federation")
    harness.emu.set_member_status(FORUM, ADMIN, "administrator")
    return [harness.emu.create_topic(FORUM, name, user_id=ADMIN) for name in names]


async def test_categories_go_to_their_own_topics(harness: Harness) -> None:
    housing, work = open_forum(harness, "Housing", "Work")
    [general_reply] = await in_topic(harness, "/subscribe all", None)
    assert general_reply.message_thread_id is None
    [reply] = await in_topic(harness, "/subscribe decent housing", housing)
    assert reply.text == "🔔 Subscribed: new items in Decent housing will arrive in this topic."
    assert reply.message_thread_id == housing  # answered where it was asked
    [reply] = await in_topic(harness, "/subscribe decent work", work)
    assert reply.message_thread_id == work
    # a member of the group may not reroute
    [refused] = await in_topic(harness, "/subscribe news", work, user_id=MEMBER)
    assert refused.text == texts.SUBSCRIBE_ADMINS_ONLY

    [listing] = await in_topic(harness, "/subscriptions", None)
    assert listing.text.startswith("🔔 This chat follows all categories.\n")
    assert "• Decent housing → 💬 Housing" in listing.text
    assert "• Decent work → 💬 Work" in listing.text

    titles = {}
    for category in ("Decent housing", "Decent work", "News"):
        titles[category] = (await publish(harness, category)).title
    await drain(harness)
    where = {m.text.split("\n")[0]: m.message_thread_id for m in pushes(harness, FORUM)}
    # one message per item: the category's own topic wins over "all" (General)
    assert len(pushes(harness, FORUM)) == 3
    assert where == {
        titles["Decent housing"]: housing,
        titles["Decent work"]: work,
        titles["News"]: None,
    }

    # back to General from General
    [reply] = await in_topic(harness, "/subscribe decent work", None)
    assert reply.text.startswith("🔔 Subscribed: new items in Decent work will arrive here")
    await publish(harness, "Decent work")
    await drain(harness)
    assert pushes(harness, FORUM)[-1].message_thread_id is None


async def test_keyboard_pressed_in_a_topic_routes_there(harness: Harness) -> None:
    events, misc = open_forum(harness, "Events", "Misc")

    async def press(thread_id: int, category: str) -> None:
        [menu] = await in_topic(harness, "/subscribe", thread_id)
        assert menu.message_thread_id == thread_id
        data = next(b["callback_data"] for b in menu.buttons if b["text"].endswith(category))
        harness.emu.press_button(FORUM, menu.message_id, data, ADMIN)
        await harness.settle()

    # the keyboard's message quotes the command, not the topic's start: the name is known
    # from an earlier /subscribe in the same topic, else the topic is shown by its number
    await in_topic(harness, "/subscribe decent housing", events)
    await press(events, "News")
    await press(misc, "Decent work")
    [listing] = await in_topic(harness, "/subscriptions", None)
    assert "• News → 💬 Events" in listing.text
    assert "• Decent housing → 💬 Events" in listing.text
    assert f"• Decent work → 💬 topic #{misc}" in listing.text

    await publish(harness, "News")
    await publish(harness, "Decent work")
    await drain(harness)
    assert [m.message_thread_id for m in pushes(harness, FORUM)] == [events, misc]


async def test_closed_topic_falls_back_to_general_and_admins_are_told_once(
    harness: Harness,
) -> None:
    housing, work = open_forum(harness, "Housing", "Work")
    await in_topic(harness, "/subscribe decent housing", housing)
    await in_topic(harness, "/subscribe decent work", work)
    await publish(harness, "Decent housing")
    await drain(harness)
    assert [m.message_thread_id for m in pushes(harness, FORUM)] == [housing]

    harness.emu.close_topic(FORUM, housing, user_id=ADMIN)
    await harness.settle()
    for _ in range(3):
        await publish(harness, "Decent housing")
    await drain(harness)
    got = pushes(harness, FORUM)
    assert len(got) == 4  # nothing dropped
    assert [m.message_thread_id for m in got[1:]] == [None, None, None]
    notices = [m for m in harness.emu.messages(FORUM) if "For the group's administrators" in m.text]
    assert len(notices) == 1
    assert notices[0].message_thread_id is None and "Housing" in notices[0].text

    # durable: the subscription goes to General now, and later items do not try the topic
    calls_before = len([c for c in harness.emu.calls if c.status == 400])
    await publish(harness, "Decent housing")
    await drain(harness)
    assert len([c for c in harness.emu.calls if c.status == 400]) == calls_before
    assert pushes(harness, FORUM)[-1].message_thread_id is None
    [listing] = await in_topic(harness, "/subscriptions", None)
    assert "• Decent housing\n" in listing.text and "Housing →" not in listing.text

    # a deleted topic: the same, told once, under its own name
    harness.emu.delete_topic(FORUM, work)
    await publish(harness, "Decent work")
    await publish(harness, "Decent work")
    await drain(harness)
    notices = [m for m in harness.emu.messages(FORUM) if "For the group's administrators" in m.text]
    assert len(notices) == 2 and "Work" in notices[1].text
    assert [m.message_thread_id for m in pushes(harness, FORUM)[-2:]] == [None, None]

    counts = await services(harness).delivery.store.deliveries.counts()
    assert set(counts) == {"sent"}  # every delivery went out: none failed or pending
    async with sessions(harness)() as session:
        threads = (
            await session.scalars(
                select(Subscription.thread_id).where(Subscription.chat_id == FORUM)
            )
        ).all()
    assert threads == [None, None]
    assert services(harness).delivery.stats.topic_fallbacks >= 2


async def test_photo_pushes_are_silent_and_routed_too(harness: Harness) -> None:
    async with serving_images() as images:
        url = images.serve("coop.png", make_png(1200, 800))
        [pictures] = open_forum(harness, "Pictures")
        await in_topic(harness, "/subscribe news", pictures)
        await in_topic(harness, f"/quiet {window_around_now('UTC', starts_in=-30, lasts=60)}", None)

        async def photo_item(n: int) -> None:
            draft = ItemDraft("News", f"Bakery {n}", f"https://example.org/bakery/{n}", "Bread.")
            await services(harness).news.publish(replace(draft, image_url=url), source="test")
            await drain(harness)

        await photo_item(1)
        [sent] = [m for m in harness.emu.messages(FORUM) if m.is_photo]
        assert (sent.message_thread_id, sent.disable_notification) == (pictures, True)

        harness.emu.close_topic(FORUM, pictures, user_id=ADMIN)
        await harness.settle()
        await photo_item(2)
        photos = [m for m in harness.emu.messages(FORUM) if m.is_photo]
        assert len(photos) == 2
        assert (photos[1].message_thread_id, photos[1].disable_notification) == (None, True)
        notices = [m for m in harness.emu.messages(FORUM) if "administrators:" in m.text]
        assert len(notices) == 1 and "Pictures" in notices[0].text


async def test_a_group_that_becomes_a_supergroup_keeps_its_quiet_hours(harness: Harness) -> None:
    group = -4_000_077
    harness.emu.register_chat(group, "group", "Old Group")
    news = next(c for c in await services(harness).news.categories() if c.name == "News")
    await add_subscribers(sessions(harness), [group], news.id, chat_type="group")
    now = datetime.now(UTC)
    minute = now.hour * 60 + now.minute
    async with sessions(harness).begin() as session:
        await session.execute(
            update(Chat)
            .where(Chat.id == group)
            .values(quiet_start=(minute - 60) % 1440, quiet_end=(minute + 60) % 1440)
        )
    new_id = harness.emu.faults.migrate(group)
    for _ in range(2):  # the first finds the move, the second is claimed for the new chat
        await publish(harness, "News")
        await drain(harness)
    assert [m.disable_notification for m in pushes(harness, new_id)] == [True, True]
