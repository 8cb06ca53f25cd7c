"""The composition root: builds the services and the PTB Application, and runs them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable

from sqlalchemy.exc import DBAPIError, OperationalError
from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application, ContextTypes, Defaults, filters

import handlers
from bot import i18n, texts
from bot.config import ConfigError, Settings
from bot.context import BotContext, Services, install_services
from bot.db.engine import UnusableDatabaseUrl, create_engine, create_session_factory
from bot.db.migrate import upgrade
from bot.delivery import (
    AiohttpRequest,
    AlreadyRunning,
    BroadcastBot,
    DeliveryEngine,
    DeliveryStore,
    SharedRateLimiter,
    SqliteGuard,
    leadership_for,
)
from bot.delivery.shared_budget import budget_for
from bot.render import delivered_item
from bot.services.admins import AdminService
from bot.services.audit import AuditService
from bot.services.chats import ChatService
from bot.services.corrections import CorrectionsService
from bot.services.drafts import DraftService
from bot.services.feeds import FeedService
from bot.services.news import NewsService
from bot.services.reports import ReportService
from bot.services.scheduling import SchedulingService
from bot.services.stats import StatsService
from bot.services.subscriptions import SubscriptionService
from bot.tasks import bounded
from handlers import menus
from handlers.jobs import register_jobs

log = logging.getLogger(__name__)


class StartupError(Exception):
    """The bot cannot start; the message says why in one line, for people."""


def build_application(settings: Settings) -> Application:
    if settings.bot_token is None:
        raise ConfigError("BOT_TOKEN is not set")
    token = settings.bot_token.get_secret_value()
    i18n.load_all()  # a broken catalogue stops the bot here, not at a French user's message
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    news = NewsService(sessions, cache_seconds=settings.listing_cache_seconds)
    # one sending budget per token: replies (PTB's rate limiter) and broadcasts share it,
    # and so do all the token's processes (in Redis or PostgreSQL; SQLite has only one)
    options = settings.delivery
    budget = budget_for(
        options, engine, bot_id=token.partition(":")[0], redis_url=settings.redis_url
    )
    store = DeliveryStore(sessions)

    async def render(item_id: int, language: str) -> str | None:
        item = await news.get_item(item_id)
        if item is None:
            return None
        return delivered_item(item, settings.tz, i18n.translator(language))

    delivery = DeliveryEngine(
        store=store,
        render=render,
        # items published by another process (CLI, replica) show in listings at once
        after_fanout=news.invalidate,
        # its own Bot on a faster transport; only the sender uses it
        bot=BroadcastBot(
            token,
            base_url=settings.telegram_api_url,
            request=AiohttpRequest(
                connection_pool_size=options.concurrency, read_timeout=options.send_timeout
            ),
        ),
        budget=budget,
        leadership=leadership_for(engine),
        options=options,
        poll_seconds=settings.delivery_poll_seconds,
    )
    news.on_published(lambda _item: delivery.wake())  # start within a moment, not a poll
    # the owners (ADMIN_IDS) now; admins added by owners join at start-up and at run time
    admins = filters.User(user_id=settings.admin_ids, allow_empty=False)
    services = Services(
        settings=settings,
        news=news,
        chats=ChatService(sessions),
        admins=admins,
        feeds=FeedService(sessions, news, interval_seconds=settings.feed_interval_seconds),
        subscriptions=SubscriptionService(sessions, store),
        delivery=delivery,
        admin_roster=AdminService(
            sessions,
            settings.admin_ids,
            on_granted=admins.add_user_ids,
            on_revoked=admins.remove_user_ids,
        ),
        audit=AuditService(sessions),
        drafts=DraftService(sessions),
        scheduling=SchedulingService(sessions, news),
        corrections=CorrectionsService(sessions, news),
        stats=StatsService(sessions, settings.tz),
        reports=ReportService(sessions),
    )
    application = (
        Application.builder()
        .token(token)
        .base_url(settings.telegram_api_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                tzinfo=settings.tz,
            )
        )
        .context_types(ContextTypes(context=BotContext))
        .rate_limiter(SharedRateLimiter(budget))
        .build()
    )
    application.bot_data["engine"] = engine
    install_services(application, services)
    handlers.register(application, services)
    return application


async def _publish_command_menu(application: Application) -> None:
    services: Services = application.bot_data["services"]
    admin_ids = services.settings.admin_ids
    languages = await services.chats.languages_of(admin_ids)
    await menus.publish_menus(application.bot, languages)


async def prepare_database(settings: Settings) -> None:
    """Bring the schema up to date, or fail with a message that names the setting."""
    try:
        engine = create_engine(settings.database_url)
    except UnusableDatabaseUrl as exc:
        raise StartupError(texts.STARTUP_DATABASE_UNUSABLE.format(reason=exc)) from None
    try:
        if await upgrade(engine):
            log.info("database schema upgraded")
    except (OperationalError, DBAPIError, OSError) as exc:
        reason = str(getattr(exc, "orig", exc)).splitlines()[0]
        raise StartupError(texts.STARTUP_DATABASE_UNUSABLE.format(reason=reason)) from None
    finally:
        await engine.dispose()


# Bounds, in seconds, of the steps of a stop (the sender's comes from its own options)
STOP_UPDATES_SECONDS = 10.0  # the updater's last getUpdates confirms what it fetched
STOP_JOBS_SECONDS = 20.0  # updates already fetched and jobs already running finish
STOP_STEP_SECONDS = 10.0  # every other step


class _Opened:
    """What a start has opened so far; each step of the stop closes its part, if opened."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.guard: SqliteGuard | None = None
        self.application: Application | None = None
        self.sender_started = False

    def _delivery(self) -> DeliveryEngine | None:
        if self.application is None:
            return None
        return self.application.bot_data["services"].delivery

    async def stop_updates(self) -> None:
        application = self.application
        if application is not None and application.updater and application.updater.running:
            await application.updater.stop()

    async def stop_jobs(self) -> None:
        """Handlers of updates already fetched finish; no job starts; running jobs finish."""
        application = self.application
        if application is None or not application.running:
            return
        if application.job_queue is not None and application.job_queue.scheduler.running:
            application.job_queue.scheduler.pause()  # no new job while the running ones end
        await application.stop()  # stops the JobQueue once its running jobs are done

    async def stop_sender(self) -> None:
        delivery = self._delivery()
        if delivery is not None and self.sender_started:
            await delivery.stop()

    def sender_seconds(self) -> float:
        delivery = self._delivery()
        return STOP_STEP_SECONDS if delivery is None else delivery.stop_seconds

    async def release(self) -> None:
        """Leases and the sender lock (PostgreSQL), the database guard (SQLite)."""
        try:
            delivery = self._delivery()
            if delivery is not None:
                await delivery.release()
        finally:
            if self.guard is not None:
                self.guard.release()

    async def shutdown_application(self) -> None:
        application = self.application
        if application is None:
            return
        job_queue = application.job_queue
        if job_queue is not None and job_queue.scheduler.running:  # step 2 overran its bound
            await job_queue.stop(wait=False)
        try:
            await application.shutdown()
        finally:
            # a failed initialize() leaves the Application uninitialized, which makes
            # shutdown() a no-op, but the bot's HTTP clients were opened: close them
            await application.bot.shutdown()

    async def dispose_engine(self) -> None:
        if self.application is None:
            return
        engine = self.application.bot_data["engine"]
        if in_use := engine.pool.checkedout():
            log.warning("%d database connection(s) still in use at the end", in_use)
        await engine.dispose()


