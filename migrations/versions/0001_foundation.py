"""Foundation: categories, items, chats and the broadcast queue.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db.base import BigIntId, UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("name_key", sa.String(128), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name_key", name=op.f("uq_categories_name_key")),
    )
    op.create_table(
        "items",
        sa.Column("id", BigIntId, primary_key=True),
        sa.Column("title", sa.String(256), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("url", sa.String(2048), nullable=True),
        sa.Column(
            "category_id",
            sa.Integer(),
            sa.ForeignKey("categories.id", name=op.f("fk_items_category_id_categories")),
            nullable=False,
        ),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(200), nullable=True),
        sa.UniqueConstraint("url", name=op.f("uq_items_url")),
    )
    op.create_index("ix_items_published", "items", ["published_at", "id"])
    op.create_index("ix_items_category_published", "items", ["category_id", "published_at", "id"])
    op.create_table(
        "chats",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("title", sa.String(256), nullable=True),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "broadcast_queue",
        sa.Column(
            "item_id",
            BigIntId,
            sa.ForeignKey(
                "items.id",
                name=op.f("fk_broadcast_queue_item_id_items"),
                ondelete="CASCADE",
            ),
            primary_key=True,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("broadcast_queue")
    op.drop_table("chats")
    op.drop_index("ix_items_category_published", table_name="items")
    op.drop_index("ix_items_published", table_name="items")
    op.drop_table("items")
    op.drop_table("categories")
