"""Corrections: the edits and retractions of messages already sent, as durable as deliveries.

`/edit` and `/delete` write one row per (item, chat, action) in the transaction that changes
the item; the delivery engine claims them with a lease, sends them within the shared budget and
records each outcome, so a crash resumes where it stopped. A small request row remembers who
asked and how many messages there were, for the report once every row is final.
"""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    case,
    false,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.dml import Insert

from bot.db.base import Base, BigIntId, UTCDateTime, utcnow
from bot.db.models.delivery import LAST_ERROR_MAX, PENDING

EDIT = "edit"
DELETE = "delete"


class CorrectionRequest(Base):
    """One /edit or /delete by an admin: where to report, and the totals known at the time."""

    __tablename__ = "correction_requests"
    __table_args__ = (Index("ix_correction_requests_item", "item_id", "action"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    item_id: Mapped[int] = mapped_column(BigIntId)
    action: Mapped[str] = mapped_column(String(8))  # EDIT or DELETE
    actor_id: Mapped[int] = mapped_column(BigInteger)
    report_chat_id: Mapped[int | None] = mapped_column(BigInteger)  # None: report to nobody
    # messages to correct (grows when a send that raced the correction lands afterwards)
    total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    too_old: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # > 48 h
    cancelled: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # never sent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Correction(Base):
    """One message to edit or delete: pending until sent, failed or cancelled.

    `revision` is the item's revision this row carries out: a later edit re-arms the same row
    with a newer revision (one edit with the newest text, not one per change), and an outcome
    is only written over the row it was claimed as.
    """

    __tablename__ = "corrections"
    __table_args__ = (
        PrimaryKeyConstraint("item_id", "chat_id", "action"),
        Index(
            "ix_corrections_pending",
            "chat_id",
            "item_id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_corrections_request", "request_id", "status"),
    )

    item_id: Mapped[int] = mapped_column(BigIntId)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(8))
    message_id: Mapped[int] = mapped_column(BigInteger)
    revision: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[int | None] = mapped_column(BigInteger)
    # the item's picture changed: a photo message gets the new one (editMessageMedia), not
    # just a new caption
    media: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(16), default=PENDING, server_default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(LAST_ERROR_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def insert_corrections(dialect: str) -> Insert:
    """An INSERT into `corrections` that re-arms a row already there.

    A correction of an item that already has a row in that chat (an earlier edit, sent or not)
    becomes that row again: pending, with the newer revision and request. Its lease is left
    alone, so a send already in flight for the older revision finishes first, and its outcome
    then only frees the row for the newer one (`DeliveryStore.record_corrections`).
    """
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Correction.metadata.tables[Correction.__tablename__])
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["item_id", "chat_id", "action"],
        set_={
            "message_id": excluded.message_id,
            "revision": excluded.revision,
            "request_id": excluded.request_id,
            # a picture change still waiting is not undone by a text edit after it
            "media": case(
                (statement.table.c.status == PENDING, statement.table.c.media | excluded.media),
                else_=excluded.media,
            ),
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": None,
            "last_error": None,
            "updated_at": excluded.updated_at,
        },
    )
