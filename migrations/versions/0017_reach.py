"""Reach roll-ups (per item, per day, opens per item and day, reactions per message), filled
from what the deliveries table and `delivery_days` hold; and an index to find the item a
sent message showed.

Joins and departures of subscribers before this revision are unknown: they start at 0 (the
subscribers of a past day are counted back from today's, so they show as flat).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db.base import BigIntId

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# as bot.db.models.delivery.NOT_BLOCKED (a migration keeps its own copy of what it reads)
_BLOCKED = (
    "status = 'cancelled' AND (last_error IS NULL OR last_error NOT IN "
    "('item deleted', 'item gone', 'chat migrated'))"
)


def _counts() -> list[sa.Column[int]]:
    return [
        sa.Column(name, sa.Integer(), server_default="0", nullable=False)
        for name in ("sent", "failed", "blocked")
    ]


def upgrade() -> None:
    op.create_table(
        "item_reach",
        sa.Column("item_id", BigIntId, autoincrement=False, nullable=False),
        *_counts(),
        sa.Column("pending", sa.Integer(), server_default="0", nullable=False),
        sa.Column("opens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reactions", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_item_reach")),
    )
    op.create_index(
        "ix_item_reach_pending",
        "item_reach",
        ["item_id"],
        sqlite_where=sa.text("pending <> 0"),
        postgresql_where=sa.text("pending <> 0"),
    )
    op.create_table(
        "reach_days",
        sa.Column("day", sa.Date(), nullable=False),
        *_counts(),
        sa.Column("joined", sa.Integer(), server_default="0", nullable=False),
        sa.Column("left", sa.Integer(), server_default="0", nullable=False),
        sa.Column("opens", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_reach_days")),
    )
    op.create_table(
        "item_open_days",
        sa.Column("item_id", BigIntId, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("opens", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("item_id", "day", name=op.f("pk_item_open_days")),
    )
    op.create_index("ix_item_open_days_day", "item_open_days", ["day"])
    op.create_table(
        "reach_totals",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("subscribers", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reach_totals")),
    )
    op.create_table(
        "message_reactions",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("item_id", BigIntId, nullable=False),
        sa.Column("count", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "message_id", name=op.f("pk_message_reactions")),
    )
    op.create_index(
        "ix_deliveries_message",
        "deliveries",
        ["chat_id", "message_id"],
        sqlite_where=sa.text("message_id IS NOT NULL"),
        postgresql_where=sa.text("message_id IS NOT NULL"),
    )
    _backfill()


def _backfill() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # the subscribers now: active chats that follow at least one category
    op.execute(
        "INSERT INTO reach_totals (id, subscribers) SELECT 1, COUNT(*) FROM chats "
        "WHERE active AND EXISTS (SELECT 1 FROM subscriptions WHERE chat_id = chats.id)"
    )
    moment = "COALESCE(sent_at, created_at)"
    day = f"CAST(timezone('UTC', {moment}) AS DATE)" if postgres else f"date({moment})"
    outcomes = (
        "COUNT(CASE WHEN status = 'sent' THEN 1 END) AS sent, "
        "COUNT(CASE WHEN status = 'failed' THEN 1 END) AS failed, "
        f"COUNT(CASE WHEN {_BLOCKED} THEN 1 END) AS blocked"
    )
    op.execute(
        "INSERT INTO item_reach (item_id, sent, failed, blocked, pending) "
        "SELECT item_id, SUM(sent), SUM(failed), SUM(blocked), SUM(pending) FROM ("
        f" SELECT item_id, {outcomes}, "
        "  COUNT(CASE WHEN status = 'pending' THEN 1 END) AS pending"
        "  FROM deliveries GROUP BY item_id"
        " UNION ALL"
        " SELECT item_id, SUM(sent), SUM(failed), SUM(blocked), 0 FROM delivery_days"
        "  GROUP BY item_id"
        ") AS parts GROUP BY item_id"
    )
    op.execute(
        "INSERT INTO reach_days (day, sent, failed, blocked) "
        "SELECT day, SUM(sent), SUM(failed), SUM(blocked) FROM ("
        f" SELECT {day} AS day, {outcomes} FROM deliveries WHERE status <> 'pending'"
        f"  GROUP BY {day}"
        " UNION ALL"
        " SELECT day, SUM(sent), SUM(failed), SUM(blocked) FROM delivery_days GROUP BY day"
        ") AS parts GROUP BY day"
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_message", table_name="deliveries")
    op.drop_table("reach_totals")
    op.drop_table("message_reactions")
    op.drop_index("ix_item_open_days_day", table_name="item_open_days")
    op.drop_table("item_open_days")
    op.drop_table("reach_days")
    op.drop_index("ix_item_reach_pending", table_name="item_reach")
    op.drop_table("item_reach")
