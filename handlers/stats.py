"""/stats for admins: subscribers and items per category, today's deliveries; and the
report an admin gets when their broadcast ended."""

from __future__ import annotations

import html

from telegram import Update

from bot import texts
from bot.context import BotContext
from bot.i18n import _, current
from handlers.updates import message_of


async def stats(update: Update, context: BotContext) -> None:
    number = current().number
    collected = await context.services.stats.collect()
    lines = [_(texts.STATS_HEADER), _(texts.STATS_SUBSCRIBERS)]
    for name, count in collected.subscribers:
        label = _(texts.STATS_ALL_CATEGORIES) if name is None else html.escape(name)
        lines.append(_(texts.STATS_LINE, name=label, count=number(count)))
    if not collected.subscribers:
        lines.append(_(texts.STATS_NONE))
    lines.append(_(texts.STATS_ITEMS))
    for name, count in collected.items:
        lines.append(_(texts.STATS_LINE, name=html.escape(name), count=number(count)))
    if not collected.items:
        lines.append(_(texts.STATS_NONE))
    lines.append(
        _(
            texts.STATS_DELIVERIES,
            tz=html.escape(context.services.settings.timezone),
            sent=number(collected.sent_today),
            failed=number(collected.failed_today),
            pending=number(collected.pending),
        )
    )
    lines.append(
        _(
            texts.STATS_ACTIVE_CHATS,
            active=number(collected.active_chats),
            inactive=number(collected.inactive_chats),
        )
    )
    lines.append(_(texts.STATS_FILTERED, count=number(collected.held_back_by_filters)))
    await message_of(update).reply_text("\n".join(lines))
