"""Languages: each chat's interface and news languages, each item's and feed's language.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # every item stored so far was written in English (the seed, and admins until now)
    op.add_column("items", sa.Column("language", sa.String(8), nullable=False, server_default="en"))
    op.add_column(
        "scheduled_items",
        sa.Column("language", sa.String(8), nullable=False, server_default="en"),
    )
    op.add_column("feeds", sa.Column("language", sa.String(8), nullable=True))
    op.add_column("chats", sa.Column("language", sa.String(8), nullable=False, server_default="en"))
    op.add_column(
        "chats",
        sa.Column("language_chosen", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("chats", sa.Column("news_languages", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("chats", "news_languages")
    op.drop_column("chats", "language_chosen")
    op.drop_column("chats", "language")
    op.drop_column("feeds", "language")
    op.drop_column("scheduled_items", "language")
    op.drop_column("items", "language")
