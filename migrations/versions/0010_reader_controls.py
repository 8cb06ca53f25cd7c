"""Reader controls: keyword filters, digests, quiet hours and forum topics, per chat and per
subscription.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db.base import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # -- time zone and quiet hours -------------------------------------------------------------
    op.add_column("chats", sa.Column("timezone", sa.String(64), nullable=True))
    op.add_column("chats", sa.Column("quiet_start", sa.SmallInteger(), nullable=True))
    op.add_column("chats", sa.Column("quiet_end", sa.SmallInteger(), nullable=True))
    # -- forum topics --------------------------------------------------------------------------
    op.add_column("subscriptions", sa.Column("thread_id", sa.BigInteger(), nullable=True))
    op.add_column("deliveries", sa.Column("thread_id", sa.BigInteger(), nullable=True))
    # -- keyword filters (hx-filters) ----------------------------------------------------------
    # -- digests (hx-digests) ------------------------------------------------------------------
    # a chat's digest: None = instant pushes; "daily"/"weekly" at digest_minute (local minutes
    # after midnight) on digest_weekday (0 = Monday); digest_since: where the next one starts
    op.add_column("chats", sa.Column("digest_mode", sa.String(8), nullable=True))
    op.add_column("chats", sa.Column("digest_minute", sa.SmallInteger(), nullable=True))
    op.add_column("chats", sa.Column("digest_weekday", sa.SmallInteger(), nullable=True))
    op.add_column("chats", sa.Column("digest_since", UTCDateTime(), nullable=True))
    op.create_table(
        "digests",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        # the local date of the period's due moment ("2030-03-31"): one digest a local day
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("pages_sent", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("items", sa.Integer(), nullable=True),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "period", name=op.f("pk_digests")),
    )
    op.create_index(
        "ix_digests_pending",
        "digests",
        ["chat_id", "period"],
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    # -- digests (hx-digests) ------------------------------------------------------------------
    op.drop_index("ix_digests_pending", table_name="digests")
    op.drop_table("digests")
    for column in ("digest_since", "digest_weekday", "digest_minute", "digest_mode"):
        op.drop_column("chats", column)
    # -- keyword filters (hx-filters) ----------------------------------------------------------
    op.drop_column("deliveries", "thread_id")
    op.drop_column("subscriptions", "thread_id")
    op.drop_column("chats", "quiet_end")
    op.drop_column("chats", "quiet_start")
    op.drop_column("chats", "timezone")
