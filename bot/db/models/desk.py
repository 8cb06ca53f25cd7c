"""The editorial desk: drafts waiting for review, members' suggestions, who may not suggest,
and the desk's notices (one message to one chat, sent by the delivery kernel)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigIntId, UTCDateTime, utcnow
from bot.db.models.news import TITLE_MAX, URL_MAX

# a submission's states
WAITING = "waiting"  # submitted, no editor has decided
CHANGES = "changes"  # an editor asked for changes: the author may edit it and submit it again
REJECTED = "rejected"
APPROVED = "approved"  # published, or scheduled for the author's time
SUBMISSION_STATES = (WAITING, CHANGES, REJECTED, APPROVED)

# where a submission came from
BY_AUTHOR = "author"
FROM_FEED = "feed"

# a suggestion's states
SUGGESTED = "waiting"
DRAFTED = "drafted"  # an editor took it into an /add of their own
DISMISSED = "dismissed"
PUBLISHED = "published"

NOTE_MAX = 500  # an editor's note to the author
WORDS_MAX = 500  # a member's few words with a suggestion


class Submission(Base):
    """An item that waits for an editor: an author's draft or a feed entry under review. It is
    in no listing and pushed to no one until approved; `fields` holds what /add collected
    (category, title, link, summary, language, picture). `revision` grows with each submission,
    so a button from an earlier one is recognised as stale."""

    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_state", "state", "id"),  # /queue: what waits, oldest first
        Index("ix_submissions_author", "author_id", "submitted_at"),
        Index("ix_submissions_link", "link"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    origin: Mapped[str] = mapped_column(String(16), default=BY_AUTHOR)
    author_id: Mapped[int | None] = mapped_column(BigInteger)  # None for a feed's entry
    feed_id: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default=WAITING)
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    link: Mapped[str] = mapped_column(String(URL_MAX))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    # the time the author asked for; None: at once when approved
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(String(NOTE_MAX))
    # what approval made of it: the item, or the scheduled item
    item_id: Mapped[int | None] = mapped_column(BigInteger)
    scheduled_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Suggestion(Base):
    """A member's link, sent with /suggest, until an editor drafts or dismisses it."""

    __tablename__ = "suggestions"
    __table_args__ = (
        Index("ix_suggestions_state", "state", "created_at"),
        Index("ix_suggestions_user", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    link: Mapped[str] = mapped_column(String(URL_MAX))
    # the link folded (scheme, host case, trailing slash): one suggestion per link
    link_key: Mapped[str] = mapped_column(String(URL_MAX), unique=True)
    title: Mapped[str | None] = mapped_column(String(TITLE_MAX))
    words: Mapped[str | None] = mapped_column(String(WORDS_MAX))
    state: Mapped[str] = mapped_column(String(16), default=SUGGESTED)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    item_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SuggestBlock(Base):
    """A person an editor stopped from suggesting."""

    __tablename__ = "suggest_blocks"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    blocked_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


NOTICE_PENDING = "pending"
NOTICE_SENT = "sent"


class Notice(Base):
    """One message to one chat, written in the transaction that calls for it (a submission
    to each editor, a decision to its author, a suggestion's fate to its member) and sent by
    the delivery kernel like any other kind: leased, retried, never lost, sent once."""

    __tablename__ = "notices"
    __table_args__ = (
        Index(
            "ix_notices_pending",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    html: Mapped[str] = mapped_column(Text)
    # an inline keyboard: rows of {"text": …, "callback_data": …} or {"text": …, "url": …}
    buttons: Mapped[list[list[dict[str, str]]] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(
        String(16), default=NOTICE_PENDING, server_default=NOTICE_PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
