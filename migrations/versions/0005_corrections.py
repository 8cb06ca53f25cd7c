"""Corrections: edits and retractions of sent messages as durable rows, and item revisions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db.base import BigIntId, UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    # every item starts at revision 1; messages sent before this upgrade have no revision
    # (NULL), and are corrected like any other sent message
    op.add_column("items", sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("deliveries", sa.Column("revision", sa.Integer(), nullable=True))
    op.create_table(
        "correction_requests",
        sa.Column("id", BigIntId, primary_key=True),
        sa.Column("item_id", BigIntId, nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column("report_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("too_old", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cancelled", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("reported_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_correction_requests_item", "correction_requests", ["item_id", "action"])
    op.create_table(
        "corrections",
        # no foreign keys, like deliveries: a correction of a million messages is one INSERT
        sa.Column("item_id", BigIntId, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("item_id", "chat_id", "action", name=op.f("pk_corrections")),
    )
    # claiming looks at pending rows only; the report counts a request's rows by status
    op.create_index(
        "ix_corrections_pending",
        "corrections",
        ["chat_id", "item_id"],
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
    op.create_index("ix_corrections_request", "corrections", ["request_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_corrections_request", table_name="corrections")
    op.drop_index("ix_corrections_pending", table_name="corrections")
    op.drop_table("corrections")
    op.drop_index("ix_correction_requests_item", table_name="correction_requests")
    op.drop_table("correction_requests")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("revision")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("revision")
