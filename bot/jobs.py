"""Every JobQueue job, registered in one place: `register_jobs`.

==================  ===================================  ======================================
job                 interval                             why
==================  ===================================  ======================================
scheduled-items     SCHEDULE_POLL_SECONDS (30 s)         publish scheduled items whose time
                                                         came
feeds               FEED_INTERVAL_SECONDS, at most 60 s  fetch the feeds that are due (each
                                                         feed keeps its own next poll time)
reports             SCHEDULE_POLL_SECONDS (30 s)         tell the publishing admin how a
                                                         finished broadcast went, and of a
                                                         picture Telegram refused
digests             SCHEDULE_POLL_SECONDS (30 s)         make the digest rows whose period
                                                         came (in each chat's time zone); the
                                                         sender is told of them
delivery-poll       DELIVERY_POLL_SECONDS (5 s)          wake the sender for work that other
                                                         processes (the CLI) queued
updates-seen-purge  every hour                           forget webhook updates seen over a
                                                         day ago
searches-purge      every hour                           forget searches over a day old (their
                                                         More buttons answer "expired")
retention           every hour                           remove finished deliveries (folded
                                                         into daily figures), corrections,
                                                         digests and filtered pushes older than
                                                         DELIVERY_KEEP_DAYS, audit entries
                                                         older than AUDIT_KEEP_DAYS
==================  ===================================  ======================================

The first five and retention must run once however many replicas run, so they run only in the
process that holds the sender lock (the delivery engine's leader; on SQLite the one process); in
a standby each tick returns at once. When a process becomes the leader (at start, or when the
old leader died) it runs the first four at once instead of waiting an interval, so nothing due
waits for a full tick; the sender itself starts claiming the moment it takes the lock. The two
other purges are a DELETE by age: any process may run them.

The jobs are thin: a service in `bot/` does the work, `bot.notices` words what people are told.
"""

from __future__ import annotations

import contextlib
import functools
import html
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram import Bot
from telegram.error import TelegramError
from telegram.ext import Application, JobQueue

from bot import i18n, texts
from bot.context import BotContext, Services
from bot.i18n import _
from bot.notices import correction_report, feed_event_text, report_text, scheduled_text
from bot.services.feeds import PollReport

log = logging.getLogger(__name__)

SCHEDULED_JOB = "scheduled-items"
FEEDS_JOB = "feeds"
REPORTS_JOB = "reports"
DELIVERY_JOB = "delivery-poll"
DIGESTS_JOB = "digests"
UPDATES_PURGE_JOB = "updates-seen-purge"
SEARCHES_PURGE_JOB = "searches-purge"
RETENTION_JOB = "retention"
PURGE_EVERY = timedelta(hours=1)
CATCH_UP = ":catch-up"
FEED_TICK_SECONDS = 60  # how often due feeds are looked for; each feed has its own schedule

Job = Callable[[BotContext], Coroutine[Any, Any, None]]


def leader_only(job: Job) -> Job:
    """Run `job` only in the process that holds the sender lock."""

    @functools.wraps(job)
    async def run(context: BotContext) -> None:
        if not context.services.delivery.is_leader:
            log.debug("standing by: %s skipped (another process leads)", job.__name__)
            return
        await job(context)

    return run


@leader_only
async def publish_scheduled(context: BotContext) -> None:
    """Publish the scheduled items whose time has come (also those that came due while no
    process led) and tell the admin who scheduled each."""
    outcomes = await context.services.scheduling.publish_due()
    if outcomes:
        log.info("published %d scheduled item(s)", len(outcomes))
    for outcome in outcomes:
        # TelegramError: the admin blocked the bot; the item is published all the same
        with contextlib.suppress(TelegramError):
            chat_id = outcome.scheduled.chat_id
            with i18n.speaking(await context.services.chats.language_of(chat_id)):
                text = scheduled_text(outcome, context.services.settings.tz)
            await context.bot.send_message(chat_id, text)


@leader_only
async def poll_feeds(context: BotContext) -> None:
    """Poll the due feeds; tell admins about breakages and recoveries."""
    report = await context.services.feeds.poll_once()
    if report.polled:
        log.info("polled %d feed(s), %d new item(s)", report.polled, report.imported)
    await notify_admins(context.bot, context.services, report)


async def notify_admins(bot: Bot, services: Services, report: PollReport) -> None:
    """Owners and editors: whoever may fix a feed hears that it broke, and that it works
    again."""
    admin_ids = await services.admin_roster.editor_ids()
    languages = await services.chats.languages_of(admin_ids)
    for event in report.events:
        for admin_id, language in languages.items():
            with i18n.speaking(language):
                text = feed_event_text(services.feeds, event)
            try:
                await bot.send_message(admin_id, text)
            except TelegramError as exc:  # e.g. the admin never opened a chat with the bot
                log.info("could not tell admin %s about feed %s: %s", admin_id, event.feed.id, exc)