@contextlib.asynccontextmanager
async def running_bot(settings: Settings) -> AsyncIterator[Application]:
    """Start the bot with long polling; stop it when the block ends, in this order:

    1. stop taking updates (the updater);
    2. stop the JobQueue (updates already fetched and jobs already running finish first);
    3. stop the sender, recording what was sent;
    4. release the leases, the sender lock and the SQLite guard;
    5. shut down the application;
    6. dispose of the database engine.

    Every step has a bound and runs even when the one before it failed or overran (a stop
    must never hang, nor leak). A start that fails closes what it had opened the same way.
    """
    opened = _Opened(settings)
    async with contextlib.AsyncExitStack() as stack:
        # the stack runs its callbacks last-in first-out: pushed from step 6 to step 1
        steps = [
            ("dispose of the database engine", opened.dispose_engine, lambda: STOP_STEP_SECONDS),
            ("shut down the application", opened.shutdown_application, lambda: STOP_STEP_SECONDS),
            ("release leases and the lock", opened.release, lambda: 2 * STOP_STEP_SECONDS),
            ("stop the sender", opened.stop_sender, opened.sender_seconds),
            ("stop the JobQueue", opened.stop_jobs, lambda: STOP_JOBS_SECONDS),
            ("stop taking updates", opened.stop_updates, lambda: STOP_UPDATES_SECONDS),
        ]
        for what, step, seconds in steps:
            stack.push_async_callback(_stop_step, what, step, seconds)
        yield await _running(opened)


async def _stop_step(
    what: str, step: Callable[[], Awaitable[None]], seconds: Callable[[], float]
) -> None:
    await bounded(what, step(), seconds(), log)


async def _admit_added_admins(application: Application) -> None:
    """Admins added by owners join the admin filter."""
    services: Services = application.bot_data["services"]
    services.admins.add_user_ids(await services.admin_roster.added_ids())


async def _running(opened: _Opened) -> Application:
    """Start everything, in order, noting in `opened` what the stop will have to close."""
    settings = opened.settings
    # SQLite cannot be shared by two bot processes (both would send every delivery)
    if "sqlite" in settings.database_url:
        guard = SqliteGuard(settings.database_url)
        try:
            guard.acquire()
        except AlreadyRunning as exc:
            raise StartupError(str(exc)) from None
        opened.guard = guard
    await prepare_database(settings)
    application = opened.application = build_application(settings)
    try:
        await application.initialize()
        # post_init/post_shutdown only run under run_polling(); this loop is our own
        await _publish_command_menu(application)
    except InvalidToken:
        raise StartupError(texts.STARTUP_TOKEN_REJECTED) from None
    except NetworkError as exc:
        raise StartupError(
            texts.STARTUP_API_UNREACHABLE.format(url=settings.telegram_api_url, error=exc.message)
        ) from None
    await application.start()
    await _admit_added_admins(application)
    # once the JobQueue runs (it starts with the app), and before the sender takes the
    # lock, so the first leadership already runs every job's catch-up
    register_jobs(application)
    opened.sender_started = True  # (a start that fails half-way is still stopped)
    await application.bot_data["services"].delivery.start()
    await application.updater.start_polling(
        poll_interval=0, timeout=10, allowed_updates=Update.ALL_TYPES
    )
    log.info("bot @%s is running", application.bot.username)
    return application


async def run_forever(settings: Settings) -> None:
    """`coopbot run`: serve until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running_bot(settings):
        await stop.wait()
        stopping = loop.time()
    log.info("bot stopped in %.1fs", loop.time() - stopping)
