"""The feed poller: reads the subscribed feeds when they are due and publishes their new entries.

Every entry taken is remembered in `feed_entries_seen` (a hash of its guid, else its link),
in the same transaction as the item it becomes, so no entry is ever published twice: not
after a restart, not when a feed re-orders or re-dates its entries, not if two polls overlap.

An item's language is the one its feed document gives (see `bot.feeds.parser`), else the
feed's setting (`/feeds add URL [category] [lang]`), else English. A feed that fails is read
again later and later (`FeedPoller.backoff`); admins hear once when it breaks and once when
it recovers (`FeedEvent`). The subscriptions themselves are `bot.services.feeds`'s.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import aiohttp
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import utcnow
from bot.db.models import Feed, FeedEntrySeen
from bot.db.models.feeds import ETAG_MAX, FEED_ERROR_MAX, LAST_MODIFIED_MAX
from bot.db.results import rowcount
from bot.feeds.fetcher import FeedError, Fetched, FetchLimits, client_session, fetch
from bot.feeds.parser import FeedEntry, ParsedFeed, parse_feed
from bot.services.news import NewsService, category_key
from bot.services.stories import VersionRefused
from bot.services.validation import (
    SUMMARY_MAX,
    TITLE_MAX,
    ItemDraft,
    ValidationFailed,
    clean_image_url,
    clean_url,
)
from bot.services.views import CategoryView, FeedView, ItemView

log = logging.getLogger(__name__)

# holds a feed's entry in the review queue, in the poller's transaction (see
# `bot.services.review.ReviewService.hold_entry`)
HoldEntry = Callable[[AsyncSession, int, ItemDraft], Awaitable[object]]

DEFAULT_CATEGORY = "News"
DEFAULT_LANGUAGE = "en"
# When a feed is first read, its current entries are old news: the newest few become items
# (listed in /latest, not broadcast) and the rest are only marked seen. From then on every
# new entry is published and broadcast.
FIRST_IMPORT_LIMIT = 3
BACKOFF_CAP = timedelta(hours=6)
CONCURRENCY = 4
ELLIPSIS = "…"


class FeedEventKind(enum.Enum):
    BROKEN = "broken"
    RECOVERED = "recovered"


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """Something admins are told about: once when a feed breaks, once when it recovers."""

    kind: FeedEventKind
    feed: FeedView


@dataclass(frozen=True, slots=True)
class PollReport:
    polled: int
    imported: int
    events: tuple[FeedEvent, ...]


@dataclass(frozen=True, slots=True)
class _Outcome:
    imported: int = 0
    event: FeedEvent | None = None


async def _remember(feed_id: int, key: str, session: AsyncSession, item: ItemView) -> None:
    session.add(FeedEntrySeen(feed_id=feed_id, entry_key=key, item_id=item.id))
    await session.flush()  # a second poll taking the same entry fails here, before commit


async def _flip_reported(session: AsyncSession, feed_id: int, *, to: bool) -> bool:
    """Set the feed's error_reported flag; True only for the one writer that changed it, so
    two overlapping polls (or two bot processes) never both tell admins."""
    result = await session.execute(
        update(Feed)
        .where(Feed.id == feed_id, Feed.error_reported == (not to))
        .values(error_reported=to)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def fits(validator: str | None, limit: int) -> str | None:
    """A cut validator would never match: an oversized one is simply not kept."""
    return validator if validator is not None and len(validator) <= limit else None


def _error_text(error: FeedError) -> str:
    text = f"{error.code.value}:{error.detail}" if error.detail else error.code.value
    return text[:FEED_ERROR_MAX]


def _image_url(raw: str | None) -> str | None:
    """A feed's picture if it is a usable https URL; anything else is dropped, not an error
    (the entry is still published, without a picture)."""
    try:
        return clean_image_url(raw)
    except ValidationFailed:
        return None


def shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, at a word where one is near, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + ELLIPSIS


class FeedPoller:
    """Polls the due feeds (`poll_once`) and publishes their new entries (`take_entries`)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        news: NewsService,
        *,
        interval: timedelta,
        limits: FetchLimits,
        on_poll: Callable[[str], None] = lambda _outcome: None,
    ) -> None:
        # told each fetch's outcome: "ok", "not_modified", "failed" (the feed's fault) or
        # "error" (ours), e.g. for metrics
        self._on_poll = on_poll
        self._sessions = sessions
        self._news = news
        self.interval = interval
        self.limits = limits
        self._polling = asyncio.Lock()
        # feeds under review: set by the composition root (`FeedService.hold_for_review`)
        self.hold: HoldEntry | None = None
        self.held: Callable[[], object] = lambda: None

    async def poll_once(
        self, now: datetime | None = None, *, every_feed: bool = False
    ) -> PollReport:
        """Poll every feed that is due (all of them with `every_feed`); one broken feed
        never stops the others. Returns what admins should hear about."""
        async with self._polling:
            now = now or utcnow()
            async with self._sessions() as session:
                query = select(Feed).order_by(Feed.id)
                if not every_feed:
                    query = query.where((Feed.next_poll_at.is_(None)) | (Feed.next_poll_at <= now))
                due = [FeedView.of(row) for row in await session.scalars(query)]
                validators = {
                    row.id: (row.etag, row.last_modified)
                    for row in await session.scalars(select(Feed))
                }
            if not due:
                return PollReport(0, 0, ())
            gate = asyncio.Semaphore(CONCURRENCY)
            async with client_session(self.limits) as http:
                outcomes = await asyncio.gather(
                    *(self._poll_guarded(http, gate, feed, validators[feed.id]) for feed in due)
                )
            return PollReport(
                polled=len(due),
                imported=sum(o.imported for o in outcomes),
                events=tuple(o.event for o in outcomes if o.event is not None),
            )

    async def _poll_guarded(
        self,
        http: aiohttp.ClientSession,
        gate: asyncio.Semaphore,
        feed: FeedView,
        validators: tuple[str | None, str | None],
    ) -> _Outcome:
        async with gate:
            try:
                return await self._poll_feed(http, feed, validators)
            except Exception:
                # a bug or a store hiccup with one feed must not stop the others
                log.exception("polling feed %s failed", feed.id)
                self._on_poll("error")
                return _Outcome()

    async def _poll_feed(
        self,
        http: aiohttp.ClientSession,
        feed: FeedView,
        validators: tuple[str | None, str | None],
    ) -> _Outcome:
        first = feed.last_ok_at is None
        etag, last_modified = validators if not first else (None, None)
        parsed: ParsedFeed | None = None
        try:
            fetched = await fetch(
                http, feed.url, self.limits, etag=etag, last_modified=last_modified
            )
            if not fetched.not_modified:
                parsed = await asyncio.to_thread(
                    parse_feed, fetched.body, fetched.url, fetched.content_type
                )
        except FeedError as error:
            log.info("feed %s: %s", feed.id, error)
            event = await self._record_failure(feed.id, error)
            self._on_poll("failed")
            return _Outcome(event=event)
        imported = 0
        if parsed is not None:
            imported = await self.take_entries(feed, parsed, first=first)
        event = await self._record_success(feed.id, fetched, parsed)
        self._on_poll("not_modified" if fetched.not_modified else "ok")
        return _Outcome(imported, event)

    async def _record_success(
        self, feed_id: int, fetched: Fetched, parsed: ParsedFeed | None
    ) -> FeedEvent | None:
        now = utcnow()
        async with self._sessions.begin() as session:
            recovered = await _flip_reported(session, feed_id, to=False)
            feed = await session.get(Feed, feed_id)
            if feed is None:  # removed while we fetched it
                return None
            if not fetched.not_modified:
                feed.etag = fits(fetched.etag, ETAG_MAX)
                feed.last_modified = fits(fetched.last_modified, LAST_MODIFIED_MAX)
            if parsed is not None and parsed.title:
                feed.title = shorten(parsed.title, TITLE_MAX)
            feed.last_checked_at = feed.last_ok_at = now
            feed.next_poll_at = now + self.interval
            feed.failures = 0
            feed.error = None
            view = FeedView.of(feed)
        return FeedEvent(FeedEventKind.RECOVERED, view) if recovered else None

    async def _record_failure(self, feed_id: int, error: FeedError) -> FeedEvent | None:
        now = utcnow()
        async with self._sessions.begin() as session:
            report = await _flip_reported(session, feed_id, to=True)
            feed = await session.get(Feed, feed_id)
            if feed is None:
                return None
            feed.failures += 1
            feed.error = _error_text(error)
            feed.last_checked_at = now
            feed.next_poll_at = now + self.backoff(feed.failures)
            view = FeedView.of(feed)
        return FeedEvent(FeedEventKind.BROKEN, view) if report else None

    def backoff(self, failures: int) -> timedelta:
        """The wait after `failures` failures in a row: doubling, up to a cap."""
        cap = max(self.interval, BACKOFF_CAP)
        return min(self.interval * (2 ** min(failures, 16)), cap)

    # -- entries -------------------------------------------------------------------------

    async def take_entries(self, feed: FeedView, parsed: ParsedFeed, *, first: bool) -> int:
        """Publish the entries not seen before (hold them for review, for a feed under
        review); returns how many became items (or were held)."""
        unique: dict[str, FeedEntry] = {}
        for entry in parsed.entries:  # a feed may repeat an entry within one document
            unique.setdefault(entry.key, entry)
        if not unique:
            return 0
        async with self._sessions() as session:
            seen = set(
                await session.scalars(
                    select(FeedEntrySeen.entry_key).where(
                        FeedEntrySeen.feed_id == feed.id,
                        FeedEntrySeen.entry_key.in_(list(unique)),
                    )
                )
            )
        now = utcnow()
        fresh = sorted(
            (e for key, e in unique.items() if key not in seen),
            key=lambda e: min(e.published or now, now),
        )  # oldest first, so item numbers follow publication order
        wanted = {e.key for e in fresh[-FIRST_IMPORT_LIMIT:]} if first else None
        if wanted is not None:  # the backlog of a first read: remembered, not published
            await self._mark_seen(feed.id, [e.key for e in fresh if e.key not in wanted])
            fresh = [e for e in fresh if e.key in wanted]
        categories = await self._news.categories() if fresh else []
        imported = 0
        for entry in fresh:
            draft = self._draft(entry, feed, categories)
            if draft is None:
                await self._mark_seen(feed.id, [entry.key])
                continue
            if feed.review and self.hold is not None:
                imported += await self._hold(feed, entry, draft)
                continue
            try:
                publish = partial(
                    self._news.publish,
                    draft,
                    source=f"feed:{feed.id}",
                    published_at=min(entry.published or now, now),  # no items from the future
                    broadcast=not first,
                    # the entry is marked seen in the item's own transaction: both or neither
                    also=partial(_remember, feed.id, entry.key),
                )
                original = await self._story_of(entry)
                try:
                    await publish(version_of=original)
                except VersionRefused:  # that story has this language, or was deleted
                    await publish()
            except ValidationFailed as failure:
                # e.g. the link is already an item (added by hand, or from another feed)
                log.info("feed %s: entry skipped (%s)", feed.id, failure.problem.value)
                await self._mark_seen(feed.id, [entry.key])
                continue
            except IntegrityError:
                continue  # another poll took this very entry at the same moment
            imported += 1
        return imported

    async def _hold(self, feed: FeedView, entry: FeedEntry, draft: ItemDraft) -> int:
        """An entry of a feed under review, into the review queue and marked seen in one
        transaction; 0 when its link is an item already (it is only marked seen)."""
        assert self.hold is not None
        if draft.url is not None and await self._news.find_by_url(draft.url) is not None:
            await self._mark_seen(feed.id, [entry.key])
            return 0
        try:
            async with self._sessions.begin() as session:
                session.add(FeedEntrySeen(feed_id=feed.id, entry_key=entry.key))
                await session.flush()  # a second poll holding the same entry fails here
                await self.hold(session, feed.id, draft)
        except IntegrityError:
            return 0  # another poll took this very entry at the same moment
        self.held()
        return 1

    async def _story_of(self, entry: FeedEntry) -> int | None:
        """The stored item an entry is a version of: one its hreflang alternates link to."""
        for url in entry.alternates:
            try:
                cleaned = clean_url(url)
            except ValidationFailed:
                continue
            if cleaned and (item := await self._news.find_by_url(cleaned)) is not None:
                return item.id
        return None

    async def _mark_seen(self, feed_id: int, keys: list[str]) -> None:
        if not keys:
            return
        rows = [{"feed_id": feed_id, "entry_key": key, "seen_at": utcnow()} for key in keys]
        try:
            async with self._sessions.begin() as session:
                await session.execute(insert(FeedEntrySeen), rows)
        except IntegrityError:
            if len(rows) == 1:
                return  # already seen
            for key in keys:  # some were seen meanwhile: the others one by one
                await self._mark_seen(feed_id, [key])

    @staticmethod
    def _draft(
        entry: FeedEntry, feed: FeedView, categories: list[CategoryView]
    ) -> ItemDraft | None:
        title = entry.title or (entry.summary or "").split("\n", 1)[0]
        if not title:
            return None
        try:
            url = clean_url(entry.link)
        except ValidationFailed:
            url = None
        category = feed.category
        if category is None:
            # an entry's own category, when it is one of ours by any of its names
            known = {category_key(name): c.name for c in categories for name in c.all_names}
            matches = (known.get(category_key(name)) for name in entry.categories)
            category = next((name for name in matches if name), DEFAULT_CATEGORY)
        return ItemDraft(
            category=category,
            title=shorten(title, TITLE_MAX),
            url=url,
            summary=shorten(entry.summary, SUMMARY_MAX) if entry.summary else None,
            language=entry.language or feed.language or DEFAULT_LANGUAGE,
            image_url=_image_url(entry.image),
        )
