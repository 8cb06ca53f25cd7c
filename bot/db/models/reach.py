"""Reach roll-ups: what the items came to, kept up to date as it happens.

Each row is changed in the transaction that changes what it counts (a fan-out, a batch of
outcomes, a cancellation, a chat joining or leaving, a tracked link opened, a reaction), so
the newsroom reads figures, never the deliveries table. None holds a chat or a user id:
retention and /forget leave them as they are.
"""

from datetime import date

from sqlalchemy import BigInteger, Date, Index, Integer, PrimaryKeyConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigIntId


def _count() -> Mapped[int]:
    return mapped_column(Integer, default=0, server_default="0")


class ItemReach(Base):
    """One item's figures over its whole life. `pending`: deliveries not settled yet."""

    __tablename__ = "item_reach"
    __table_args__ = (
        # what waits to be sent now, summed over the few items that have any
        Index(
            "ix_item_reach_pending",
            "item_id",
            sqlite_where=text("pending <> 0"),
            postgresql_where=text("pending <> 0"),
        ),
    )

    item_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=False)
    sent: Mapped[int] = _count()
    failed: Mapped[int] = _count()
    blocked: Mapped[int] = _count()
    pending: Mapped[int] = _count()
    opens: Mapped[int] = _count()
    reactions: Mapped[int] = _count()


class ReachDay(Base):
    """One UTC day over every item: messages by outcome, chats that became subscribers
    (`joined`) or stopped being one (`left`), and tracked links opened."""

    __tablename__ = "reach_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    sent: Mapped[int] = _count()
    failed: Mapped[int] = _count()
    blocked: Mapped[int] = _count()
    joined: Mapped[int] = _count()
    left: Mapped[int] = _count()
    opens: Mapped[int] = _count()


class ItemOpenDay(Base):
    """Tracked links of one item opened on one UTC day: the period's top items by opens."""

    __tablename__ = "item_open_days"
    __table_args__ = (
        PrimaryKeyConstraint("item_id", "day"),
        Index("ix_item_open_days_day", "day"),
    )

    item_id: Mapped[int] = mapped_column(BigIntId)
    day: Mapped[date] = mapped_column(Date)
    opens: Mapped[int] = _count()


class ReachTotal(Base):
    """Figures over all time, in one row (`id` 1): the subscribers now, kept as chats join
    and leave (counting them on each dashboard would read every subscription)."""

    __tablename__ = "reach_totals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    subscribers: Mapped[int] = _count()


class MessageReaction(Base):
    """The reactions one sent message carries now, and the item it showed: a reaction update
    becomes a change of the item's total (a user's old and new reactions, or a channel's new
    count, against what is kept here)."""

    __tablename__ = "message_reactions"
    __table_args__ = (PrimaryKeyConstraint("chat_id", "message_id"),)

    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    item_id: Mapped[int] = mapped_column(BigIntId)
    count: Mapped[int] = _count()
