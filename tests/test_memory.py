"""What keeps the bot's memory small and its collector quick: a start on a schema at the head
does not import Alembic (about 10 MB for the life of the process), and the light check agrees
with Alembic's own; `coopbot run` freezes what start-up made."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import text

from bot.db.engine import create_engine
from bot.db.migrate import _alembic_config, declared_head, upgrade

ROOT = Path(__file__).resolve().parent.parent

CHECK_AT_HEAD = """
import asyncio, sys
from bot.db.engine import create_engine
from bot.db.migrate import upgrade

async def main():
    engine = create_engine(sys.argv[1])
    try:
        print(await upgrade(engine), "alembic" in sys.modules, "mako" in sys.modules)
    finally:
        await engine.dispose()

asyncio.run(main())
"""


def test_declared_head_is_alembics_head() -> None:
    assert declared_head() == ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _check_in_a_fresh_process(database_url: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", CHECK_AT_HEAD, database_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


async def test_a_start_at_the_head_leaves_alembic_unimported(database_url: str) -> None:
    # an empty database: Alembic (imported now) builds the schema
    assert _check_in_a_fresh_process(database_url) == "True True True"
    # at the head: the light check is enough
    assert _check_in_a_fresh_process(database_url) == "False False False"
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            stored = await connection.execute(text("SELECT version_num FROM alembic_version"))
            assert stored.scalars().all() == [declared_head()]
        assert await upgrade(engine) is False
    finally:
        await engine.dispose()


def test_lean_locales_write_as_babel_does() -> None:
    """The translators keep only part of CLDR's data (bot.i18n._lean_locale); what they write
    is what babel writes with the whole of it."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from babel import Locale
    from babel.dates import format_datetime
    from babel.numbers import format_decimal

    from bot import i18n

    moments = [datetime(2026, month, 1 + month, 23, 59, tzinfo=UTC) for month in range(1, 13)]
    zone = ZoneInfo("America/Bogota")
    numbers = [0, 1, 2.5, 999, 1000, 1234, 12345, 123456.789, 1234567, -5000, 0.0005]
    for language in i18n.LANGUAGES:
        tr, whole = i18n.translator(language), Locale.parse(language)
        for moment in moments:
            assert tr.date(moment, zone) == format_datetime(moment, "d MMM y", zone, whole)
            assert tr.date_time(moment, zone) == format_datetime(
                moment, "d MMM y, HH:mm", zone, whole
            )
        for n in numbers:
            assert tr.number(n) == format_decimal(n, locale=whole)
        for code in ("fr", "es", "en", "de", "sw", "zz"):
            assert tr.language_name(code) == whole.languages.get(code, code)
    assert i18n.is_language_code("sw") and not i18n.is_language_code("zz")


SETTLE = """
import gc
from bot.lifecycle import settle_garbage_collector
imported = len(gc.get_objects())
settle_garbage_collector()
print(imported, gc.get_freeze_count(), len(gc.get_objects()))
"""


def test_start_up_objects_are_out_of_the_collectors_sight() -> None:
    """`coopbot run` freezes what start-up made: a full collection later walks none of it."""
    run = subprocess.run(
        [sys.executable, "-c", SETTLE], capture_output=True, text=True, cwd=ROOT, check=True
    )
    imported, frozen, watched = map(int, run.stdout.split())
    assert imported > 50_000  # the bot's modules and classes
    assert frozen >= imported * 0.9
    assert watched < imported // 100
