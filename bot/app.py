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
from bot.db.engine import create_engine, create_session_factory
from bot.db.migrate import upgrade
from bot.services.chats import ChatService
from bot.services.news import NewsService

log = logging.getLogger(__name__)


class StartupError(Exception):
    """The bot cannot start; the message says why in one line, for people."""


def build_application(settings: Settings) -> Application:
    if settings.bot_token is None:
        raise ConfigError("BOT_TOKEN is not set")
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    services = Services(
        settings=settings,
        news=NewsService(sessions),
        chats=ChatService(sessions),
        admins=filters.User(user_id=settings.admin_ids, allow_empty=False),
    )
    application = (
        Application.builder()
        .token(settings.bot_token.reveal())
        .base_url(settings.telegram_api_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                tzinfo=settings.tz,
            )
        )
        .context_types(ContextTypes(context=BotContext))
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
    engine = create_engine(settings.database_url)
    try:
        if await upgrade(engine):
            log.info("database schema upgraded")
    except (OperationalError, DBAPIError, OSError) as exc:
        reason = str(getattr(exc, "orig", exc)).splitlines()[0]
        raise StartupError(f"DATABASE_URL is not usable: {reason}") from None
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def running_bot(settings: Settings) -> AsyncIterator[Application]:
    """Start the bot with long polling; stop it cleanly when the block ends."""
    await prepare_database(settings)
    application = build_application(settings)
    try:
        await application.initialize()
    except InvalidToken:
        raise StartupError(
            "Telegram rejected BOT_TOKEN (401 Unauthorized). Check the token."
        ) from None
    except NetworkError as exc:
        raise StartupError(
            f"Cannot reach the Telegram Bot API at {settings.telegram_api_url}: {exc.message}"
        ) from None
    try:
        # post_init/post_shutdown only run under run_polling(); this loop is our own
        await _publish_command_menu(application)
        await application.start()
        await application.updater.start_polling(
            poll_interval=0, timeout=10, allowed_updates=Update.ALL_TYPES
        )
        log.info("bot @%s is running", application.bot.username)
        yield application
    finally:
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
