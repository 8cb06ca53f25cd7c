"""What people are told in words that both a command and a background job use: a problem
with an item, how a broadcast or a correction went, a feed that broke or recovered, a
scheduled item that went out. Rendered in the current language (`bot.i18n.speaking`), data
HTML-escaped; the texts themselves live in `bot.texts`."""

from __future__ import annotations

import html
from datetime import timedelta, tzinfo

from bot import texts
from bot.i18n import _, current
from bot.render import item_card
from bot.services.feeds import FeedEvent, FeedEventKind, FeedService, FeedView
from bot.services.reports import BroadcastReportView, CorrectionReportView
from bot.services.scheduling import DueOutcome
from bot.services.validation import Problem, ValidationFailed
from bot.services.views import ItemView


def problem_text(failure: ValidationFailed) -> str:
    """The problem in words; its details hold what the text needs (a limit as `max`); a
    fraction (a photo's size in MB) is written the reader's way."""
    tr = current()
    details = {
        key: tr.number(value) if isinstance(value, float) else value
        for key, value in failure.details.items()
    }
    return tr(texts.PROBLEMS[failure.problem.value], **details)


def duration_text(took: timedelta) -> str:
    seconds = took.total_seconds()
    if seconds < 60:
        return _(texts.DURATION_SECONDS, s=current().number(round(seconds, 1)))
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return _(texts.DURATION_MINUTES, m=minutes, s=seconds)
    hours, minutes = divmod(minutes, 60)
    return _(texts.DURATION_HOURS, h=hours, m=minutes)


def report_text(report: BroadcastReportView) -> str:
    """What the publishing admin is told once their broadcast ended (the reports job)."""
    return _(
        texts.BROADCAST_REPORT,
        id=report.item_id,
        title=html.escape(report.title),
        sent=current().number(report.sent),
        blocked=current().number(report.blocked),
        failed=current().number(report.failed),
        took=duration_text(report.took),
    )


def correction_report(report: CorrectionReportView) -> str:
    """What the admin who edited or deleted an item hears once the messages are corrected."""
    if report.action == "edit":
        text = _(texts.EDIT_SAVED, id=report.item_id, updated=report.done, total=report.total)
        if report.failed:
            text += _(texts.EDIT_SAVED_FAILED, failed=report.failed)
        return text
    text = _(texts.DELETE_DONE, id=report.item_id, deleted=report.done, cancelled=report.cancelled)
    if report.too_old:
        text += _(texts.DELETE_TOO_OLD, old=report.too_old)
    if report.failed:
        text += _(texts.DELETE_FAILED, failed=report.failed)
    return text


def feed_error_reason(feeds: FeedService, code: str, detail: str) -> str:
    return _(
        texts.FEED_ERRORS[code],
        detail=html.escape(detail),
        max_mb=round(feeds.limits.max_bytes / (1024 * 1024), 1),
        seconds=f"{feeds.limits.timeout_seconds:g}",
    )


def stored_feed_error(feeds: FeedService, feed: FeedView) -> str:
    """Why the feed is broken, as its row keeps it ("" when it is not)."""
    code = feed.error_code
    return feed_error_reason(feeds, code.value, feed.error_detail) if code else ""


def feed_event_text(feeds: FeedService, event: FeedEvent) -> str:
    feed = event.feed
    title = html.escape(feed.name)
    if event.kind is FeedEventKind.RECOVERED:
        return _(texts.FEED_RECOVERED_ALERT, id=feed.id, title=title)
    reason = stored_feed_error(feeds, feed)
    return _(texts.FEED_BROKEN_ALERT, id=feed.id, title=title, reason=reason)


def scheduled_text(outcome: DueOutcome, tz: tzinfo) -> str:
    """What the admin who scheduled an item hears when its time came."""
    if outcome.item is not None:
        published = _(texts.SCHEDULED_PUBLISHED, id=outcome.item.id)
        return published + "\n\n" + item_card(outcome.item, tz)
    failure = outcome.problem
    existing = failure.details.get("existing") if failure is not None else None
    if failure is not None and failure.problem is Problem.DUPLICATE_URL:
        assert isinstance(existing, ItemView)  # (what a DUPLICATE_URL failure carries)
        problem = _(texts.PROBLEM_DUPLICATE, id=existing.id)
    elif failure is not None:
        problem = problem_text(failure)
    else:
        problem = ""
    return _(
        texts.SCHEDULED_FAILED, title=html.escape(outcome.scheduled.draft.title), problem=problem
    )
