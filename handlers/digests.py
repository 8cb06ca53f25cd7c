"""/digest (instant pushes, or one message a day or a week) and /timezone, with their keyboards.

In groups only the group's administrators change either (`may_manage`, as for subscriptions).
Bad input changes nothing and gets the right form back. The digests themselves are made by
the jobs (`bot.jobs`) and sent by the sender (`bot.delivery.kinds.digests`).
"""

from __future__ import annotations

import contextlib
import html
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot import texts
from bot.callbacks import ChooseZone, DigestChoice, StaleCallback, decode, encode
from bot.context import BotContext
from bot.i18n import _, current
from bot.services.chats import known_zone
from bot.services.digests import (
    DAILY,
    OFF,
    WEEKLY,
    BadSchedule,
    DigestSettings,
    Schedule,
    parse_schedule,
)
from handlers.permissions import may_manage
from handlers.presentation import weekday_name
from handlers.updates import chat_id_of, chat_of, message_of, query_of

TIME_CHOICES = (7 * 60, 8 * 60, 12 * 60, 18 * 60, 20 * 60)
# a few zones to tap, by the chat's language
SUGGESTED_ZONES = {
    "en": (
        "Europe/London",
        "America/New_York",
        "America/Chicago",
        "America/Los_Angeles",
        "Africa/Nairobi",
        "Asia/Kolkata",
        "Australia/Sydney",
        "UTC",
    ),
    "fr": (
        "Europe/Paris",
        "Europe/Brussels",
        "Africa/Abidjan",
        "Africa/Dakar",
        "America/Montreal",
        "Africa/Kinshasa",
        "UTC",
    ),
    "es": (
        "Europe/Madrid",
        "America/Mexico_City",
        "America/Bogota",
        "America/Lima",
        "America/Argentina/Buenos_Aires",
        "America/Santiago",
        "UTC",
    ),
}


# -- rendering ---------------------------------------------------------------------------


def settings_text(settings: DigestSettings) -> str:
    schedule, tz = settings.schedule, html.escape(settings.timezone)
    if schedule.mode == DAILY:
        return _(texts.DIGEST_SHOW_DAILY, time=schedule.clock, tz=tz)
    if schedule.mode == WEEKLY:
        return _(
            texts.DIGEST_SHOW_WEEKLY,
            weekday=weekday_name(schedule.weekday),
            time=schedule.clock,
            tz=tz,
        )
    return _(texts.DIGEST_SHOW_OFF, tz=tz)


def _mark(on: bool) -> str:
    return texts.NEWS_IN_CHECK if on else ""


def modes_keyboard(schedule: Schedule) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _mark(schedule.mode is None) + _(texts.DIGEST_BUTTON_OFF),
                    callback_data=encode(DigestChoice("off")),
                ),
                InlineKeyboardButton(
                    _mark(schedule.mode == DAILY) + _(texts.DIGEST_BUTTON_DAILY),
                    callback_data=encode(DigestChoice(DAILY)),
                ),
                InlineKeyboardButton(
                    _mark(schedule.mode == WEEKLY) + _(texts.DIGEST_BUTTON_WEEKLY),
                    callback_data=encode(DigestChoice(WEEKLY)),
                ),
            ]
        ]
    )


def _days_keyboard() -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(weekday_name(day), callback_data=encode(DigestChoice(WEEKLY, day)))
        for day in range(7)
    ]
    return InlineKeyboardMarkup([buttons[:4], buttons[4:]])


def _times_keyboard(choice: DigestChoice) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            f"{minute // 60:02d}:{minute % 60:02d}",
            callback_data=encode(DigestChoice(choice.mode, choice.weekday, minute)),
        )
        for minute in TIME_CHOICES
    ]
    return InlineKeyboardMarkup([buttons])


def _local_time(zone: str) -> str:
    return datetime.now(ZoneInfo(zone)).strftime("%H:%M")


def zones_keyboard(language: str) -> InlineKeyboardMarkup:
    zones = SUGGESTED_ZONES.get(language, SUGGESTED_ZONES["en"])
    buttons = [InlineKeyboardButton(zone, callback_data=encode(ChooseZone(zone))) for zone in zones]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def _problem(exc: BadSchedule) -> str:
    text = html.escape(exc.text[:32])
    if exc.problem == "time":
        return _(texts.DIGEST_PROBLEM_TIME, text=text)
    if exc.problem == "weekday":
        return _(texts.DIGEST_PROBLEM_WEEKDAY, text=text)
    return _(texts.DIGEST_PROBLEM_FORM)


