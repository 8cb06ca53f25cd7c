"""The composition root: builds the services and the PTB Application, and runs them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from sqlalchemy.exc import DBAPIError, OperationalError
from telegram import BotCommand, BotCommandScopeChat, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, ContextTypes, Defaults, filters

import handlers
from bot import texts
from bot.config import ConfigError, Settings
from bot.context import BotContext, Services, install_services
from bot.db.engine import UnusableDatabaseUrl, create_engine, create_session_factory
from bot.db.migrate import upgrade
from bot.delivery import (
    AiohttpRequest,
    AlreadyRunning,
    BroadcastBot,
    Budget,
    DeliveryEngine,
    DeliveryStore,
    SharedRateLimiter,
    SqliteGuard,
    leadership_for,
)
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
from handlers.jobs import register_jobs

log = logging.getLogger(__name__)


class StartupError(Exception):
    """The bot cannot start; the message says why in one line, for people."""


def build_application(settings: Settings) -> Application:
    if settings.bot_token is None:
        raise ConfigError("BOT_TOKEN is not set")
    token = settings.bot_token.get_secret_value()
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    news = NewsService(sessions, cache_seconds=settings.listing_cache_seconds)
    # one sending budget per token: replies (PTB's rate limiter) and broadcasts share it
    options = settings.delivery
    budget = Budget(options)
    store = DeliveryStore(sessions)

    async def render(item_id: int) -> str | None:
        item = await news.get_item(item_id)
        return None if item is None else delivered_item(item, settings.tz)

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


def _menu(*, admin: bool) -> list[BotCommand]:
    return [BotCommand(c.name, c.description) for c in texts.COMMANDS if admin or not c.admin_only]


async def _publish_command_menu(application: Application) -> None:
    """The menu button lists the same commands as /help; admins also see admin commands."""
    bot = application.bot
    await bot.set_my_commands(_menu(admin=False))
    for admin_id in application.bot_data["services"].settings.admin_ids:
        try:
            await bot.set_my_commands(_menu(admin=True), scope=BotCommandScopeChat(admin_id))
        except TelegramError as exc:  # the admin has not opened a chat with the bot yet
            log.info("no admin command menu for %s: %s", admin_id, exc.message)
    with contextlib.suppress(TelegramError):
        await bot.set_my_description(texts.BOT_DESCRIPTION)
        await bot.set_my_short_description(texts.BOT_SHORT_DESCRIPTION)


async def _close_database(application: Application) -> None:
    await application.bot_data["engine"].dispose()


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


@contextlib.asynccontextmanager
async def running_bot(settings: Settings) -> AsyncIterator[Application]:
    """Start the bot with long polling; stop it cleanly when the block ends."""
    # SQLite cannot be shared by two bot processes (both would send every delivery)
    guard = SqliteGuard(settings.database_url) if "sqlite" in settings.database_url else None
    try:
        if guard is not None:
            guard.acquire()
    except AlreadyRunning as exc:
        raise StartupError(str(exc)) from None
    try:
        async with _running(settings) as application:
            yield application
    finally:
        if guard is not None:
            guard.release()


async def _admit_added_admins(application: Application) -> None:
    """Admins added by owners join the admin filter."""
    services: Services = application.bot_data["services"]
    services.admins.add_user_ids(await services.admin_roster.added_ids())


@contextlib.asynccontextmanager
async def _running(settings: Settings) -> AsyncIterator[Application]:
    await prepare_database(settings)
    application = build_application(settings)
    try:
        await application.initialize()
    except InvalidToken:
        raise StartupError(texts.STARTUP_TOKEN_REJECTED) from None
    except NetworkError as exc:
        raise StartupError(
            texts.STARTUP_API_UNREACHABLE.format(url=settings.telegram_api_url, error=exc.message)
        ) from None
    try:
        # post_init/post_shutdown only run under run_polling(); this loop is our own
        await _publish_command_menu(application)
        await application.start()
        await _admit_added_admins(application)
        # once the JobQueue runs (it starts with the app), and before the sender takes the
        # lock, so the first leadership already runs every job's catch-up
        register_jobs(application)
        await application.bot_data["services"].delivery.start()
        await application.updater.start_polling(
            poll_interval=0, timeout=10, allowed_updates=Update.ALL_TYPES
        )
        log.info("bot @%s is running", application.bot.username)
        yield application
    finally:
        await application.bot_data["services"].delivery.stop()
        if application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()
        await _close_database(application)


async def run_forever(settings: Settings) -> None:
    """`coopbot run`: serve until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running_bot(settings):
        await stop.wait()
    log.info("bot stopped")
