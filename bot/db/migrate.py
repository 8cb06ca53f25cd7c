"""Bring the schema up to date with Alembic, from inside the running bot or the CLI.

Alembic (with Mako and Pygments behind it) costs about 10 MB of memory once imported, for
the life of the process. A bot that starts on a schema already at the head, which is nearly
every start, has no use for it: `upgrade` first reads the head revision from the migration
files themselves (`declared_head`, without importing them) and the database's revision with
a plain query, and imports Alembic only when they differ or cannot be read.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import migrations

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(migrations.__file__).parent
VERSION_TABLE = "alembic_version"  # Alembic's default, which migrations/env.py keeps


def _alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    from alembic import command

    command.upgrade(_alembic_config(connection), "head")


def _is_current(connection: Connection) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    return MigrationContext.configure(connection).get_current_revision() == head


def _revisions(path: Path) -> tuple[str, str | None] | None:
    """A migration file's (revision, down_revision), read as literals; None if not plain."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            if not isinstance(value, ast.Constant):
                return None
            found[target.id] = value.value
    revision, down = found.get("revision"), found.get("down_revision", ...)
    if not isinstance(revision, str) or not (down is None or isinstance(down, str)):
        return None
    return revision, down


def declared_head() -> str | None:
    """The one head revision of migrations/versions, or None when it is not a plain chain of
    literal revisions (then Alembic itself decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        if path.name == "__init__.py":
            continue
        read = _revisions(path)
        if read is None:
            return None
        revisions.add(read[0])
        if read[1] is not None:
            parents.add(read[1])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def _stored_revisions(connection: Connection) -> set[str]:
    if not inspect(connection).has_table(VERSION_TABLE):
        return set()
    return set(connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())


async def upgrade(engine: AsyncEngine) -> bool:
    """Apply pending migrations; returns True if anything was applied."""
    head = declared_head()
    async with engine.connect() as connection:
        if head is not None and await connection.run_sync(_stored_revisions) == {head}:
            return False  # at the head, without importing Alembic
        if await connection.run_sync(_is_current):
            return False
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
    return True
