"""Retention: the daily figures of deliveries whose rows were removed (by age, or with a chat
that asked to be forgotten), and an index that lets old digests go in batches.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db.base import BigIntId

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "delivery_days",
        sa.Column("item_id", BigIntId, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sent", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("blocked", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("item_id", "day", name=op.f("pk_delivery_days")),
    )
    op.create_index("ix_digests_period", "digests", ["period"])


def downgrade() -> None:
    op.drop_index("ix_digests_period", table_name="digests")
    op.drop_table("delivery_days")
