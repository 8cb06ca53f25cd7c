"""/stats for admins: subscribers and items per category, today's deliveries; and the
report an admin gets when their broadcast ended."""

from __future__ import annotations

import html
from datetime import timedelta

from telegram import Update

from bot import texts
from bot.context import BotContext
from bot.services.reports import BroadcastReportView


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


def report_text(report: BroadcastReportView) -> str:
    """What the publishing admin is told once their broadcast ended (the reports job)."""
    return texts.BROADCAST_REPORT.format(
        id=report.item_id,
        title=html.escape(report.title),
        sent=report.sent,
        blocked=report.blocked,
        failed=report.failed,
        took=_duration(report.took),
    )
