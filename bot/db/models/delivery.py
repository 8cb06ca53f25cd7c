"""Delivery bookkeeping: which new items still have to reach their subscribers."""

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigIntId, UTCDateTime, utcnow


class BroadcastQueue(Base):
    """An item waiting to be fanned out to subscribers.

    Written in the same transaction as the item, so an item is never stored without
    its broadcast being recorded; the delivery engine removes the row once it has
    created the item's deliveries.
    """

    __tablename__ = "broadcast_queue"

    item_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
