"""The composition root: builds the services and the PTB Application, and runs them."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError, OperationalError
from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, ContextTypes, Defaults, filters
from telegram.request import HTTPXRequest

import handlers
from bot import i18n, texts
from bot.config import ConfigError, Settings
from bot.context import BotContext, Services, install_services
from bot.db.engine import UnusableDatabaseUrl, create_engine, create_session_factory, is_sqlite
from bot.db.migrate import upgrade
from bot.delivery import (
    AiohttpRequest,
    AlreadyRunning,
    BroadcastBot,
    DeliveryEngine,
    DeliveryStore,
    ItemMessage,
    SharedRateLimiter,
    SqliteGuard,
    leadership_for,
)
from bot.delivery.digests import DigestSender, DigestStore
from bot.delivery.shared_budget import budget_for
from bot.delivery.store import TopicGone
from bot.digest_text import digest_pages
from bot.metrics import MeteredApplication, MeteredRequest, Metrics
from bot.render import item_message
from bot.services.admins import AdminService
from bot.services.audit import AuditService
from bot.services.chats import ChatService
from bot.services.corrections import CorrectionsService
from bot.services.digests import DigestService
from bot.services.drafts import DraftService
from bot.services.feeds import FeedService
from bot.services.filters import FilterService
from bot.services.invalidation import CacheListener
from bot.services.news import NewsService
from bot.services.quiet import QuietHoursService
from bot.services.reports import ReportService
from bot.services.scheduling import SchedulingService
from bot.services.search import SearchService
from bot.services.stats import StatsService
from bot.services.subscriptions import SubscriptionService
from bot.services.updates import UpdateService
from bot.tasks import bounded
from bot.web import Webhook, WebServer, note_store_failure
from handlers import menus
from handlers.jobs import register_jobs

log = logging.getLogger(__name__)


class StartupError(Exception):
    """The bot cannot start; the message says why in one line, for people."""


# operator messages of a start that fails in webhook mode or on a listening address
PURGE_JOB = "updates-seen-purge"
PURGE_EVERY = timedelta(hours=1)
SEARCHES_PURGE_JOB = "searches-purge"


def build_application(settings: Settings) -> Application:
    if settings.bot_token is None:
        raise ConfigError("BOT_TOKEN is not set")
    token = settings.bot_token.get_secret_value()
    i18n.load_all()  # a broken catalogue stops the bot here, not at a French user's message
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    metrics = Metrics()
    news = NewsService(sessions, cache_seconds=settings.listing_cache_seconds)
    # one sending budget per token: replies (PTB's rate limiter) and broadcasts share it,
    # and so do all the token's processes (in Redis or PostgreSQL; SQLite has only one)
    options = settings.delivery
    budget = budget_for(
        options, engine, bot_id=token.partition(":")[0], redis_url=settings.redis_url
    )
    store = DeliveryStore(sessions, timezone=settings.timezone)

    async def render(item_id: int, language: str) -> ItemMessage | None:
        item = await news.get_item(item_id)
        if item is None:
            return None
        return item_message(item, settings.tz, i18n.translator(language))

    # its own Bot on a faster transport; only the senders (items, digests) use it
    broadcast_bot = BroadcastBot(
        token,
        base_url=settings.telegram_api_url,
        request=MeteredRequest(
            AiohttpRequest(
                connection_pool_size=options.concurrency, read_timeout=options.send_timeout
            ),
            metrics,
        ),
    )

    def topic_notice(gone: TopicGone) -> str:
        tr = i18n.translator(gone.language)
        topic = gone.name or tr(texts.TOPIC_UNNAMED, id=gone.thread_id)
        return tr(texts.TOPIC_GONE_NOTICE, topic=html.escape(topic))

    delivery = DeliveryEngine(
        store=store,
        render=render,
        # a forum topic that stopped taking pushes: the group's admins are told in General
        topic_notice=topic_notice,
        # items published by another process (CLI, replica) show in listings at once
        after_fanout=news.invalidate,
        on_outcome=metrics.delivery_outcome,
        bot=broadcast_bot,
        budget=budget,
        leadership=leadership_for(engine),
        options=options,
        poll_seconds=settings.delivery_poll_seconds,
    )
    news.on_published(lambda _item: delivery.wake())  # start within a moment, not a poll
    chats = ChatService(sessions)
    keyword_filters = FilterService(sessions)
    digests = DigestService(sessions, settings.tz, filters=keyword_filters)

    async def compose_digest(chat_id: int, since: datetime, until: datetime) -> list[str]:
        content = await digests.content(chat_id, since, until)
        return digest_pages(content, i18n.translator(content.language))

    # beside the engine: the same bot, budget and leadership (only the leader sends)
    digest_sender = DigestSender(
        store=DigestStore(sessions),
        compose=compose_digest,
        bot=broadcast_bot,
        budget=budget,
        options=options,
        owner=delivery.owner,
        is_leader=lambda: delivery.is_leader,
        poll_seconds=settings.delivery_poll_seconds,
        migrate_chat=store.migrate_chat,
    )
    metrics.watch_leadership(lambda: delivery.is_leader)
    metrics.watch_backlog(store.backlog)
    # the owners (ADMIN_IDS) now; admins added by owners join at start-up and at run time
    admins = filters.User(user_id=settings.admin_ids, allow_empty=False)
    services = Services(
        settings=settings,
        news=news,
        chats=chats,
        admins=admins,
        feeds=FeedService(
            sessions,
            news,
            interval_seconds=settings.feed_interval_seconds,
            on_poll=metrics.feed_poll,
        ),
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
        search=SearchService(sessions, engine.dialect.name),
        digests=digests,
        digest_sender=digest_sender,
        quiet=QuietHoursService(sessions, settings.timezone),
        filters=keyword_filters,
    )
    application = (
        Application.builder()
        .application_class(MeteredApplication, kwargs={"metrics": metrics})
        .token(token)
        .base_url(settings.telegram_api_url)
        # PTB's own transports (the defaults it would build), counted for /metrics
        .request(MeteredRequest(HTTPXRequest(connection_pool_size=256), metrics))
        .get_updates_request(MeteredRequest(HTTPXRequest(connection_pool_size=1), metrics))
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
    # other processes' changes clear this one's caches (PostgreSQL; SQLite runs one process)
    application.bot_data["cache_listener"] = (
        None if is_sqlite(engine) else CacheListener(engine, news, chats)
    )
    application.bot_data["metrics"] = metrics
    application.bot_data["updates"] = UpdateService(engine, sessions)
    install_services(application, services)
    handlers.register(application, services)
    # after the handlers' own: a webhook update whose handler lost the database gets a 503
    application.add_error_handler(note_store_failure)
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
        # the webhook's server (webhook mode), then the one of METRICS_LISTEN, if any
        self.servers: list[WebServer] = []

    def _delivery(self) -> DeliveryEngine | None:
        if self.application is None:
            return None
        return self.application.bot_data["services"].delivery

    async def stop_updates(self) -> None:
        """/readyz turns 503 at once; then the webhook's listener closes and its updates in
        flight finish (or the updater's polling ends); then the other listener closes."""
        for server in self.servers:
            server.begin_stop()
        try:
            application = self.application
            if application is not None and application.updater and application.updater.running:
                await application.updater.stop()
        finally:
            for server in self.servers:
                await server.stop()

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
            try:
                await self.application.bot_data["services"].digest_sender.stop()
            finally:
                await delivery.stop()

    async def stop_listening(self) -> None:
        if self.application is not None:
            listener = self.application.bot_data["cache_listener"]
            if listener is not None:
                await listener.stop()

    def sender_seconds(self) -> float:
        delivery = self._delivery()
        return STOP_STEP_SECONDS if delivery is None else delivery.stop_seconds

    async def release(self) -> None:
        """Leases and the sender lock (PostgreSQL), the database guard (SQLite)."""
        try:
            delivery = self._delivery()
            if delivery is not None:
                if self.sender_started:
                    digest_sender = self.application.bot_data["services"].digest_sender
                    await bounded(
                        "release digest leases", digest_sender.release(), STOP_STEP_SECONDS, log
                    )
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
    """Start the bot, taking updates by long polling or, with WEBHOOK_URL, by webhook; stop
    it when the block ends, in this order:

    1. stop taking updates: /readyz answers 503 at once; then the updater's polling ends, or
       the webhook's listener closes and the updates in flight finish (bounded);
    2. stop the JobQueue (updates already fetched and jobs already running finish first);
    3. stop the sender, recording what was sent;
    4. stop listening for other processes' changes (PostgreSQL);
    5. release the leases, the sender lock and the SQLite guard;
    6. shut down the application;
    7. dispose of the database engine.

    Every step has a bound and runs even when the one before it failed or overran (a stop
    must never hang, nor leak). A start that fails closes what it had opened the same way.
    """
    opened = _Opened(settings)
    async with contextlib.AsyncExitStack() as stack:
        # the stack runs its callbacks last-in first-out: pushed from step 7 to step 1
        steps = [
            ("dispose of the database engine", opened.dispose_engine, lambda: STOP_STEP_SECONDS),
            ("shut down the application", opened.shutdown_application, lambda: STOP_STEP_SECONDS),
            ("release leases and the lock", opened.release, lambda: 2 * STOP_STEP_SECONDS),
            ("stop listening for changes", opened.stop_listening, lambda: STOP_STEP_SECONDS),
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


async def _serve(opened: _Opened, application: Application) -> None:
    """Open the listening addresses: at once, so /healthz answers (and /readyz says 503)
    while the bot starts. Updates posted before the bot runs are answered 503."""
    settings = opened.settings
    application.bot_data["web_servers"] = opened.servers  # (tests find the ports there)
    addresses: list[tuple[str, tuple[str, int], Webhook | None]] = []
    if settings.webhook_url is not None and settings.webhook_secret is not None:
        webhook = Webhook(
            path=settings.webhook_path or "/", secret=settings.webhook_secret.get_secret_value()
        )
        addresses.append(("WEBHOOK_LISTEN", settings.webhook_address, webhook))
    if settings.metrics_address is not None:
        addresses.append(("METRICS_LISTEN", settings.metrics_address, None))
    for setting, (host, port), webhook in addresses:
        server = WebServer(
            host=host,
            port=port,
            application=application,
            updates=application.bot_data["updates"],
            metrics=application.bot_data["metrics"],
            webhook=webhook,
        )
        opened.servers.append(server)
        try:
            await server.start()
        except OSError as exc:
            raise StartupError(
                texts.STARTUP_LISTEN_UNUSABLE.format(
                    setting=setting, address=server.where, error=exc.strerror or exc
                )
            ) from None
        log.info("serving %s on %s", "the webhook" if webhook else "health checks", server.where)


async def _take_updates(application: Application, settings: Settings) -> None:
    """Webhook mode: tell Telegram where to post updates. Otherwise: poll for them."""
    if settings.webhook_url is None or settings.webhook_secret is None:
        await application.updater.start_polling(
            poll_interval=0, timeout=10, allowed_updates=Update.ALL_TYPES
        )
        return
    try:
        # pending updates are kept: they were sent to the old URL (or polling) and wait
        await application.bot.set_webhook(
            url=settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=Update.ALL_TYPES,
            max_connections=settings.webhook_max_connections,
            drop_pending_updates=False,
        )
    except TelegramError as exc:
        raise StartupError(
            texts.STARTUP_WEBHOOK_REFUSED.format(url=settings.webhook_url, error=exc.message)
        ) from None


async def _purge_seen_updates(context: BotContext) -> None:
    """Webhook updates seen over a day ago are forgotten: Telegram resends for less long."""
    purged = await context.application.bot_data["updates"].purge()
    if purged:
        log.debug("forgot %d webhook update(s) seen over a day ago", purged)


async def _purge_searches(context: BotContext) -> None:
    """Searches over a day old are forgotten: their More buttons answer "expired"."""
    purged = await context.services.search.purge()
    if purged:
        log.debug("forgot %d search(es) made over a day ago", purged)


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
    await _serve(opened, application)
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
    if (listener := application.bot_data["cache_listener"]) is not None:
        listener.start()  # caches stay off until it listens
    await application.start()
    await _admit_added_admins(application)
    # once the JobQueue runs (it starts with the app), and before the sender takes the
    # lock, so the first leadership already runs every job's catch-up
    register_jobs(application)
    if application.job_queue is not None:  # any process may purge: a DELETE by age
        application.job_queue.run_repeating(
            _purge_seen_updates, interval=PURGE_EVERY, first=PURGE_EVERY, name=PURGE_JOB
        )
        application.job_queue.run_repeating(
            _purge_searches, interval=PURGE_EVERY, first=PURGE_EVERY, name=SEARCHES_PURGE_JOB
        )
    opened.sender_started = True  # (a start that fails half-way is still stopped)
    await application.bot_data["services"].delivery.start()
    await application.bot_data["services"].digest_sender.start()
    for server in opened.servers:  # updates posted from now on are handled
        server.ready = True
    await _take_updates(application, settings)
    log.info(
        "bot @%s is running (%s)",
        application.bot.username,
        "webhook" if settings.webhook_url else "polling",
    )
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
