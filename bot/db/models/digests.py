"""Digests: one row per (chat, period), as durable as a delivery."""

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, PrimaryKeyConstraint, String, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, UTCDateTime, utcnow

DIGEST_PENDING = "pending"
DIGEST_SENT = "sent"
DIGEST_EMPTY = "empty"  # nothing to list: nothing was sent
DIGEST_FAILED = "failed"
DIGEST_CANCELLED = "cancelled"  # the chat is gone (blocked, kicked) or left digest mode


class Digest(Base):
    """The digest of one chat for one period, created when due (not before), claimed with a
    lease, sent once; its items are read when it is sent, so deleted items are left out and
    edited ones appear edited. `pages_sent` lets a long digest resume where it stopped."""

    __tablename__ = "digests"
    __table_args__ = (
        PrimaryKeyConstraint("chat_id", "period"),
        Index(
            "ix_digests_pending",
            "chat_id",
            "period",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        # retention removes old periods in batches (migration 0014)
        Index("ix_digests_period", "period"),
    )

    chat_id: Mapped[int] = mapped_column(BigInteger)
    # the local date (in the chat's time zone) of the period's due moment, "2030-03-31"
    period: Mapped[str] = mapped_column(String(10))
    # the items published in (since, until] belong to this digest
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    until: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(
        String(16), default=DIGEST_PENDING, server_default=DIGEST_PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pages_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    items: Mapped[int | None] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
