"""RSS/Atom feeds the bot polls, and the entries already taken from each."""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigIntId, UTCDateTime, utcnow
from bot.db.models.news import CATEGORY_NAME_MAX, TITLE_MAX, URL_MAX

FEED_ERROR_MAX = 512
ETAG_MAX = 512
LAST_MODIFIED_MAX = 128


class Feed(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(URL_MAX), unique=True)
    title: Mapped[str | None] = mapped_column(String(TITLE_MAX))
    # the category every entry is filed under; None: the entry's own category when it
    # matches an existing one, else the default
    category: Mapped[str | None] = mapped_column(String(CATEGORY_NAME_MAX))
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    # the entries' language when the feed does not say (<language>, xml:lang); None: English
    language: Mapped[str | None] = mapped_column(String(8))
    # validators from the last 200 response, sent back for a conditional GET
    etag: Mapped[str | None] = mapped_column(String(ETAG_MAX))
    last_modified: Mapped[str | None] = mapped_column(String(LAST_MODIFIED_MAX))
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # when the poller may fetch it again (later and later while it keeps failing)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # the current problem (a code and a detail); admins are told once, when it starts
    error: Mapped[str | None] = mapped_column(String(FEED_ERROR_MAX))
    error_reported: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # its new entries wait in the review queue instead of going out
    review: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FeedEntrySeen(Base):
    """An entry taken from a feed, keyed by a hash of its guid (else its link), so it is
    never imported twice however the feed re-orders or re-dates its entries."""

    __tablename__ = "feed_entries_seen"

    feed_id: Mapped[int] = mapped_column(
        ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True
    )
    entry_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    # the item it became; None when it was skipped (first fetch, duplicate link, unusable)
    item_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("items.id", ondelete="SET NULL")
    )
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
