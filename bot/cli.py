"""`coopbot` (also `python -m bot`): run the bot, the offline sandbox, and admin chores."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from bot.config import SANDBOX_DATABASE_URL, ConfigError, Settings, load_settings
from bot.logs import setup_logging

log = logging.getLogger("coopbot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coopbot", description="Co-op News Bot: news from the cooperative movement."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser("run", help="run the bot against Telegram (needs BOT_TOKEN)")
    sandbox = commands.add_parser(
        "sandbox", help="chat with the bot offline, in this terminal (no token needed)"
    )
    sandbox.add_argument(
        "--database-url",
        default=None,
        help=f"store for the sandbox (default: {SANDBOX_DATABASE_URL})",
    )
    commands.add_parser("seed", help="load the sample ILO items into the database")
    db = commands.add_parser("db", help="database chores")
    db_commands = db.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)
    db_commands.add_parser("upgrade", help="bring the schema up to date")
    return parser


async def _run(settings: Settings) -> int:
    from bot.app import run_forever

    if settings.bot_token is None:
        print(
            "BOT_TOKEN is not set. Put it in the environment or .env, "
            "or try the bot offline with: coopbot sandbox",
            file=sys.stderr,
        )
        return 2
    await run_forever(settings)
    return 0


async def _sandbox(settings: Settings, args: argparse.Namespace) -> int:
    from bot.sandbox import run_sandbox

    return await run_sandbox(settings, database_url=args.database_url)


async def _seed(settings: Settings) -> int:
    from bot.app import prepare_database
    from bot.db.engine import create_engine, create_session_factory
    from bot.services.news import NewsService
    from bot.services.seed import seed

    await prepare_database(settings)
    engine = create_engine(settings.database_url)
    try:
        result = await seed(NewsService(create_session_factory(engine)))
    finally:
        await engine.dispose()
    print(
        f"Loaded {result.added} sample items ({result.skipped} already there) from {result.source}."
    )
    return 0


async def _db_upgrade(settings: Settings) -> int:
    from bot.app import prepare_database

    await prepare_database(settings)
    print("Database schema is up to date.")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, settings.bot_token.reveal() if settings.bot_token else None)
    actions: dict[str, Callable[[], Coroutine[Any, Any, int]]] = {
        "run": lambda: _run(settings),
        "sandbox": lambda: _sandbox(settings, args),
        "seed": lambda: _seed(settings),
        "db": lambda: _db_upgrade(settings),
    }
    from bot.app import StartupError

    try:
        return asyncio.run(actions[args.command]())
    except (StartupError, ConfigError) as exc:
        print(f"coopbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
