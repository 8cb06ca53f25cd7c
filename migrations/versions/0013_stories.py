"""Stories: an item can be a version of another, in another language. A version points at the
story's original (`story_id`); the original says it has versions (`has_versions`), so the
stories without any (nearly all) skip looking for them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db.base import BigIntId

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("items", sa.Column("story_id", BigIntId, nullable=True))
    op.add_column(
        "items",
        sa.Column("has_versions", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_index("ix_items_story_id", "items", ["story_id"])
    op.add_column("scheduled_items", sa.Column("version_of", BigIntId, nullable=True))


def downgrade() -> None:
    op.drop_column("scheduled_items", "version_of")
    op.drop_index("ix_items_story_id", table_name="items")
    op.drop_column("items", "has_versions")
    op.drop_column("items", "story_id")