# -- /digest -------------------------------------------------------------------------------


async def digest(update: Update, context: BotContext) -> None:
    message = message_of(update)
    chat = chat_of(update)
    digests = context.services.digests
    if not context.args:
        settings = await digests.settings(chat.id)
        await message.reply_text(
            settings_text(settings), reply_markup=modes_keyboard(settings.schedule)
        )
        return
    try:
        schedule = parse_schedule(context.args)
    except BadSchedule as exc:
        await message.reply_text(_(texts.DIGEST_BAD_INPUT, problem=_problem(exc)))
        return
    if not await may_manage(update, context, chat):
        await message.reply_text(_(texts.DIGEST_ADMINS_ONLY))
        return
    settings = await digests.choose(chat.id, schedule)
    await message.reply_text(
        settings_text(settings), reply_markup=modes_keyboard(settings.schedule)
    )


async def on_digest_button(update: Update, context: BotContext) -> None:
    query = query_of(update)
    try:
        choice = decode(query.data, (DigestChoice,))
    except StaleCallback:
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return
    assert isinstance(choice, DigestChoice)
    chat = chat_of(update)
    if not await may_manage(update, context, chat):
        await query.answer(_(texts.DIGEST_ADMINS_ONLY_ALERT), show_alert=True)
        return
    digests = context.services.digests
    if choice.mode == WEEKLY and choice.weekday is None:
        await query.answer()
        await _edit(query, _(texts.DIGEST_CHOOSE_DAY), _days_keyboard())
        return
    if choice.mode != "off" and choice.minute is None:
        tz = html.escape((await digests.settings(chat.id)).timezone)
        await query.answer()
        await _edit(query, _(texts.DIGEST_CHOOSE_TIME, tz=tz), _times_keyboard(choice))
        return
    if choice.mode == "off":
        schedule = OFF
    else:
        schedule = Schedule(choice.mode, choice.minute or 0, choice.weekday or 0)
    settings = await digests.choose(chat.id, schedule)
    await query.answer()
    await _edit(query, settings_text(settings), modes_keyboard(settings.schedule))


async def _edit(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup) -> None:
    with contextlib.suppress(BadRequest):  # "message is not modified": a double tap
        await query.edit_message_text(text, reply_markup=markup)


# -- /timezone -----------------------------------------------------------------------------


async def timezone(update: Update, context: BotContext) -> None:
    message = message_of(update)
    chat = chat_of(update)
    chats = context.services.chats
    if not context.args:
        stored = await chats.time_zone(chat.id) or context.services.settings.timezone
        await message.reply_text(
            _(texts.TIMEZONE_SHOW, tz=html.escape(stored), time=_local_time(stored)),
            reply_markup=zones_keyboard(current().language),
        )
        return
    wanted = " ".join(context.args)
    try:
        zone = await _set_zone(update, context, wanted)
    except ValueError:
        await message.reply_text(_(texts.TIMEZONE_UNKNOWN, name=html.escape(wanted[:64])))
        return
    if zone is None:
        await message.reply_text(_(texts.TIMEZONE_ADMINS_ONLY))
        return
    await message.reply_text(_(texts.TIMEZONE_SET, tz=html.escape(zone), time=_local_time(zone)))


async def _set_zone(update: Update, context: BotContext, wanted: str) -> str | None:
    """The zone as stored; None when this user may not change it; ValueError if unknown."""
    if known_zone(wanted) is None:
        raise ValueError(wanted)
    if not await may_manage(update, context, chat_of(update)):
        return None
    return await context.services.chats.set_time_zone(chat_id_of(update), wanted)


async def on_zone_button(update: Update, context: BotContext) -> None:
    query = query_of(update)
    try:
        choice = decode(query.data, (ChooseZone,))
        assert isinstance(choice, ChooseZone)
        zone = await _set_zone(update, context, choice.name)
    except (StaleCallback, ValueError):
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return
    if zone is None:
        await query.answer(_(texts.TIMEZONE_ADMINS_ONLY_ALERT), show_alert=True)
        return
    await query.answer()
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(
            _(texts.TIMEZONE_SET, tz=html.escape(zone), time=_local_time(zone))
        )
