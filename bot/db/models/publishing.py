"""Publishing by admins: who may publish, what they did, unfinished /add and /edit flows,
and items waiting for their scheduled time."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigIntId, UTCDateTime, utcnow
from bot.db.models.news import CATEGORY_NAME_MAX, FILE_ID_MAX, TITLE_MAX, URL_MAX


class Admin(Base):
    """An editor or author added by an owner. Owners come from ADMIN_IDS, not from here."""

    __tablename__ = "admins"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    added_by: Mapped[int] = mapped_column(BigInteger)
    # "editor" (publishes, edits, deletes, reviews, manages feeds) or "author" (submits drafts
    # for review); owners have no row
    role: Mapped[str] = mapped_column(String(16), default="editor", server_default="editor")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditEntry(Base):
    """One admin action: who did what, when, and on which item or user."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    actor_id: Mapped[int] = mapped_column(BigInteger)
    # "publish", "schedule", "publish_scheduled", "edit", "delete", "admin_add", ...
    action: Mapped[str] = mapped_column(String(32))
    # no foreign key: the log outlives what it talks about
    item_id: Mapped[int | None] = mapped_column(BigInteger)
    target_user_id: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Draft(Base):
    """The state of a guided /add or /edit, so the flow survives a restart of the bot."""

    __tablename__ = "drafts"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(8))  # "add" or "edit"
    step: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ScheduledItem(Base):
    """An item an admin wants published later; removed in the transaction that publishes it."""

    __tablename__ = "scheduled_items"
    __table_args__ = (Index("ix_scheduled_items_publish_at", "publish_at"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    category: Mapped[str] = mapped_column(String(CATEGORY_NAME_MAX))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    url: Mapped[str | None] = mapped_column(String(URL_MAX))
    summary: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    image_url: Mapped[str | None] = mapped_column(String(URL_MAX))
    image_file_id: Mapped[str | None] = mapped_column(String(FILE_ID_MAX))
    publish_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # a version of another scheduled item (its id), in another language: published with it,
    # at its time, as one story (migration 0013)
    version_of: Mapped[int | None] = mapped_column(BigIntId)
    created_by: Mapped[int] = mapped_column(BigInteger)
    # where to say that it went out (or why it could not)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BroadcastReport(Base):
    """A finished broadcast whose report went to the admin who published the item (once)."""

    __tablename__ = "broadcast_reports"

    item_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
