"""/stats for admins: subscribers and items per category, today's deliveries; and the
report an admin gets when their broadcast ended."""

from __future__ import annotations

import html

from telegram import Update

from bot import texts
from bot.context import BotContext
from bot.i18n import _, current
from handlers.presentation import category_name, in_name_order
from handlers.updates import message_of


async def stats(update: Update, context: BotContext) -> None:
    number = current().number
    collected = await context.services.stats.collect()
    lines = [_(texts.STATS_HEADER), _(texts.STATS_SUBSCRIBERS)]
    # "all categories" first, then each category under its name in the admin's language
    followed = dict(collected.subscribers)
    if None in followed:
        everything = _(texts.STATS_ALL_CATEGORIES)
        lines.append(_(texts.STATS_LINE, name=everything, count=number(followed[None])))
    for category in in_name_order(c for c in followed if c is not None):
        name = html.escape(category_name(category))
        lines.append(_(texts.STATS_LINE, name=name, count=number(followed[category])))
    if not collected.subscribers:
        lines.append(_(texts.STATS_NONE))
    lines.append(_(texts.STATS_ITEMS))
    for category in in_name_order(collected.items):
        name = html.escape(category_name(category))
        lines.append(_(texts.STATS_LINE, name=name, count=number(category.item_count)))
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
