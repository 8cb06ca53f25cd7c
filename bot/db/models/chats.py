"""Chats the bot has seen: private chats, groups and channels."""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, SmallInteger, String, false, true
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, UTCDateTime, utcnow


class Chat(Base):
    __tablename__ = "chats"

    # Telegram's chat id: positive for people, negative for groups and channels
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(256))
    username: Mapped[str | None] = mapped_column(String(64))
    # false once the bot was blocked, kicked or the chat vanished; nothing is sent to it
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # the interface language; a private chat follows its user's app until /language chooses
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    language_chosen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # the item languages this chat receives, comma-separated ("en,es", "other" for the rest);
    # None: all of them
    news_languages: Mapped[str | None] = mapped_column(String(64))
    # reader controls (migration 0010): the chat's own IANA time zone (None: the TIMEZONE
    # setting), for digests and quiet hours
    timezone: Mapped[str | None] = mapped_column(String(64))
    # quiet hours, minutes after local midnight; start > end wraps midnight (22:00-07:00)
    quiet_start: Mapped[int | None] = mapped_column(SmallInteger)
    quiet_end: Mapped[int | None] = mapped_column(SmallInteger)
    # digests (hx-digests): None = instant pushes; "daily" / "weekly" at `digest_minute`
    # (local minutes after midnight), weekly on `digest_weekday` (0 = Monday); the next digest
    # lists the items published after `digest_since`
    digest_mode: Mapped[str | None] = mapped_column(String(8))
    digest_minute: Mapped[int | None] = mapped_column(SmallInteger)
    digest_weekday: Mapped[int | None] = mapped_column(SmallInteger)
    digest_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
