"""Dates people see are in TIMEZONE everywhere: lists, cards, previews, pushed items, reports.

A zone far from UTC makes a date in UTC visibly wrong: at UTC+14 (Pacific/Kiritimati) an item
published at 2024-01-01 15:00 UTC belongs to 2 January.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import i18n, texts
from bot.context import Services
from bot.db.base import utcnow
from bot.render import local_time
from bot.services.validation import ItemDraft
from testbed.harness import ADMIN_ID, Harness, bot_harness

KIRITIMATI = "Pacific/Kiritimati"  # UTC+14 all year
PAGO_PAGO = "Pacific/Pago_Pago"  # UTC-11 all year
OFFSETS = {KIRITIMATI: timedelta(hours=14), PAGO_PAGO: timedelta(hours=-11)}
PUBLISHED = datetime(2024, 1, 1, 15, 0, tzinfo=UTC)
SHOWN, SHOWN_IN_UTC = "2 Jan 2024", "1 Jan 2024"
REPORT = texts.BROADCAST_REPORT.split("<b>", 1)[0]


def _services(harness: Harness) -> Services:
    return harness.application.bot_data["services"]


def test_local_time_converts_before_formatting() -> None:
    english = i18n.translator("en")
    assert english.date(PUBLISHED, ZoneInfo(KIRITIMATI)) == SHOWN
    assert english.date(PUBLISHED, UTC) == SHOWN_IN_UTC
    assert local_time(PUBLISHED, ZoneInfo(PAGO_PAGO), "%Y-%m-%d %H:%M") == "2024-01-01 04:00"
    with pytest.raises(ValueError, match="naive"):
        local_time(datetime(2024, 1, 1, 15, 0), ZoneInfo(KIRITIMATI), "%Y-%m-%d")  # noqa: DTZ001
    with pytest.raises(ValueError, match="naive"):
        english.date(datetime(2024, 1, 1, 15, 0), ZoneInfo(KIRITIMATI))  # noqa: DTZ001


@pytest.fixture
async def far_east(database_url: str) -> AsyncIterator[Harness]:
    async with bot_harness(database_url, timezone=KIRITIMATI) as harness:
        yield harness


async def test_lists_cards_and_pushed_items_use_the_zone(far_east: Harness) -> None:
    harness = far_east
    reader = harness.private()
    await reader.reply("/subscribe all")
    before = harness.message_count(reader.chat_id)
    await _services(harness).news.publish(
        ItemDraft("News", "Late in the day", "https://coop.example/late", None),
        source="test",
        published_at=PUBLISHED,
    )
    [pushed] = (await harness.emu.wait_for_messages(reader.chat_id, before + 1))[before:]
    meta = f"{SHOWN} · News"

    assert meta in pushed.text
    latest = await reader.reply("/latest")
    assert meta in latest.text and SHOWN_IN_UTC not in latest.text
    category = await reader.reply("/category news")
    assert meta in category.text and SHOWN_IN_UTC not in category.text

    admin = harness.admin()
    for command in ("/edit", "/delete"):
        listing = await admin.reply(command)
        assert f"#1 · {SHOWN} · Late in the day" in listing.text, command
    # the card above the /edit and /delete buttons
    assert meta in (await admin.reply("/delete 1")).text
    assert meta in (await admin.reply("/edit 1")).text
    await admin.reply("/cancel")
    duplicate = await admin.reply("/add News | Again | https://coop.example/late")
    assert meta in duplicate.text and SHOWN_IN_UTC not in duplicate.text


def _far_from_utc_today() -> str:
    """A zone whose date differs from UTC's right now (UTC+14 after 10:00 UTC, else UTC-11)."""
    return KIRITIMATI if utcnow().hour >= 10 else PAGO_PAGO


def _today_in(zone: str) -> str:
    """Today's date in `zone`, worked out from its fixed offset, not by the code under test."""
    return _english_day(utcnow() + OFFSETS[zone])


def _english_day(moment: datetime) -> str:
    """How an English reader sees a day: 2 Jan 2024 (worked out here, not by the bot)."""
    return f"{moment.day} {moment:%b %Y}"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.value = now

    def __call__(self) -> datetime:
        return self.value


async def test_previews_confirmations_and_reports_use_the_zone(database_url: str) -> None:
    zone = _far_from_utc_today()
    async with bot_harness(database_url, timezone=zone, schedule_poll_seconds=0.05) as harness:
        today, today_in_utc = _today_in(zone), _english_day(utcnow())
        assert today != today_in_utc  # otherwise this test could not tell the two apart
        admin = harness.admin()

        # the one-line /add answers with the card as readers will see it
        _, card = [
            m
            for m in await admin.send("/add News | One line | https://coop.example/one")
            if not m.html.startswith(REPORT)  # the job may report the broadcast meanwhile
        ]
        assert f"{today} · News" in card.text
        # …and it does report it: let that pass before the next steps, which expect one answer
        await harness.emu.wait_for(
            lambda: any(m.html.startswith(REPORT) for m in harness.emu.messages(ADMIN_ID)),
            timeout=30,
        )

        # the preview of the guided /add
        await admin.send("/add")
        await admin.send("Guided")
        await admin.send("News")
        await admin.send("https://coop.example/guided")
        [ask_photo] = await admin.send("A summary")
        (_, preview), _answers = await admin.press(ask_photo, texts.BUTTON_SKIP)
        assert f"{today} · News" in preview.text

        # the scheduled confirmation, and the report when the scheduled item went out
        clock = Clock(utcnow())
        _services(harness).scheduling.now = clock
        [ask] = (await admin.press(preview, texts.BUTTON_SCHEDULE))[0]
        tz = ZoneInfo(zone)
        when = (clock.value + timedelta(days=1)).astimezone(tz).replace(second=0, microsecond=0)
        typed = when.strftime("%Y-%m-%d %H:%M")  # what a person in that zone types
        tomorrow = (clock.value + OFFSETS[zone] + timedelta(days=1)).strftime("%Y-%m-%d")
        assert ask.html == texts.ADD_ASK_WHEN.format(tz=zone, example=f"{tomorrow} 09:00")
        done = await admin.reply(typed)
        assert done.html.startswith(texts.ADD_SCHEDULED.format(when=typed, tz=zone) + "\n")
        clock.value = when.astimezone(UTC) + timedelta(minutes=1)
        out = texts.SCHEDULED_PUBLISHED.format(id=2)
        [report] = await harness.emu.wait_for(
            lambda: [m for m in harness.emu.messages(ADMIN_ID) if (m.html or "").startswith(out)]
        )
        assert f"{today} · News" in report.text

        # /admins lists when each admin was added
        await admin.send("/admins add 5005")
        [listing] = [
            m for m in await admin.send("/admins") if m.html.startswith(texts.ADMINS_HEADER)
        ]
        assert f"on {today}" in listing.text and f"on {today_in_utc}" not in listing.text
