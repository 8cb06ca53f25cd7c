"""Search: a full-text index over items' title and summary, and the searches behind More.

SQLite: `items_fts`, an FTS5 external-content table over items(title, summary) (porter
stemming over unicode61 without diacritics), kept in step by triggers on items, so an item
added, edited or deleted is found, corrected or gone in the same transaction. Its existing
rows are indexed here ('rebuild').

PostgreSQL: `items.search_vector`, a stored generated tsvector (english, accents folded by
the `unaccent` extension through an IMMUTABLE wrapper; title weighs A, summary B), with a
GIN index. Being generated, it changes with the row in the same statement.

Note for later migrations: on SQLite a batch ("move and copy") rebuild of `items` drops its
triggers; such a migration must create them again (`sqlite_triggers` below).

`searches` keeps a /search's text for its More button (callback data holds 64 bytes, a
query up to 4,096 characters): the button carries the row's id. Rows older than a day go.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
        INSERT INTO items_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary);
    END
    """,
    """
    CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
        INSERT INTO items_fts(items_fts, rowid, title, summary)
        VALUES ('delete', old.id, old.title, old.summary);
    END
    """,
    """
    CREATE TRIGGER items_fts_update AFTER UPDATE OF title, summary ON items BEGIN
        INSERT INTO items_fts(items_fts, rowid, title, summary)
        VALUES ('delete', old.id, old.title, old.summary);
        INSERT INTO items_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary);
    END
    """,
)


def sqlite_triggers() -> None:
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE items_fts USING fts5(title, summary, content='items', "
            "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"
        )
        sqlite_triggers()
        op.execute("INSERT INTO items_fts(items_fts) VALUES ('rebuild')")
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        # unaccent() is only STABLE (it reads its dictionary by name): a generated column
        # needs IMMUTABLE, so the dictionary is named explicitly in a wrapper
        op.execute(
            "CREATE FUNCTION search_unaccent(text) RETURNS text "
            "LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT "
            "AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$"
        )
        op.execute(
            "ALTER TABLE items ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('english'::regconfig, search_unaccent(title)), 'A') || "
            "setweight(to_tsvector('english'::regconfig, "
            "search_unaccent(coalesce(summary, ''))), 'B')) STORED"
        )
        op.execute("CREATE INDEX ix_items_search ON items USING gin (search_vector)")
    op.create_table(
        "searches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.String(4096), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_searches")),
    )
    op.create_index(op.f("ix_searches_created_at"), "searches", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_searches_created_at"), table_name="searches")
    op.drop_table("searches")
    if op.get_bind().dialect.name == "sqlite":
        for name in ("items_fts_insert", "items_fts_delete", "items_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS items_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_items_search")
        op.execute("ALTER TABLE items DROP COLUMN IF EXISTS search_vector")
        op.execute("DROP FUNCTION IF EXISTS search_unaccent(text)")
