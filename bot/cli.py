"""`coopbot` (also `python -m bot`): run the bot, the offline sandbox, and admin chores."""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import logging
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TextIO

from bot import i18n, texts
from bot.config import (
    DEFAULT_WEB_LISTEN,
    SANDBOX_DATABASE_URL,
    ConfigError,
    Settings,
    load_settings,
)
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
    sandbox.add_argument(
        "--web",
        nargs="?",
        const=DEFAULT_WEB_LISTEN,
        default=None,
        metavar="HOST:PORT",
        help=f"also serve the web newsroom there (default: {DEFAULT_WEB_LISTEN}) and print a "
        "sign-in link",
    )
    commands.add_parser("seed", help="load the sample ILO items into the database")
    db = commands.add_parser("db", help="database chores")
    db_commands = db.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)
    db_commands.add_parser("upgrade", help="bring the schema up to date")
    importer = commands.add_parser(
        "import",
        help=(
            "load items from a JSON or CSV file (columns: category,title,url,summary,"
            "published,language,image,category_names,version_of)"
        ),
    )
    importer.add_argument("file", type=Path)
    importer.add_argument(
        "--broadcast",
        action="store_true",
        help="also send the new items to subscribers (default: only store them)",
    )
    exporter = commands.add_parser(
        "export", help="write every item as JSON (readable by import; feeds: feeds export)"
    )
    exporter.add_argument("file", type=Path, nargs="?", help="default: standard output")
    feeds = commands.add_parser("feeds", help="feed subscriptions, as OPML")
    feeds_commands = feeds.add_subparsers(
        dest="feeds_command", metavar="FEEDS_COMMAND", required=True
    )
    opml = feeds_commands.add_parser("import", help="subscribe to the feeds of an OPML file")
    opml.add_argument("file", type=Path)
    opml_out = feeds_commands.add_parser(
        "export", help="write every feed as OPML 2.0 (readable by feeds import)"
    )
    opml_out.add_argument("file", type=Path, nargs="?", help="default: standard output")
    backup = commands.add_parser(
        "backup",
        help="copy the SQLite store to FILE, also while the bot runs (PostgreSQL: pg_dump)",
    )
    backup.add_argument("file", type=Path)
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

    return await run_sandbox(
        settings, database_url=args.database_url, language=args.language, web=args.web
    )


async def _seed(settings: Settings) -> int:
    from bot.db.engine import create_engine, create_session_factory
    from bot.lifecycle import prepare_database
    from bot.services.categories import CategoryService
    from bot.services.news import NewsService
    from bot.services.seed import seed

    await prepare_database(settings)
    engine = create_engine(settings.database_url)
    try:
        sessions = create_session_factory(engine)
        news = NewsService(sessions)
        result = await seed(news, CategoryService(sessions, news))
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
    """`coopbot import`, `coopbot export` and `coopbot feeds import|export`."""
    from bot.db.engine import create_engine, create_session_factory
    from bot.lifecycle import prepare_database
    from bot.services.feeds import FeedService
    from bot.services.files import WriteRefused
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
            count = await _export(transfer.export_items, args.file)
            print(_exported(texts.CLI_EXPORTED, count, args.file), file=sys.stderr)
            if feed_count := len(await feeds.feeds()):
                print(texts.CLI_EXPORT_FEEDS_APART.format(count=feed_count), file=sys.stderr)
            return 0
        if args.command == "feeds" and args.feeds_command == "export":
            count = await _export(transfer.export_opml, args.file)
            print(_exported(texts.CLI_EXPORTED_FEEDS, count, args.file), file=sys.stderr)
            return 0
        if args.command == "import":
            report = await transfer.import_items(args.file, broadcast=args.broadcast)
            what = texts.CLI_LOADED_ITEMS
        else:
            report = await transfer.import_opml(args.file)
            what = texts.CLI_LOADED_FEEDS
    except WriteRefused as refused:
        print(_cannot_write(args.file, refused), file=sys.stderr)
        return 1
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


async def _export(write: Callable[[TextIO], Awaitable[int]], path: Path | None) -> int:
    """Write to standard output, or to `path` whole or not at all."""
    from bot.services.files import replacing

    if path is None:
        return await write(sys.stdout)
    with replacing(path) as temporary, temporary.open("w", encoding="utf-8") as out:
        return await write(out)


def _exported(template: str, count: int, path: Path | None) -> str:
    return template.format(count=count, target=path or texts.CLI_STANDARD_OUTPUT)


def _cannot_write(path: Path, refused: Any) -> str:
    reason = texts.CLI_WRITE_PROBLEMS[refused.code].format(**refused.details)
    return texts.CLI_CANNOT_WRITE.format(file=path, reason=reason)


async def _backup(settings: Settings, path: Path) -> int:
    """`coopbot backup FILE`: SQLite's online backup; PostgreSQL is pg_dump's job."""
    from bot.services.backup import NOT_SQLITE, BackupRefused, backup_sqlite
    from bot.services.files import WriteRefused

    try:
        done = await backup_sqlite(settings.database_url, path)
    except BackupRefused as refused:
        if refused.code == NOT_SQLITE:
            print(texts.CLI_BACKUP_NOT_SQLITE.format(**refused.details), file=sys.stderr)
            return 2
        reason = texts.CLI_BACKUP_PROBLEMS[refused.code].format(**refused.details)
        print(texts.CLI_BACKUP_REFUSED.format(reason=reason), file=sys.stderr)
        return 1
    except WriteRefused as refused:
        print(_cannot_write(path, refused), file=sys.stderr)
        return 1
    print(
        texts.CLI_BACKED_UP.format(
            store=done.store,
            file=done.target,
            megabytes=done.size / 1_000_000,
            seconds=done.seconds,
        )
    )
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


# glibc's mallopt parameter for the number of malloc arenas
M_ARENA_MAX = -8
MALLOC_ARENAS = 2


def limit_malloc_arenas() -> None:
    """At most MALLOC_ARENAS glibc malloc arenas (unless MALLOC_ARENA_MAX says otherwise).

    glibc gives each thread that allocates at once with another an arena of its own, up to
    8 per core, and memory freed in one arena serves no other. The bot's threads are few and
    their allocations small (aiosqlite runs each SQLite connection in a thread; asyncio's
    executor resolves names): two arenas serve them, and spare the few MB of partly used
    arenas. Set before any thread starts; does nothing outside glibc."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt(M_ARENA_MAX, MALLOC_ARENAS)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        limit_malloc_arenas()
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
        "backup": lambda: _backup(settings, args.file),
    }
    from bot.lifecycle import StartupError

    try:
        return asyncio.run(_to_the_end(actions[args.command]))
    except (StartupError, ConfigError) as exc:
        print(texts.CLI_FAILED.format(error=exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
