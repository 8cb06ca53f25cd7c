"""Reader controls: keyword filters, digests, quiet hours and forum topics, per chat and per
subscription.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db.base import BigIntId, UTCDateTime

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
    # (hx-topics) the topic's name as learnt from the /subscribe message, for /subscriptions
    op.add_column("subscriptions", sa.Column("thread_name", sa.String(128), nullable=True))
    # -- keyword filters (hx-filters) ----------------------------------------------------------
    op.create_table(
        "chat_filters",
        sa.Column("id", BigIntId, primary_key=True),
        sa.Column(
            "chat_id",
            sa.BigInteger(),
            sa.ForeignKey(
                "chats.id", name=op.f("fk_chat_filters_chat_id_chats"), ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column("term", sa.String(64), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("exclude", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("chat_id", "term", name=op.f("uq_chat_filters_chat_id")),
    )
    op.create_table(
        "filtered_pushes",
        sa.Column("item_id", BigIntId, primary_key=True, autoincrement=False),
        sa.Column("held_back", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
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
    op.drop_column("subscriptions", "thread_name")
    op.drop_table("filtered_pushes")
    op.drop_table("chat_filters")
    op.drop_column("deliveries", "thread_id")
    op.drop_column("subscriptions", "thread_id")
    op.drop_column("chats", "quiet_end")
    op.drop_column("chats", "quiet_start")
    op.drop_column("chats", "timezone")
