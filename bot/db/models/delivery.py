"""Delivery bookkeeping: who follows what, and which items still have to reach whom."""

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    false,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigIntId, UTCDateTime, utcnow

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
CANCELLED = "cancelled"
LAST_ERROR_MAX = 500
# why a delivery was cancelled when not because its chat was gone (blocked, kicked, deleted):
# reports and daily figures count the others as "blocked"
NOT_BLOCKED = ("item deleted", "item gone", "chat migrated")


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


class Subscription(Base):
    """A chat following one category, or every category when `category_id` is NULL."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        # NULLs are distinct in a unique constraint, so the key folds "all" (NULL) into 0
        Index(
            "uq_subscriptions_chat_scope",
            "chat_id",
            func.coalesce(text("category_id"), 0),
            unique=True,
        ),
        Index("ix_subscriptions_category_id", "category_id", "chat_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("chats.id", ondelete="CASCADE"))
    category_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("categories.id", ondelete="CASCADE")
    )
    # a forum supergroup's topic these pushes go to (None: the chat itself / General)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    # that topic's name, learnt from the /subscribe message (None: unknown, "topic #id")
    thread_name: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Delivery(Base):
    """One item to one chat: pending until sent, failed or cancelled.

    `lease_owner`/`lease_until` mark a row a sender has claimed; `next_attempt_at` holds a
    retry back. `message_id` is the sent message, kept so it can be edited or retracted.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        PrimaryKeyConstraint("item_id", "chat_id"),
        Index(
            "ix_deliveries_pending",
            "chat_id",
            "item_id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        # a reaction names the message (chat, message id): this finds the item it showed.
        # Partial: the fan-out writes rows without a message, so it never touches this index
        Index(
            "ix_deliveries_message",
            "chat_id",
            "message_id",
            sqlite_where=text("message_id IS NOT NULL"),
            postgresql_where=text("message_id IS NOT NULL"),
        ),
    )

    # no foreign keys: a million-row fan-out should not run a million integrity checks
    item_id: Mapped[int] = mapped_column(BigIntId)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=PENDING, server_default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(LAST_ERROR_MAX))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # the item's revision the sent message was rendered from
    revision: Mapped[int | None] = mapped_column(Integer)
    # the sent message is a photo with the item as its caption (edits go to the caption and
    # the media), not a text message
    photo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # the forum topic the push goes to, copied from the subscription at fan-out (None: none)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DeliveryDay(Base):
    """What one item's deliveries came to on one day (UTC), once their rows were removed:
    by retention when they grew old, or by /forget with the chat. A figure is this plus what
    the deliveries table still holds for that item and day."""

    __tablename__ = "delivery_days"
    __table_args__ = (PrimaryKeyConstraint("item_id", "day"),)

    item_id: Mapped[int] = mapped_column(BigIntId)
    day: Mapped[date] = mapped_column(Date)
    sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    blocked: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
