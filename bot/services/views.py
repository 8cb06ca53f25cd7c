"""What services hand back: small frozen values, never ORM rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.feeds.fetcher import FeedErrorCode

if TYPE_CHECKING:
    from bot.db.models import Feed


# a category's names in the readers' languages: (language, name) pairs, in language order
Names = tuple[tuple[str, str], ...]


def names_of(stored: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> Names:
    """The names as views carry them, from `Category.names` ({"fr": …}) or from pairs."""
    pairs = dict(stored or {})
    return tuple(
        sorted(
            (language, name)
            for language, name in pairs.items()
            if isinstance(language, str) and isinstance(name, str) and name
        )
    )


def name_in(name: str, names: Names, language: str) -> str:
    """A category's name for readers of `language`: its name there, else its original name."""
    for named_language, named in names:
        if named_language == language:
            return named
    return name


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
    story_id: int | None = None  # the original's id, for a version in another language
    created_at: datetime | None = None  # when it was stored (retention counts from then)

    @property
    def story(self) -> int:
        """The story's original: this item's id for an original."""
        return self.story_id if self.story_id is not None else self.id

    # the category's names in the readers' languages; `category` is its original name
    category_names: Names = ()

    def category_in(self, language: str) -> str:
        """The category's name as readers of `language` see it (the original if it has none
        in that language)."""
        return name_in(self.category, self.category_names, language)

    @property
    def has_image(self) -> bool:
        return bool(self.image_url or self.image_file_id)

    @property
    def cursor(self) -> Cursor:
        return Cursor.of(self.published_at, self.id)


@dataclass(frozen=True, slots=True)
class CategoryView:
    id: int
    name: str  # the original name: what it was created as; shown where it has no other
    item_count: int
    names: Names = ()  # its names in the readers' languages

    def name_in(self, language: str) -> str:
        """The name readers of `language` see (the original if it has none there)."""
        return name_in(self.name, self.names, language)

    @property
    def all_names(self) -> tuple[str, ...]:
        """Every name it is known by: the original first, then one per language."""
        return (self.name, *(name for _language, name in self.names))


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
    review: bool = False  # new entries wait in the review queue instead of going out

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
            review=feed.review,
        )


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A line of an imported file that did not load, and why (`bot.services.transfer`)."""

    line: int
    problem: str  # a `Problem` value or one of the codes of transfer.py and opml.py
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TransferReport:
    added: int
    skipped: int  # already stored (same link, or same title and date)
    problems: tuple[RowProblem, ...]