@leader_only
async def report_broadcasts(context: BotContext) -> None:
    """Tell each publishing admin how their broadcast went, once it ended, and each
    correcting admin how their /edit or /delete went, once every message is corrected."""
    chats = context.services.chats
    for done in await context.services.reports.take_finished_corrections():
        with i18n.speaking(await chats.language_of(done.chat_id)):
            text = correction_report(done)
        with contextlib.suppress(TelegramError):  # the admin blocked the bot meanwhile
            await context.bot.send_message(done.chat_id, text)
    for report in await context.services.reports.take_finished():
        with i18n.speaking(await chats.language_of(report.admin_id)):
            text = report_text(report)
        # TelegramError: the admin blocked the bot or never opened a chat with it
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(report.admin_id, text)
    for refused in await context.services.reports.take_refused_pictures():
        # the publishing admin; the owners for items from feeds and imports
        owners = sorted(context.services.settings.admin_ids)
        for admin_id in [refused.admin_id] if refused.admin_id is not None else owners:
            with i18n.speaking(await chats.language_of(admin_id)):
                text = _(
                    texts.IMAGE_BROKEN_REPORT,
                    id=refused.item_id,
                    title=html.escape(refused.title),
                    error=html.escape(refused.error),
                )
            with contextlib.suppress(TelegramError):
                await context.bot.send_message(admin_id, text)


@leader_only
async def poll_delivery(context: BotContext) -> None:
    """Items queued by other processes (the CLI) are seen within one interval."""
    context.services.delivery.wake()


@leader_only
async def make_digests(context: BotContext) -> None:
    """Each chat whose digest period came (also while no process led) gets its row; the
    digest sender sends them."""
    created = await context.services.digests.create_due()  # (the sender is told of them)
    if created:
        log.info("%d digest(s) due", created)


async def purge_seen_updates(context: BotContext) -> None:
    """Webhook updates seen over a day ago are forgotten: Telegram resends for less long."""
    purged = await context.services.runtime.updates.purge()
    if purged:
        log.debug("forgot %d webhook update(s) seen over a day ago", purged)


async def purge_searches(context: BotContext) -> None:
    """Searches over a day old are forgotten: their More buttons answer "expired"."""
    purged = await context.services.search.purge()
    if purged:
        log.debug("forgot %d search(es) made over a day ago", purged)


@leader_only
async def remove_old_rows(context: BotContext) -> None:
    """Finished rows past their keeping time go, in small batches (`bot.services.retention`);
    one process does it, so two never fold the same rows."""
    purged = await context.services.retention.purge()
    if purged.total:
        log.info("retention removed %s", purged)


# what a new leader runs at once; the sender needs no catch-up, it claims on taking the lock
_CATCH_UP: tuple[tuple[str, Job], ...] = (
    (SCHEDULED_JOB, publish_scheduled),
    (FEEDS_JOB, poll_feeds),
    (REPORTS_JOB, report_broadcasts),
    (DIGESTS_JOB, make_digests),
)


def register_jobs(application: Application) -> None:
    """Start every job; called once, after the application (and its JobQueue) started."""
    services: Services = application.bot_data["services"]
    queue = application.job_queue
    if queue is None:
        log.warning("no JobQueue (install python-telegram-bot[job-queue]): no background jobs")
        return
    settings = services.settings
    every = {
        SCHEDULED_JOB: settings.schedule_poll_seconds,
        FEEDS_JOB: min(FEED_TICK_SECONDS, settings.feed_interval_seconds),
        REPORTS_JOB: settings.schedule_poll_seconds,
        DELIVERY_JOB: settings.delivery_poll_seconds,
        DIGESTS_JOB: settings.schedule_poll_seconds,
    }
    for name, job in (*_CATCH_UP, (DELIVERY_JOB, poll_delivery)):
        queue.run_repeating(job, interval=every[name], first=every[name], name=name)
    # any process may purge (a DELETE by age), leader or not
    purges = ((UPDATES_PURGE_JOB, purge_seen_updates), (SEARCHES_PURGE_JOB, purge_searches))
    for name, job in purges:
        queue.run_repeating(job, interval=PURGE_EVERY, first=PURGE_EVERY, name=name)
    queue.run_repeating(remove_old_rows, interval=PURGE_EVERY, first=60, name=RETENTION_JOB)

    delivery = services.delivery
    delivery.on_became_leader(functools.partial(_catch_up, queue))
    if delivery.is_leader:  # it took the lock before the jobs were registered
        _catch_up(queue)


def _catch_up(queue: JobQueue) -> None:
    """Run the jobs now: what came due while no process led goes out at once."""
    log.info("leading: running the scheduled-items, feeds, reports and digests jobs now")
    # run_once(…, 0), not run_repeating(first=0): APScheduler moves a start that has just
    # passed to the next interval, so the catch-up would wait a whole interval
    for name, job in _CATCH_UP:
        queue.run_once(job, 0, name=name + CATCH_UP)
