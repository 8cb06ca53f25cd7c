"""Images: an item's picture (https URL and/or Telegram file_id), and photo deliveries.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db.base import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("items", "scheduled_items"):
        op.add_column(table, sa.Column("image_url", sa.String(2048), nullable=True))
        op.add_column(table, sa.Column("image_file_id", sa.String(256), nullable=True))
    # existing deliveries were all text messages
    op.add_column(
        "deliveries",
        sa.Column("photo", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    # a picture Telegram refused (the item then goes out as text), and when the admin was told
    op.add_column("items", sa.Column("image_error", sa.String(200), nullable=True))
    op.add_column("items", sa.Column("image_error_reported_at", UTCDateTime(), nullable=True))
    # an edit that changes the picture of sent photos (editMessageMedia), not only captions
    op.add_column(
        "corrections",
        sa.Column("media", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("corrections", "media")
    op.drop_column("items", "image_error_reported_at")
    op.drop_column("items", "image_error")
    op.drop_column("deliveries", "photo")
    for table in ("scheduled_items", "items"):
        op.drop_column(table, "image_file_id")
        op.drop_column(table, "image_url")
