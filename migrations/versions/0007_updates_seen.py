"""Updates seen: webhook updates already handled, so that Telegram's resends run once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db.base import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "updates_seen",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_updates_seen")),
    )
    # the daily purge deletes by age
    op.create_index(op.f("ix_updates_seen_seen_at"), "updates_seen", ["seen_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_updates_seen_seen_at"), table_name="updates_seen")
    op.drop_table("updates_seen")
