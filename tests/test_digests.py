"""Digests and time zones, end to end: people talk to the bot through the emulator, the bot
runs on the real database, and a controllable clock stands in for the days going by (the
digests service's `now`), so a daily digest crosses daylight-saving changes without sleeping.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from bot import i18n, texts
from bot.callbacks import ChooseZone, DigestChoice, encode
from bot.db.models import Digest
from bot.lifecycle import running_bot
from bot.sandbox import UpdateTracker
from bot.services.digests import Schedule, latest_due, local_due, parse_schedule
from bot.services.validation import ItemDraft
from emulator import BotApiEmulator
from testbed.harness import (
    ADMIN_ID,
    BOT_USERNAME,
    GROUP_ID,
    TOKEN,
    Chatter,
    Harness,
    bot_harness,
)
from testbed.harness import (
    test_settings as settings_for,
)

PARIS = "Europe/Paris"
EN = i18n.translator("en")


def _services(harness: Harness):
    return harness.application.bot_data["services"]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.value = now

    def __call__(self) -> datetime:
        return self.value


@pytest.fixture
async def paris(database_url: str) -> AsyncIterator[tuple[Harness, Clock]]:
    # the jobs never tick by themselves in these tests: `_tick` runs the due check
    async with bot_harness(database_url, timezone=PARIS, schedule_poll_seconds=3600) as harness:
        clock = Clock(datetime(2030, 3, 29, 12, 0, tzinfo=UTC))
        _services(harness).digests.now = clock
        yield harness, clock


async def _tick(harness: Harness) -> int:
    """What the digests job and the sender do: make the due rows, send them all."""
    await _services(harness).digests.create_due()
    return await _send_due(harness)


async def _send_due(harness: Harness) -> int:
    """Until the sender has carried out every digest due now; how many it claimed."""
    runner = _services(harness).delivery.digests_runner
    before = runner.claimed
    await runner.settled()
    return runner.claimed - before


async def _publish(
    harness: Harness, title: str, at: datetime, category: str = "News", *, language: str = "en"
) -> int:
    slug = title.lower().replace(" ", "-")
    published = await _services(harness).news.publish(
        ItemDraft(category, title, f"https://coop.example/{slug}", None, language),
        source="test",
        published_at=at,
    )
    return published.item.id


def _digests(harness: Harness, chat: Chatter, since: int = 0):
    return [
        m for m in harness.emu.messages(chat.chat_id)[since:] if m.text.startswith("📬 Your digest")
    ]


async def _reader(harness: Harness, schedule: str) -> Chatter:
    reader = harness.private()
    await reader.send("/subscribe all")
    await reader.send(f"/digest {schedule}")
    return reader


# -- the moments -----------------------------------------------------------------------------


def test_due_moments_across_daylight_saving_changes() -> None:
    paris = ZoneInfo(PARIS)
    # 31 March 2030: 02:00 → 03:00; 02:30 does not exist, read with the winter offset
    assert local_due(date(2030, 3, 31), 150, paris) == datetime(2030, 3, 31, 1, 30, tzinfo=UTC)
    # 27 October 2030: 03:00 → 02:00; 02:30 happens twice, the first one counts
    assert local_due(date(2030, 10, 27), 150, paris) == datetime(2030, 10, 27, 0, 30, tzinfo=UTC)
    weekly = parse_schedule(["weekly", "lun", "08:00"])
    assert weekly == Schedule("weekly", 480, 0)
    assert parse_schedule(["weekly", "mié", "8:00"]) == Schedule("weekly", 480, 2)
    day, due = latest_due(weekly, paris, datetime(2030, 4, 3, 12, 0, tzinfo=UTC))
    assert (day.isoformat(), due) == ("2030-04-01", datetime(2030, 4, 1, 6, 0, tzinfo=UTC))


# -- daily, across the changes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours"),
    [
        (datetime(2030, 3, 29, 12, 0, tzinfo=UTC), 72),  # spring forward on 31 March
        (datetime(2030, 10, 25, 12, 0, tzinfo=UTC), 72),  # fall back on 27 October
    ],
)
async def test_a_daily_digest_comes_once_each_local_day_across_a_dst_change(
    paris: tuple[Harness, Clock], start: datetime, hours: int
) -> None:
    harness, clock = paris
    clock.value = start
    # 02:30: on the spring day that hour does not exist, on the autumn day it happens twice
    reader = await _reader(harness, "daily 02:30")
    instant = harness.private()
    await instant.send("/subscribe all")
    before = harness.message_count(reader.chat_id)
    titles = []
    for hour in range(1, hours + 1):
        clock.value = start + timedelta(hours=hour)
        if hour % 24 == 6:  # one item a day, in the afternoon
            titles.append(f"Item of day {hour // 24}")
            await _publish(harness, titles[-1], clock.value)
        await _tick(harness)
        if hour % 12 == 0:  # the half-hours too: an hour that happens twice is no second digest
            clock.value += timedelta(minutes=30)
            await _tick(harness)
    await harness.emu.wait_for_messages(instant.chat_id, 1 + len(titles))  # instant pushes
    digests = _digests(harness, reader, before)
    # three local mornings at 02:30 after the start: one digest each, with the day's item
    assert [m.text.count("•") for m in digests] == [1, 1, 1], [m.text for m in digests]
    for message, title in zip(digests, titles, strict=False):
        assert title in message.text
    # and nothing else: a chat in digest mode gets no instant pushes
    assert len(harness.emu.messages(reader.chat_id)) == before + 3


# -- weekly, grouping, links, languages ------------------------------------------------------------


async def test_a_weekly_digest_groups_by_category_and_links_titles(
    paris: tuple[Harness, Clock],
) -> None:
    harness, clock = paris
    clock.value = datetime(2030, 4, 1, 9, 0, tzinfo=UTC)  # Monday 11:00 in Paris
    reader = await _reader(harness, "weekly mon 08:00")
    await _publish(harness, "Housing news", clock.value + timedelta(days=1), "Housing")
    await _publish(harness, "Energy news", clock.value + timedelta(days=2), "Energy")
    await _publish(harness, "More housing", clock.value + timedelta(days=3), "Housing")
    await _publish(harness, "Noticia en español", clock.value + timedelta(days=3), language="es")
    await reader.send("/language")  # "News in": English only
    menu = harness.emu.messages(reader.chat_id)[-1]
    for label in ("Spanish", "French", "Other"):
        await reader.press(menu, label)
    before = harness.message_count(reader.chat_id)
    clock.value = datetime(2030, 4, 8, 5, 59, tzinfo=UTC)  # Monday 07:59 in Paris
    await _tick(harness)
    assert _digests(harness, reader, before) == []
    clock.value = datetime(2030, 4, 8, 6, 0, tzinfo=UTC)  # 08:00
    await _tick(harness)
    [digest] = _digests(harness, reader, before)
    assert digest.text.splitlines() == [
        "📬 Your digest · 3 items",
        "",
        "Energy",
        "• Energy news",
        "",
        "Housing",
        "• Housing news",
        "• More housing",
    ]
    assert '<a href="https://coop.example/housing-news">Housing news</a>' in digest.html
    await _tick(harness)  # the same week again: nothing more
    assert len(_digests(harness, reader, before)) == 1


async def test_a_digest_lists_only_what_the_chats_keyword_filters_let_through(
    paris: tuple[Harness, Clock],
) -> None:
    harness, clock = paris
    reader = await _reader(harness, "daily 08:00")
    await reader.send("/filter add housing")
    await reader.send("/filter add -bank")
    await _publish(harness, "Housing co-ops grow", clock.value + timedelta(hours=1))
    await _publish(harness, "Housing bank merger", clock.value + timedelta(hours=2))
    await _publish(harness, "Energy news", clock.value + timedelta(hours=3))
    before = harness.message_count(reader.chat_id)
    clock.value = datetime(2030, 3, 30, 7, 0, tzinfo=UTC)
    await _tick(harness)
    [digest] = _digests(harness, reader, before)
    assert [line for line in digest.text.splitlines() if line.startswith("•")] == [
        "• Housing co-ops grow"
    ]


async def test_a_long_digest_continues_over_several_messages_and_an_empty_one_is_not_sent(
    paris: tuple[Harness, Clock],
) -> None:
    harness, clock = paris
    reader = await _reader(harness, "daily 08:00")
    before = harness.message_count(reader.chat_id)
    clock.value = datetime(2030, 3, 30, 7, 0, tzinfo=UTC)  # past 08:00 Paris: nothing published
    await _tick(harness)
    assert _digests(harness, reader, before) == []
    long_title = "A long title about co-operatives and their many members " * 4
    for n in range(40):
        await _publish(
            harness, f"{n:02d} {long_title}"[:250], clock.value + timedelta(minutes=n + 1)
        )
    clock.value = datetime(2030, 3, 31, 7, 0, tzinfo=UTC)
    await _tick(harness)
    pages = [m for m in harness.emu.messages(reader.chat_id)[before:] if "📬" in m.text]
    assert len(pages) >= 3
    assert all(len(page.text) <= 4096 for page in pages)
    assert pages[0].text.startswith("📬 Your digest · 40 items")
    assert all(page.text.startswith("📬 Your digest (continued)") for page in pages[1:])
    assert sum(page.text.count("•") for page in pages) == 40


async def test_deleted_items_are_left_out_and_edited_ones_appear_edited(
    paris: tuple[Harness, Clock],
) -> None:
    harness, clock = paris
    reader = await _reader(harness, "daily 08:00")
    kept = await _publish(harness, "Old title", clock.value + timedelta(hours=1))
    gone = await _publish(harness, "Withdrawn soon", clock.value + timedelta(hours=2))
    before = harness.message_count(reader.chat_id)
    clock.value = datetime(2030, 3, 30, 6, 0, tzinfo=UTC)  # 07:00 Paris: the row is not due
    await _tick(harness)
    services = _services(harness)
    await services.corrections.edit(ADMIN_ID, kept, "title", "New title")
    await services.corrections.delete(ADMIN_ID, gone)
    clock.value = datetime(2030, 3, 30, 7, 0, tzinfo=UTC)
    await _tick(harness)
    [digest] = _digests(harness, reader, before)
    assert "New title" in digest.text
    assert "Old title" not in digest.text and "Withdrawn" not in digest.text


# -- restarts ------------------------------------------------------------------------------------


async def test_a_bot_that_was_down_at_digest_time_sends_it_when_it_comes_back(
    database_url: str,
) -> None:
    # the real clock: the due check that runs when the bot starts does the work
    now = datetime.now(UTC)
    wanted = (now - timedelta(minutes=5)).strftime("%H:%M")
    async with BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME) as emu:
        settings = settings_for(database_url, emu.base_url, schedule_poll_seconds=3600)
        async with _bot_on(emu, settings) as first:
            chat_id = await _enable_then_stop(first, now, wanted)
        # down at digest time; back now: the due check that runs at start sends it
        async with _bot_on(emu, settings) as second:
            before = len(emu.messages(chat_id))  # the replies to /subscribe and /digest
            assert before == 2
            messages = await emu.wait_for_messages(chat_id, before + 1, timeout=15)
            assert messages[-1].text.startswith("📬 Your digest · 1 item")
            assert "While we slept" in messages[-1].text
            assert await _tick(second) == 0  # sent once: nothing left, nothing made again
            assert len(emu.messages(chat_id)) == before + 1


@contextlib.asynccontextmanager
async def _bot_on(emu: BotApiEmulator, settings) -> AsyncIterator[Harness]:  # type: ignore[no-untyped-def]
    async with running_bot(settings) as application:
        tracker = UpdateTracker()
        tracker.install(application)
        yield Harness(emu, application, settings, tracker)


async def _enable_then_stop(first: Harness, now: datetime, wanted: str) -> int:
    services = _services(first)
    services.digests.now = lambda: now - timedelta(days=1)  # enabled yesterday
    reader = await _reader(first, f"daily {wanted}")
    await services.news.publish(
        ItemDraft("News", "While we slept", "https://coop.example/slept", None),
        source="test",
        published_at=now - timedelta(hours=2),
    )
    return reader.chat_id


async def test_a_digest_held_by_a_process_that_died_is_sent_once_its_lease_ends(
    paris: tuple[Harness, Clock],
) -> None:
    harness, clock = paris
    reader = await _reader(harness, "daily 08:00")
    await _publish(harness, "Before the crash", clock.value + timedelta(hours=1))
    before = harness.message_count(reader.chat_id)
    clock.value = datetime(2030, 3, 30, 7, 0, tzinfo=UTC)
    services = _services(harness)
    # stopped (still holding the sender lock) while the row is made, so that another
    # process claims it first
    await services.delivery.stop()
    assert await services.digests.create_due() == 1
    assert await services.digests.create_due() == 0  # made once
    store = services.delivery.store.digests
    # another process claimed it and is alive (its lease runs): this one leaves it alone
    [held] = await store.claim("other:1", 10, lease_seconds=300)
    assert held.chat_id == reader.chat_id
    await services.delivery.start()
    assert await _send_due(harness) == 0
    assert _digests(harness, reader, before) == []
    # it died: once its lease is over, the row is claimed again and sent, once
    async with services.digests._sessions.begin() as session:  # its lease runs out
        await session.execute(
            update(Digest).values(lease_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    await _send_due(harness)  # (the sender's own poll may have claimed it first)
    assert await _send_due(harness) == 0
    [digest] = _digests(harness, reader, before)
    assert "Before the crash" in digest.text


# -- the keyboard, time zones, groups ------------------------------------------------------------


async def test_the_keyboard_switches_the_digest(paris: tuple[Harness, Clock]) -> None:
    harness, _clock = paris
    reader = harness.private()
    menu = await reader.reply("/digest")
    assert menu.html == EN(texts.DIGEST_SHOW_OFF, tz=PARIS)
    await reader.press(menu, "Weekly")
    days = harness.emu.messages(reader.chat_id)[-1]
    assert days.html == EN(texts.DIGEST_CHOOSE_DAY)
    await reader.press(days, "Friday")
    times = harness.emu.messages(reader.chat_id)[-1]
    await reader.press(times, "18:00")
    shown = harness.emu.messages(reader.chat_id)[-1]
    assert shown.html == EN(texts.DIGEST_SHOW_WEEKLY, weekday="Friday", time="18:00", tz=PARIS)
    summary = await reader.reply("/subscriptions")
    assert "📬 Digest: every Friday at 18:00 · time zone Europe/Paris" in summary.text
    await reader.press(shown, "Instant")
    assert (await reader.reply("/digest")).html == EN(texts.DIGEST_SHOW_OFF, tz=PARIS)


async def test_timezone_shows_suggests_and_sets(paris: tuple[Harness, Clock]) -> None:
    harness, _clock = paris
    reader = harness.private(language_code="es")
    shown = await reader.reply("/timezone")
    assert "<b>Europe/Paris</b>" in shown.html
    labels = [b["text"] for b in shown.buttons]
    assert "America/Bogota" in labels and "America/Argentina/Buenos_Aires" in labels
    await reader.press(shown, "America/Bogota")
    spanish = i18n.translator("es")
    assert (await reader.reply("/digest")).html == spanish(
        texts.DIGEST_SHOW_OFF, tz="America/Bogota"
    )
    done = await reader.reply("/timezone asia/tokyo")
    assert "<b>Asia/Tokyo</b>" in done.html
    assert await _services(harness).chats.time_zone(reader.chat_id) == "Asia/Tokyo"


async def test_every_bad_input_gets_the_right_form_and_changes_nothing(
    paris: tuple[Harness, Clock],
) -> None:
    harness, _clock = paris
    reader = harness.private()
    await reader.send("/digest daily 07:00")
    bad_time = await reader.reply("/digest daily 25:00")
    assert bad_time.html == EN(
        texts.DIGEST_BAD_INPUT, problem=EN(texts.DIGEST_PROBLEM_TIME, text="25:00")
    )
    bad_day = await reader.reply("/digest weekly funday 08:00")
    assert bad_day.html == EN(
        texts.DIGEST_BAD_INPUT, problem=EN(texts.DIGEST_PROBLEM_WEEKDAY, text="funday")
    )
    bad_form = await reader.reply("/digest sometimes")
    assert bad_form.html == EN(texts.DIGEST_BAD_INPUT, problem=EN(texts.DIGEST_PROBLEM_FORM))
    unknown = await reader.reply("/timezone Mars/Olympus_Mons")
    assert unknown.html == EN(texts.TIMEZONE_UNKNOWN, name=html.escape("Mars/Olympus_Mons"))
    menu = await reader.reply("/digest")
    for forged in (
        "v1:dg:daily:1440",
        "v1:dg:weekly:7:480",
        "v1:dg:hourly",
        "v1:tz:Mars/Olympus_Mons",
        "v1:tz:",
        "v2:dg:off",
    ):
        sent, answers = await reader.press(menu, data=forged)
        assert sent == [] and [a["text"] for a in answers] == [EN(texts.BUTTON_EXPIRED)], forged
    # nothing changed: still daily at 07:00 in the TIMEZONE setting's zone
    assert (await reader.reply("/digest")).html == EN(
        texts.DIGEST_SHOW_DAILY, time="07:00", tz=PARIS
    )
    assert await _services(harness).chats.time_zone(reader.chat_id) is None
    assert len(encode(ChooseZone("America/Argentina/Buenos_Aires")).encode()) <= 64
    assert encode(DigestChoice("weekly", 6, 1439)) == "v1:dg:weekly:6:1439"


async def test_in_a_group_only_administrators_change_digest_and_time_zone(
    paris: tuple[Harness, Clock],
) -> None:
    harness, _clock = paris
    member = harness.in_group(4101)
    assert (await member.reply("/digest daily 08:00")).html == EN(texts.DIGEST_ADMINS_ONLY)
    assert (await member.reply("/timezone Europe/Madrid")).html == EN(texts.TIMEZONE_ADMINS_ONLY)
    menu = await member.reply("/digest")
    sent, answers = await member.press(menu, "Daily")
    assert sent == [] and [a["text"] for a in answers] == [EN(texts.DIGEST_ADMINS_ONLY_ALERT)]
    harness.emu.set_member_status(GROUP_ID, 4101, "administrator")
    assert "every day at 08:00" in (await member.reply("/digest daily 08:00")).text
    assert "Europe/Madrid" in (await member.reply("/timezone Europe/Madrid")).text


async def test_a_group_that_became_a_supergroup_gets_its_digest_there_and_keeps_the_setting(
    paris: tuple[Harness, Clock],
) -> None:
    harness, clock = paris
    clock.value = datetime(2030, 4, 1, 9, 0, tzinfo=UTC)  # Monday 11:00 in Paris
    admin = harness.in_group(4102)
    harness.emu.set_member_status(GROUP_ID, 4102, "administrator")
    await admin.send("/subscribe all")
    await admin.send("/digest daily 08:00")
    new_id = harness.emu.faults.migrate(GROUP_ID)
    await _publish(harness, "Before the move", clock.value + timedelta(hours=1))
    clock.value = datetime(2030, 4, 2, 6, 0, tzinfo=UTC)  # Tuesday 08:00
    await _tick(harness)
    [first] = [m for m in harness.emu.messages(new_id) if m.text.startswith("📬 Your digest")]
    assert "Before the move" in first.text
    # moved as the delivery engine moves a chat: the old group is left, its subscriptions go
    assert not await _services(harness).chats.is_active(GROUP_ID)
    # the supergroup took over the digest setting: its next item waits for the next digest
    await _publish(harness, "After the move", clock.value + timedelta(hours=1))
    await harness.settle()
    assert not [m for m in harness.emu.messages(new_id) if "After the move" in m.text]
    clock.value = datetime(2030, 4, 3, 6, 0, tzinfo=UTC)  # Wednesday 08:00
    await _tick(harness)
    digests = [m for m in harness.emu.messages(new_id) if m.text.startswith("📬 Your digest")]
    assert len(digests) == 2 and "After the move" in digests[1].text
    assert "Before the move" not in digests[1].text
