"""/stats for admins: subscribers and items per category, today's deliveries."""

from __future__ import annotations

import contextlib
import html
from datetime import timedelta

from telegram import Update
from telegram.error import TelegramError

from bot import texts
from bot.context import BotContext
from handlers import corrections


async def stats(update: Update, context: BotContext) -> None:
    collected = await context.services.stats.collect()
    lines = [texts.STATS_HEADER, texts.STATS_SUBSCRIBERS]
    for name, count in collected.subscribers:
        label = texts.STATS_ALL_CATEGORIES if name is None else html.escape(name)
        lines.append(texts.STATS_LINE.format(name=label, count=count))
    if not collected.subscribers:
        lines.append(texts.STATS_NONE)
    lines.append(texts.STATS_ITEMS)
    for name, count in collected.items:
        lines.append(texts.STATS_LINE.format(name=html.escape(name), count=count))
    if not collected.items:
        lines.append(texts.STATS_NONE)
    lines.append(
        texts.STATS_DELIVERIES.format(
            tz=html.escape(context.services.settings.timezone),
            sent=collected.sent_today,
            failed=collected.failed_today,
            pending=collected.pending,
        )
    )
    lines.append(
        texts.STATS_ACTIVE_CHATS.format(
            active=collected.active_chats, inactive=collected.inactive_chats
        )
    )
    await update.effective_message.reply_text("\n".join(lines))


def _duration(took: timedelta) -> str:
    seconds = took.total_seconds()
    if seconds < 60:
        return texts.DURATION_SECONDS.format(s=f"{seconds:.1f}")
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return texts.DURATION_MINUTES.format(m=minutes, s=seconds)
    hours, minutes = divmod(minutes, 60)
    return texts.DURATION_HOURS.format(h=hours, m=minutes)


async def report_broadcasts(context: BotContext) -> None:
    """JobQueue job: tell each publishing admin how their broadcast went, once it ended, and
    each correcting admin how their /edit or /delete went, once it is done."""
    for done in await context.services.reports.take_finished_corrections():
        with contextlib.suppress(TelegramError):  # the admin blocked the bot meanwhile
            await context.bot.send_message(done.chat_id, corrections.correction_report(done))
    for report in await context.services.reports.take_finished():
        text = texts.BROADCAST_REPORT.format(
            id=report.item_id,
            title=html.escape(report.title),
            sent=report.sent,
            blocked=report.blocked,
            failed=report.failed,
            took=_duration(report.took),
        )
        # TelegramError: the admin blocked the bot or never opened a chat with it
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(report.admin_id, text)
