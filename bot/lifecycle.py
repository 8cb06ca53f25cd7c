"""Starting and stopping the bot: the listening addresses, the database, the application, the
jobs and the sender, opened in order and closed in the reverse order, each step bounded."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable

from sqlalchemy.exc import DBAPIError, OperationalError
from telegram import Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import Application

from bot import texts
from bot.app import build_application
from bot.config import Settings
from bot.context import Services
from bot.db.engine import UnusableDatabaseUrl, create_engine
from bot.db.migrate import upgrade
from bot.delivery import AlreadyRunning, DeliveryEngine, SqliteGuard
from bot.jobs import register_jobs
from bot.tasks import bounded
from bot.web import Webhook, WebServer
from handlers import menus

log = logging.getLogger(__name__)


class StartupError(Exception):
    """The bot cannot start; the message says why in one line, for people."""


def services_of(application: Application) -> Services:
    services: Services = application.bot_data["services"]
    return services


async def _publish_command_menu(application: Application) -> None:
    """The menus, and each owner's, editor's and author's own, with their role's commands."""
    services = services_of(application)
    roles = {person.user_id: person.role for person in await services.admin_roster.list()}
    languages = await services.chats.languages_of(frozenset(roles))
    people = {user_id: (language, roles[user_id]) for user_id, language in languages.items()}
    newsroom = menus.newsroom_app(services.settings)
    await menus.publish_menus(application.bot, people, newsroom=newsroom)


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

    def _services(self) -> Services | None:
        return None if self.application is None else services_of(self.application)

    def _delivery(self) -> DeliveryEngine | None:
        services = self._services()
        return None if services is None else services.delivery

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
            await delivery.stop()

    async def write_opens(self) -> None:
        """The tracked links' opens counted in memory since the last write (`ReachService`)."""
        services = self._services()
        if services is not None:
            await services.reach.close()

    async def stop_listening(self) -> None:
        services = self._services()
        if services is not None and services.runtime.cache_listener is not None:
            await services.runtime.cache_listener.stop()

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
        services = self._services()
        if services is None:
            return
        engine = services.runtime.database
        checked_out = getattr(engine.pool, "checkedout", lambda: 0)  # (pools that count)
        if in_use := checked_out():
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
    4. write the tracked links' opens counted since the last write;
    5. stop listening for other processes' changes (PostgreSQL);
    6. release the leases, the sender lock and the SQLite guard;
    7. shut down the application;
    8. dispose of the database engine.

    Every step has a bound and runs even when the one before it failed or overran (a stop
    must never hang, nor leak). A start that fails closes what it had opened the same way.
    """
    opened = _Opened(settings)
    async with contextlib.AsyncExitStack() as stack:
        # the stack runs its callbacks last-in first-out: pushed from step 8 to step 1
        steps = [
            ("dispose of the database engine", opened.dispose_engine, lambda: STOP_STEP_SECONDS),
            ("shut down the application", opened.shutdown_application, lambda: STOP_STEP_SECONDS),
            ("release leases and the lock", opened.release, lambda: 2 * STOP_STEP_SECONDS),
            ("stop listening for changes", opened.stop_listening, lambda: STOP_STEP_SECONDS),
            ("write the links' opens", opened.write_opens, lambda: STOP_STEP_SECONDS),
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


ROSTER_WAIT_SECONDS = 10.0  # for the listener's first connection (PostgreSQL)


async def _admit_added_admins(application: Application) -> None:
    """The editors and authors added by owners join the filters. On PostgreSQL the roster
    counts only once the listener hears changes (it reads it then): until then, or if it
    cannot listen yet, the owners alone have rights."""
    services = services_of(application)
    listener = services.runtime.cache_listener
    if listener is None:
        await services.admin_roster.refresh()
        return
    try:
        await asyncio.wait_for(listener.until(lambda: listener.live), ROSTER_WAIT_SECONDS)
    except TimeoutError:
        log.warning("not listening for changes yet: only the owners have rights until it listens")


async def _serve(opened: _Opened, application: Application) -> None:
    """Open the listening addresses: at once, so /healthz answers (and /readyz says 503)
    while the bot starts. Updates posted before the bot runs are answered 503."""
    settings = opened.settings
    runtime = services_of(application).runtime
    runtime.web_servers = opened.servers  # (tests find the ports there)
    addresses: list[tuple[str, tuple[str, int], Webhook | None]] = []
    if settings.webhook_url is not None and settings.webhook_secret is not None:
        hook = Webhook(
            path=settings.webhook_path or "/", secret=settings.webhook_secret.get_secret_value()
        )
        addresses.append(("WEBHOOK_LISTEN", settings.webhook_address, hook))
    if settings.metrics_address is not None:
        addresses.append(("METRICS_LISTEN", settings.metrics_address, None))
    newsroom = runtime.newsroom
    if newsroom is not None and settings.web_address not in [a for _s, a, _h in addresses]:
        addresses.append(("WEB_LISTEN", settings.web_address, None))
    for setting, (host, port), webhook in addresses:
        # the newsroom goes with the first address equal to WEB_LISTEN (one listener for
        # the webhook and the web when WEBHOOK_LISTEN is the same)
        serves_web = newsroom is not None and (host, port) == settings.web_address
        server = WebServer(
            host=host,
            port=port,
            application=application,
            updates=runtime.updates,
            metrics=runtime.metrics,
            webhook=webhook,
            newsroom=newsroom if serves_web else None,
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
        what = "the webhook" if webhook else "health checks"
        log.info(
            "serving %s%s on %s", what, " and the newsroom" if serves_web else "", server.where
        )


async def _take_updates(application: Application, settings: Settings) -> None:
    """Webhook mode: tell Telegram where to post updates. Otherwise: poll for them."""
    if settings.webhook_url is None or settings.webhook_secret is None:
        # build_application's builder always makes an updater; this tells the type checker
        assert application.updater is not None
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
    services = services_of(application)
    if (listener := services.runtime.cache_listener) is not None:
        listener.start()  # caches stay off until it listens
    await application.start()
    await _admit_added_admins(application)
    # once the JobQueue runs (it starts with the app), and before the sender takes the
    # lock, so the first leadership already runs every job's catch-up
    register_jobs(application)
    opened.sender_started = True  # (a start that fails half-way is still stopped)
    await services.delivery.start()
    for server in opened.servers:  # updates posted from now on are handled
        server.ready = True
    await _take_updates(application, settings)
    log.info(
        "bot @%s is running (%s)",
        application.bot.username,
        "webhook" if settings.webhook_url else "polling",
    )
    return application


def settle_garbage_collector() -> None:
    """Move what start-up made (modules, classes, the application: most of the process's
    objects, for its whole life) out of the collector's sight. A full collection then
    walks only what the bot makes while it runs, not ~70 MiB of imports: those walks were
    the pauses of hundreds of milliseconds that made one reply in a thousand slow."""
    gc.collect()
    gc.freeze()


async def run_forever(settings: Settings) -> None:
    """`coopbot run`: serve until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running_bot(settings):
        settle_garbage_collector()
        await stop.wait()
        stopping = loop.time()
    log.info("bot stopped in %.1fs", loop.time() - stopping)
