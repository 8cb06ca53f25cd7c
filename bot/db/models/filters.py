"""Keyword filters: the terms a chat wants (or never wants) in the items pushed to it, and how
many pushes they held back.

A term is stored twice: as the chat typed it (`label`, for showing) and normalised (`term`:
case-folded, accents stripped, its words joined by single spaces), which is what matching
uses, so the fan-out never normalises a term again.
"""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigIntId, UTCDateTime, utcnow

TERM_MAX = 64


class ChatFilter(Base):
    __tablename__ = "chat_filters"
    # one row per term and chat (also the index the fan-out looks terms up by)
    __table_args__ = (UniqueConstraint("chat_id", "term"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("chats.id", ondelete="CASCADE"))
    term: Mapped[str] = mapped_column(String(TERM_MAX))
    label: Mapped[str] = mapped_column(String(TERM_MAX))
    # True: an item with this term is never pushed; False: one of these terms is required
    exclude: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FilteredPush(Base):
    """How many (item, chat) pushes the chats' filters held back at an item's fan-out."""

    __tablename__ = "filtered_pushes"

    item_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=False)
    held_back: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
