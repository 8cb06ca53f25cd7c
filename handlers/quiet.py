"""/quiet: quiet hours, when pushes arrive without a sound, in the chat's time zone.

`/quiet` shows them and the form; `/quiet 22:00-07:00` sets them; `/quiet off` removes them.
The same rule as subscriptions: in groups only the group's administrators change them.
"""

from __future__ import annotations

import html

from telegram import Update

from bot import texts
from bot.context import BotContext
from bot.i18n import _
from bot.services.quiet import BadWindow, EmptyWindow, QuietHours, parse_window
from handlers.permissions import may_manage
from handlers.updates import args_of, chat_of, message_of

OFF = "off"
GIVEN_SHOWN_MAX = 64  # of what the reader typed, echoed in the "couldn't read" reply


def shown(hours: QuietHours) -> str:
    zone = html.escape(hours.timezone)
    if hours.start is None or hours.end is None:
        return _(texts.QUIET_NONE, zone=zone)
    return _(
        texts.QUIET_SHOW, start=hours.clock(hours.start), end=hours.clock(hours.end), zone=zone
    )


async def quiet(update: Update, context: BotContext) -> None:
    message = message_of(update)
    chat = chat_of(update)
    service = context.services.quiet
    given = " ".join(args_of(context)).strip()
    if not given:
        await message.reply_text(shown(await service.get(chat.id)))
        return
    if not await may_manage(update, context, chat):
        await message.reply_text(_(texts.QUIET_ADMINS_ONLY))
        return
    if given.casefold() == OFF:
        if not (await service.get(chat.id)).on:
            await message.reply_text(_(texts.QUIET_ALREADY_OFF))
            return
        await service.set(chat.id, None, None)
        await message.reply_text(_(texts.QUIET_OFF))
        return
    try:
        start, end = parse_window(given)
    except EmptyWindow:
        await message.reply_text(_(texts.QUIET_EMPTY_WINDOW))
        return
    except BadWindow:
        await message.reply_text(
            _(texts.QUIET_BAD_FORM, given=html.escape(given[:GIVEN_SHOWN_MAX]))
        )
        return
    hours = await service.set(chat.id, start, end)
    await message.reply_text(
        _(
            texts.QUIET_SET,
            start=hours.clock(start),
            end=hours.clock(end),
            zone=html.escape(hours.timezone),
        )
    )
