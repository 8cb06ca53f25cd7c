"""Feeds: RSS/Atom subscriptions and the entries already taken from each.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db.base import BigIntId, UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("title", sa.String(256), nullable=True),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("added_by", sa.BigInteger(), nullable=True),
        sa.Column("etag", sa.String(512), nullable=True),
        sa.Column("last_modified", sa.String(128), nullable=True),
        sa.Column("last_checked_at", UTCDateTime(), nullable=True),
        sa.Column("last_ok_at", UTCDateTime(), nullable=True),
        sa.Column("next_poll_at", UTCDateTime(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.String(512), nullable=True),
        sa.Column("error_reported", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("url", name=op.f("uq_feeds_url")),
    )
    op.create_table(
        "feed_entries_seen",
        sa.Column(
            "feed_id",
            sa.Integer(),
            sa.ForeignKey(
                "feeds.id", name=op.f("fk_feed_entries_seen_feed_id_feeds"), ondelete="CASCADE"
            ),
            primary_key=True,
        ),
        sa.Column("entry_key", sa.String(64), primary_key=True),
        sa.Column(
            "item_id",
            BigIntId,
            sa.ForeignKey(
                "items.id", name=op.f("fk_feed_entries_seen_item_id_items"), ondelete="SET NULL"
            ),
            nullable=True,
        ),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feed_entries_seen")
    op.drop_table("feeds")
