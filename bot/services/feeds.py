"""Feed subscriptions: what /feeds lists, adds and removes, and the OPML import stores.

Adding a feed reads it once at once (so a wrong address is refused there and then) and takes
its newest entries; from then on the poller (`bot.services.feed_poller`) reads it when due.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import utcnow
from bot.db.models import Feed, FeedEntrySeen
from bot.db.models.feeds import ETAG_MAX, LAST_MODIFIED_MAX
from bot.feeds.fetcher import FeedError, FetchLimits, client_session, fetch
from bot.feeds.parser import parse_feed
from bot.i18n import is_language_code
from bot.services.audit import record
from bot.services.feed_poller import (
    DEFAULT_CATEGORY,
    FeedEvent,
    FeedEventKind,
    FeedPoller,
    HoldEntry,
    PollReport,
    fits,
    shorten,
)
from bot.services.news import NewsService
from bot.services.validation import (
    TITLE_MAX,
    ValidationFailed,
    clean_category,
    clean_language,
    clean_url,
)
from bot.services.views import FeedView

__all__ = [
    "DEFAULT_CATEGORY",
    "AddProblem",
    "FeedAdded",
    "FeedEvent",
    "FeedEventKind",
    "FeedNotAdded",
    "FeedService",
    "FeedView",
    "PollReport",
    "split_category_language",
]


class AddProblem(enum.Enum):
    BAD_URL = "bad_url"
    ALREADY_SUBSCRIBED = "already_subscribed"
    BAD_CATEGORY = "bad_category"
    BAD_LANGUAGE = "bad_language"


class FeedNotAdded(Exception):
    """`/feeds add` failed: `problem` (ours) or `error` (the feed's) says why; `code` is
    the refused language code (BAD_LANGUAGE)."""

    def __init__(
        self,
        problem: AddProblem | None = None,
        *,
        error: FeedError | None = None,
        existing: FeedView | None = None,
        code: str = "",
    ) -> None:
        super().__init__(problem.value if problem else str(error))
        self.problem = problem
        self.error = error
        self.existing = existing
        self.code = code


def split_category_language(words: str) -> tuple[str | None, str | None]:
    """(category, language) from what follows the address in `/feeds add URL [category] [lang]`.

    The last word is the feed's language when it is a known two-letter ISO 639-1 code written
    in lower case, as codes are ("Actualités fr"); the words before it are the category. Any
    other last word belongs to the category ("Co-op News", "Co-ops UK", "Research xx"), unless
    it stands alone: a lone lower-case "xx" is refused (FeedNotAdded with BAD_LANGUAGE), being
    more likely a mistyped language than a category.
    """
    parts = words.split()
    if not parts:
        return None, None
    last = parts[-1]
    if len(last) == 2 and last.isascii() and last.isalpha() and last.islower():
        code = last
        if is_language_code(code):
            return " ".join(parts[:-1]) or None, code
        if len(parts) == 1:
            raise FeedNotAdded(AddProblem.BAD_LANGUAGE, code=code)
    return " ".join(parts), None


@dataclass(frozen=True, slots=True)
class FeedAdded:
    feed: FeedView
    entry_count: int
    imported: int  # the newest entries stored as items (not broadcast)
    held: int = 0  # or, for a feed under review, held in the review queue


class FeedService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        news: NewsService,
        *,
        interval_seconds: float = 900,
        limits: FetchLimits | None = None,
        on_poll: Callable[[str], None] = lambda _outcome: None,
    ) -> None:
        self._sessions = sessions
        self.interval = timedelta(seconds=interval_seconds)
        self.limits = limits or FetchLimits()
        # reads the feeds when due; `on_poll` is told each fetch's outcome (see FeedPoller)
        self.poller = FeedPoller(
            sessions, news, interval=self.interval, limits=self.limits, on_poll=on_poll
        )

    async def poll_once(
        self, now: datetime | None = None, *, every_feed: bool = False
    ) -> PollReport:
        """The poller's `poll_once` (what the feeds job runs)."""
        return await self.poller.poll_once(now, every_feed=every_feed)

    # -- subscriptions -------------------------------------------------------------------

    async def feeds(self) -> list[FeedView]:
        async with self._sessions() as session:
            rows = await session.scalars(select(Feed).order_by(Feed.id))
            return [FeedView.of(row) for row in rows]

    async def get(self, feed_id: int) -> FeedView | None:
        async with self._sessions() as session:
            row = await session.get(Feed, feed_id)
            return FeedView.of(row) if row else None

    async def remove(self, feed_id: int) -> FeedView | None:
        """Stop polling a feed; the items it brought stay."""
        async with self._sessions.begin() as session:
            row = await session.get(Feed, feed_id)
            if row is None:
                return None
            view = FeedView.of(row)
            await session.execute(delete(FeedEntrySeen).where(FeedEntrySeen.feed_id == feed_id))
            await session.delete(row)
        return view

    async def subscribe(
        self,
        url: str,
        category: str | None = None,
        *,
        language: str | None = None,
        title: str | None = None,
        added_by: int | None = None,
    ) -> FeedView:
        """Store a subscription without fetching it (OPML import); the poller reads it
        at its next run, like a first `/feeds add`, and then takes the feed's own title."""
        clean, category, language = self._check(url, category, language)
        title = " ".join((title or "").split())
        try:
            async with self._sessions.begin() as session:
                feed = Feed(
                    url=clean,
                    title=shorten(title, TITLE_MAX) if title else None,
                    category=category,
                    language=language,
                    added_by=added_by,
                    failures=0,
                )
                session.add(feed)
                await session.flush()
                return FeedView.of(feed)
        except IntegrityError:
            raise FeedNotAdded(
                AddProblem.ALREADY_SUBSCRIBED, existing=await self._by_url(clean)
            ) from None

    async def add(
        self,
        url: str,
        category: str | None = None,
        *,
        language: str | None = None,
        added_by: int | None = None,
        review: bool = False,
    ) -> FeedAdded:
        """Fetch a feed now; if it reads, subscribe and take its newest entries.
        `language` is for entries whose feed does not give theirs (None: English); `review`:
        its entries wait in the review queue, the newest ones included."""
        clean, category, language = self._check(url, category, language)
        if (existing := await self._by_url(clean)) is not None:
            raise FeedNotAdded(AddProblem.ALREADY_SUBSCRIBED, existing=existing)
        try:
            async with client_session(self.limits) as http:
                fetched = await fetch(http, clean, self.limits)
            parsed = await asyncio.to_thread(
                parse_feed, fetched.body, fetched.url, fetched.content_type
            )
        except FeedError as error:
            raise FeedNotAdded(error=error) from None
        now = utcnow()
        try:
            async with self._sessions.begin() as session:
                feed = Feed(
                    url=clean,
                    title=shorten(parsed.title, TITLE_MAX) if parsed.title else None,
                    category=category,
                    language=language,
                    added_by=added_by,
                    etag=fits(fetched.etag, ETAG_MAX),
                    last_modified=fits(fetched.last_modified, LAST_MODIFIED_MAX),
                    last_checked_at=now,
                    last_ok_at=now,
                    next_poll_at=now + self.interval,
                    failures=0,
                    review=review,
                )
                session.add(feed)
                await session.flush()
                view = FeedView.of(feed)
        except IntegrityError:
            raise FeedNotAdded(
                AddProblem.ALREADY_SUBSCRIBED, existing=await self._by_url(clean)
            ) from None
        taken = await self.poller.take_entries(view, parsed, first=True)
        if review:
            return FeedAdded(view, entry_count=len(parsed.entries), imported=0, held=taken)
        return FeedAdded(view, entry_count=len(parsed.entries), imported=taken)

    async def set_review(self, feed_id: int, on: bool, *, actor_id: int) -> FeedView | None:
        """Hold the feed's new entries for review (on) or publish them as they come (off)."""
        async with self._sessions.begin() as session:
            row = await session.get(Feed, feed_id)
            if row is None:
                return None
            row.review = on
            record(session, actor_id, "feed_review_on" if on else "feed_review_off", detail=row.url)
            return FeedView.of(row)

    def hold_for_review(self, hold: HoldEntry, held: Callable[[], object]) -> None:
        """How the poller holds the entries of a feed under review (the review queue's
        `hold_entry`), and whom it tells once they are committed (`held`)."""
        self.poller.hold = hold
        self.poller.held = held

    @staticmethod
    def _check(
        url: str, category: str | None, language: str | None
    ) -> tuple[str, str | None, str | None]:
        try:
            clean = clean_url(url)
        except ValidationFailed:
            clean = None
        if clean is None:
            raise FeedNotAdded(AddProblem.BAD_URL)
        if category is not None and category.strip():
            try:
                category = clean_category(category)
            except ValidationFailed:
                raise FeedNotAdded(AddProblem.BAD_CATEGORY) from None
        else:
            category = None
        try:
            language = clean_language(language, default="") or None
        except ValidationFailed as failure:
            raise FeedNotAdded(AddProblem.BAD_LANGUAGE, code=str(failure.details["code"])) from None
        return clean, category, language

    async def _by_url(self, url: str) -> FeedView | None:
        async with self._sessions() as session:
            row = await session.scalar(select(Feed).where(Feed.url == url))
            return FeedView.of(row) if row else None
