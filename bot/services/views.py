"""What services hand back: small frozen values, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.feeds.fetcher import FeedErrorCode

if TYPE_CHECKING:
    from bot.db.models import Feed


@dataclass(frozen=True, slots=True)
class ItemView:
    id: int
    title: str
    summary: str | None
    url: str | None
    category_id: int
    category: str
    published_at: datetime
    source: str | None = None
    language: str = "en"  # ISO 639-1: the language the item is written in
    image_url: str | None = None  # an https URL Telegram fetches
    image_file_id: str | None = None  # Telegram's file_id for the picture, once known

    @property
    def has_image(self) -> bool:
        return bool(self.image_url or self.image_file_id)

    @property
    def cursor(self) -> Cursor:
        return Cursor.of(self.published_at, self.id)


@dataclass(frozen=True, slots=True)
class CategoryView:
    id: int
    name: str
    item_count: int


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in the newest-first order: items strictly older than this come next."""

    published_us: int  # microseconds since the epoch, exact, so the boundary never drifts
    item_id: int

    @classmethod
    def of(cls, published_at: datetime, item_id: int) -> Cursor:
        delta = published_at - datetime(1970, 1, 1, tzinfo=published_at.tzinfo)
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return cls(micros, item_id)


@dataclass(frozen=True, slots=True)
class Page:
    """A run of items, newest first; `more` says whether older ones follow the last."""

    items: tuple[ItemView, ...]
    more: bool


@dataclass(frozen=True, slots=True)
class FeedView:
    id: int
    url: str
    title: str | None
    category: str | None
    language: str | None  # for entries whose feed does not say; None: English
    failures: int
    error: str | None  # "code" or "code:detail" while the feed is broken
    last_ok_at: datetime | None

    @property
    def name(self) -> str:
        return self.title or self.url

    @property
    def error_code(self) -> FeedErrorCode | None:
        if self.error is None:
            return None
        return FeedErrorCode(self.error.partition(":")[0])

    @property
    def error_detail(self) -> str:
        return self.error.partition(":")[2] if self.error else ""

    @classmethod
    def of(cls, feed: Feed) -> FeedView:
        return cls(
            id=feed.id,
            url=feed.url,
            title=feed.title,
            category=feed.category,
            language=feed.language,
            failures=feed.failures,
            error=feed.error,
            last_ok_at=feed.last_ok_at,
        )
