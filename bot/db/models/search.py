"""What /search keeps: the text of a search, so its More button can carry a short id.

The full-text index itself lives outside the ORM (migration 0009): an FTS5 table and its
triggers on SQLite, the generated `items.search_vector` column on PostgreSQL.
"""

from datetime import datetime

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigIntId, UTCDateTime, utcnow

SEARCH_TEXT_MAX = 4096  # a Telegram message's length


class Search(Base):
    __tablename__ = "searches"
    # the daily purge deletes by age
    __table_args__ = (Index("ix_searches_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    # the chat it was asked in: another chat's More button for it has expired
    chat_id: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(String(SEARCH_TEXT_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
