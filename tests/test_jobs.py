"""The background jobs in one process: all registered in one place, and a process that leads
(on SQLite, always the one process) runs what came due while no bot ran as soon as it
starts, not one interval later. Two processes: tests/test_delivery_processes.py."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import jobs
from bot.db.base import utcnow
from bot.db.models import Feed
from bot.services.news import NewsService
from bot.services.scheduling import SchedulingService
from bot.services.validation import ItemDraft
from testbed.feed_server import serving_feeds
from testbed.harness import ADMIN_ID, Harness, bot_harness

HOUR = 3600  # longer than any test: a job that ran did so because its process took the lead


async def test_every_job_is_registered_once_and_the_one_process_leads(harness: Harness) -> None:
    queue = harness.application.job_queue
    names = [jobs.SCHEDULED_JOB, jobs.FEEDS_JOB, jobs.REPORTS_JOB, jobs.DELIVERY_JOB]
    assert [len(queue.get_jobs_by_name(name)) for name in names] == [1, 1, 1, 1]
    delivery = harness.application.bot_data["services"].delivery
    await harness.emu.wait_for(lambda: delivery.is_leader, 30, "the one process leads")


async def test_the_one_process_leads_and_catches_up_at_start(
    database_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with serving_feeds() as feeds:
        async with sessions.begin() as session:  # a feed never read: due now
            session.add(Feed(url=feeds.serve_fixture("due.xml", "rss2.xml"), title="Due"))
        scheduling = SchedulingService(sessions, NewsService(sessions))
        draft = ItemDraft("News", "While down", "https://coop.example/down", None)
        await scheduling.schedule(
            draft, utcnow() - timedelta(minutes=5), actor_id=ADMIN_ID, chat_id=ADMIN_ID
        )
        async with bot_harness(
            database_url, schedule_poll_seconds=HOUR, feed_interval_seconds=HOUR
        ) as harness:
            await harness.emu.wait_for(lambda: feeds.fetches("due.xml") >= 1, 30, "feed poll")
            news = harness.application.bot_data["services"].news
            async with asyncio.timeout(30):  # the item is published, the schedule emptied
                while await scheduling.pending():  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            item = await news.find_by_url("https://coop.example/down")
            assert item is not None and item.title == "While down"
