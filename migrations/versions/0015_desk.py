"""The editorial desk: roles (today's admins become editors), drafts waiting for review, feeds
under review, members' suggestions and who may not suggest, and the desk's notices.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db.base import BigIntId, UTCDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    # every admin added so far published at once: they stay able to, as editors
    with op.batch_alter_table("admins") as batch:
        batch.add_column(sa.Column("role", sa.String(16), server_default="editor", nullable=False))
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(
            sa.Column("review", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "submissions",
        sa.Column("id", BigIntId, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=True),
        sa.Column("feed_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("revision", sa.Integer(), server_default="1", nullable=False),
        sa.Column("title", sa.String(256), nullable=False),
        sa.Column("link", sa.String(2048), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("publish_at", UTCDateTime(), nullable=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("item_id", sa.BigInteger(), nullable=True),
        sa.Column("scheduled_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
    )
    op.create_index("ix_submissions_state", "submissions", ["state", "id"])
    op.create_index("ix_submissions_author", "submissions", ["author_id", "submitted_at"])
    op.create_index("ix_submissions_link", "submissions", ["link"])
    op.create_table(
        "suggestions",
        sa.Column("id", BigIntId, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("link", sa.String(2048), nullable=False),
        sa.Column("link_key", sa.String(2048), nullable=False),
        sa.Column("title", sa.String(256), nullable=True),
        sa.Column("words", sa.String(500), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("item_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestions")),
        sa.UniqueConstraint("link_key", name=op.f("uq_suggestions_link_key")),
    )
    op.create_index("ix_suggestions_state", "suggestions", ["state", "created_at"])
    op.create_index("ix_suggestions_user", "suggestions", ["user_id", "created_at"])
    op.create_table(
        "suggest_blocks",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("blocked_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_suggest_blocks")),
    )
    op.create_table(
        "notices",
        sa.Column("id", BigIntId, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("buttons", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    op.create_index(
        "ix_notices_pending", "notices", ["id"], sqlite_where=PENDING, postgresql_where=PENDING
    )


def downgrade() -> None:
    op.drop_table("notices")
    op.drop_table("suggest_blocks")
    op.drop_table("suggestions")
    op.drop_table("submissions")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("review")
    with op.batch_alter_table("admins") as batch:
        batch.drop_column("role")
