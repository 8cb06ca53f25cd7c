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


def downgrade() -> None:
    # -- digests (hx-digests) ------------------------------------------------------------------
    # -- keyword filters (hx-filters) ----------------------------------------------------------
    op.drop_column("subscriptions", "thread_name")
    op.drop_table("filtered_pushes")
    op.drop_table("chat_filters")
    op.drop_column("deliveries", "thread_id")
    op.drop_column("subscriptions", "thread_id")
    op.drop_column("chats", "quiet_end")
    op.drop_column("chats", "quiet_start")
    op.drop_column("chats", "timezone")
