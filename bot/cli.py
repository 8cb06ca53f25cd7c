"""`coopbot` (also `python -m bot`): run the bot, the offline sandbox, and admin chores."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from bot import i18n, texts
from bot.config import SANDBOX_DATABASE_URL, ConfigError, Settings, load_settings
from bot.logs import setup_logging

log = logging.getLogger("coopbot")
# how long the event loop stays open for threads started during the command to end
THREADS_SECONDS = 5.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coopbot", description="Co-op News Bot: news from the cooperative movement."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser(
        "run",
        help="run the bot against Telegram (needs BOT_TOKEN): long polling, or a webhook "
        "when WEBHOOK_URL is set",
    )
    sandbox = commands.add_parser(
        "sandbox", help="chat with the bot offline, in this terminal (no token needed)"
    )
    sandbox.add_argument(
        "--database-url",
        default=None,
        help=f"store for the sandbox (default: {SANDBOX_DATABASE_URL})",
    )
    sandbox.add_argument(
        "--language",
        choices=i18n.LANGUAGES,
        default=i18n.ENGLISH,
        help="the language of your (pretend) Telegram app: en, fr or es (default: en)",
    )
    commands.add_parser("seed", help="load the sample ILO items into the database")
    db = commands.add_parser("db", help="database chores")
    db_commands = db.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)
    db_commands.add_parser("upgrade", help="bring the schema up to date")
    importer = commands.add_parser(
        "import",
        help=(
            "load items from a JSON or CSV file "
            "(columns: category,title,url,summary,published,language)"
        ),
    )
    importer.add_argument("file", type=Path)
    importer.add_argument(
        "--broadcast",
        action="store_true",
        help="also send the new items to subscribers (default: only store them)",
    )
    exporter = commands.add_parser("export", help="write every item as JSON (readable by import)")
    exporter.add_argument("file", type=Path, nargs="?", help="default: standard output")
    feeds = commands.add_parser("feeds", help="feed subscriptions")
    feeds_commands = feeds.add_subparsers(
        dest="feeds_command", metavar="FEEDS_COMMAND", required=True
    )
    opml = feeds_commands.add_parser("import", help="subscribe to the feeds of an OPML file")
    opml.add_argument("file", type=Path)
    return parser


async def _run(settings: Settings) -> int:
    from bot.lifecycle import run_forever

    if settings.bot_token is None:
        print(texts.CLI_NO_TOKEN, file=sys.stderr)
        return 2
    await run_forever(settings)
    return 0


async def _sandbox(settings: Settings, args: argparse.Namespace) -> int:
    from bot.sandbox import run_sandbox

    return await run_sandbox(settings, database_url=args.database_url, language=args.language)


async def _seed(settings: Settings) -> int:
    from bot.db.engine import create_engine, create_session_factory
    from bot.lifecycle import prepare_database
    from bot.services.news import NewsService
    from bot.services.seed import seed

    await prepare_database(settings)
    engine = create_engine(settings.database_url)
    try:
        result = await seed(NewsService(create_session_factory(engine)))
    finally:
        await engine.dispose()
    print(texts.CLI_SEEDED.format(added=result.added, skipped=result.skipped, source=result.source))
    return 0


async def _db_upgrade(settings: Settings) -> int:
    from bot.lifecycle import prepare_database

    await prepare_database(settings)
    print(texts.CLI_SCHEMA_CURRENT)
    return 0


async def _transfer(settings: Settings, args: argparse.Namespace) -> int:
    """`coopbot import`, `coopbot export` and `coopbot feeds import`."""
    from bot.db.engine import create_engine, create_session_factory
    from bot.lifecycle import prepare_database
    from bot.services.feeds import FeedService
    from bot.services.news import NewsService
    from bot.services.transfer import TransferService

    await prepare_database(settings)
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    news = NewsService(sessions)
    feeds = FeedService(sessions, news, interval_seconds=settings.feed_interval_seconds)
    transfer = TransferService(sessions, news, feeds, tz=settings.tz)
    try:
        if args.command == "export":
            return await _export(transfer, args.file)
        if args.command == "import":
            report = await transfer.import_items(args.file, broadcast=args.broadcast)
            what = texts.CLI_LOADED_ITEMS
        else:
            report = await transfer.import_opml(args.file)
            what = texts.CLI_LOADED_FEEDS
    except (OSError, UnicodeDecodeError) as exc:
        print(texts.CLI_CANNOT_READ.format(file=args.file, error=exc), file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    for problem in report.problems:
        print(_problem_line(args.file, problem), file=sys.stderr)
    print(
        texts.CLI_LOADED.format(
            added=report.added,
            what=what,
            file=args.file,
            skipped=report.skipped,
            bad=len(report.problems),
        )
    )
    return 1 if report.problems else 0


async def _export(transfer: Any, path: Path | None) -> int:
    if path is None:
        count = await transfer.export_items(sys.stdout)
    else:
        with path.open("w", encoding="utf-8") as out:
            count = await transfer.export_items(out)
    target = path or texts.CLI_STANDARD_OUTPUT
    print(texts.CLI_EXPORTED.format(count=count, target=target), file=sys.stderr)
    return 0


def _problem_line(path: Path, problem: Any) -> str:
    from bot.feeds.parser import html_to_text

    # a problem's details carry what its text needs (a length problem its limit, as `max`)
    template = texts.IMPORT_PROBLEMS.get(problem.problem) or texts.PROBLEMS[problem.problem]
    return texts.IMPORT_PROBLEM_LINE.format(
        file=path, line=problem.line, problem=html_to_text(template).format(**problem.details)
    )


async def _to_the_end(action: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run a command, then let the threads it started end before the event loop closes."""
    before = set(threading.enumerate())
    try:
        return await action()
    finally:
        await _threads_ended(before)


async def _threads_ended(before: set[threading.Thread]) -> None:
    # aiosqlite runs each connection in a thread of its own. When a connection fails to open
    # (DATABASE_URL names a folder that does not exist), aiosqlite stops that thread without
    # waiting for it, and the thread's last act is a call into the event loop: if asyncio.run
    # has closed the loop by then, the thread prints "Event loop is closed" under our
    # one-line message (https://github.com/omnilib/aiosqlite/issues/241). asyncio's own
    # executor threads ("asyncio_N") are ended by asyncio.run itself.
    deadline = time.monotonic() + THREADS_SECONDS
    while True:
        running = [
            thread
            for thread in threading.enumerate()
            if thread not in before and not thread.name.startswith("asyncio_")
        ]
        if not running:
            return
        if time.monotonic() > deadline:
            log.debug("threads still running at exit: %s", [t.name for t in running])
            return
        await asyncio.sleep(0.01)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(texts.CLI_CONFIG_ERROR.format(error=exc), file=sys.stderr)
        return 2
    setup_logging(
        settings.log_level, settings.bot_token.get_secret_value() if settings.bot_token else None
    )
    actions: dict[str, Callable[[], Coroutine[Any, Any, int]]] = {
        "run": lambda: _run(settings),
        "sandbox": lambda: _sandbox(settings, args),
        "seed": lambda: _seed(settings),
        "db": lambda: _db_upgrade(settings),
        "import": lambda: _transfer(settings, args),
        "export": lambda: _transfer(settings, args),
        "feeds": lambda: _transfer(settings, args),
    }
    from bot.lifecycle import StartupError

    try:
        return asyncio.run(_to_the_end(actions[args.command]))
    except (StartupError, ConfigError) as exc:
        print(texts.CLI_FAILED.format(error=exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
