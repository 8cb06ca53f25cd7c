"""Delivery: subscriptions and one delivery row per (item, chat).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db.base import BigIntId, UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", BigIntId, primary_key=True),
        sa.Column(
            "chat_id",
            sa.BigInteger(),
            sa.ForeignKey(
                "chats.id", name=op.f("fk_subscriptions_chat_id_chats"), ondelete="CASCADE"
            ),
            nullable=False,
        ),
        # NULL: every category, present and future
        sa.Column(
            "category_id",
            sa.Integer(),
            sa.ForeignKey(
                "categories.id",
                name=op.f("fk_subscriptions_category_id_categories"),
                ondelete="CASCADE",
            ),
            nullable=True,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    # one row per (chat, category) and one "all categories" row per chat: NULLs are distinct
    # in a plain unique constraint, so the key folds NULL into 0 (no category has id 0)
    op.create_index(
        "uq_subscriptions_chat_scope",
        "subscriptions",
        ["chat_id", sa.text("coalesce(category_id, 0)")],
        unique=True,
    )
    # fan-out: the subscribers of one category (and of all categories, category_id IS NULL)
    op.create_index("ix_subscriptions_category_id", "subscriptions", ["category_id", "chat_id"])
    op.create_table(
        "deliveries",
        # no foreign keys: a million-row fan-out should not run a million integrity checks
        # (items are withdrawn by marking them deleted, never by deleting the row)
        sa.Column("item_id", BigIntId, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("item_id", "chat_id", name=op.f("pk_deliveries")),
    )
    # claiming and per-chat cancelling only look at pending rows; sent rows leave the index
    op.create_index(
        "ix_deliveries_pending",
        "deliveries",
        ["chat_id", "item_id"],
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_pending", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index("ix_subscriptions_category_id", table_name="subscriptions")
    op.drop_index("uq_subscriptions_chat_scope", table_name="subscriptions")
    op.drop_table("subscriptions")
