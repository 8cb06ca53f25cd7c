"""Reading and publishing news items: /latest, /category and /add all go through here."""

from __future__ import annotations

import enum
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Row, Select, false, func, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import i18n
from bot.db.base import utcnow
from bot.db.models import BroadcastQueue, Category, Item
from bot.services.audit import record
from bot.services.invalidation import ITEMS, announce
from bot.services.validation import ItemDraft, Problem, ValidationFailed
from bot.services.views import CategoryView, Cursor, ItemView, Page

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def category_key(name: str) -> str:
    return " ".join(name.split()).casefold()


class Match(enum.Enum):
    FOUND = "found"
    AMBIGUOUS = "ambiguous"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CategoryMatch:
    outcome: Match
    category: CategoryView | None = None
    candidates: tuple[CategoryView, ...] = ()


@dataclass(frozen=True, slots=True)
class Published:
    item: ItemView
    category_created: bool


# a chat's "News in" choices ("en", "fr", "es", "other"); None: every language
NewsChoices = frozenset[str] | None


def _in_languages(news: frozenset[str]) -> ColumnElement[bool]:
    """Items written in one of the languages a chat takes ("other": any but the three)."""
    named = [code for code in i18n.LANGUAGES if code in news]
    allowed = [Item.language.in_(named)] if named else []
    if i18n.OTHER_LANGUAGES in news:
        allowed.append(Item.language.not_in(i18n.LANGUAGES))
    return or_(*allowed) if allowed else false()


def item_view(item: Item, category_name: str) -> ItemView:
    return ItemView(
        id=item.id,
        title=item.title,
        summary=item.summary,
        url=item.url,
        category_id=item.category_id,
        category=category_name,
        published_at=item.published_at,
        source=item.source,
        language=item.language,
        image_url=item.image_url,
        image_file_id=item.image_file_id,
    )


def _page(rows: Sequence[Row], limit: int) -> Page:
    """`rows` holds one more than `limit` when older items follow."""
    return Page(
        items=tuple(item_view(item, name) for item, name in rows[:limit]), more=len(rows) > limit
    )


def _category_view(category: Category) -> CategoryView:
    return CategoryView(category.id, category.name, category.item_count)


V = TypeVar("V")


class _ListingCache(Generic[V]):
    """Recent reads of one kind of /latest, /category and category pages, kept for a few seconds.

    These are the hottest reads by far (everyone taps /latest after a push), and they change
    only when items are published, corrected or withdrawn. Changes made in this process clear
    the cache at once (`NewsService.invalidate`); on PostgreSQL, changes made by any process
    clear it when their notification arrives (`bot.services.invalidation`), and the cache is
    off while notifications cannot be relied on. Otherwise (SQLite's CLI) they show after at
    most `seconds`. One cache per kind of listing, so each hands back what it holds, typed.
    """

    MAX_ENTRIES = 2048

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._entries: dict[tuple, tuple[float, V]] = {}
        self.enabled = True
        # bumped by every clear: a read that started before a clear must not be kept, as it
        # may predate the change that caused the clear
        self.generation = 0

    def get(self, key: tuple) -> V | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: tuple, value: V, generation: int) -> None:
        if self._seconds <= 0 or not self.enabled or generation != self.generation:
            return
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self._seconds, value)

    def clear(self) -> None:
        self._entries.clear()
        self.generation += 1


class NewsService:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, cache_seconds: float = 0.0
    ) -> None:
        self._sessions = sessions
        self._on_published: list[Callable[[ItemView], None]] = []
        self._pages = _ListingCache[Page](cache_seconds)
        self._category_pages = _ListingCache[tuple[CategoryView | None, Page]](cache_seconds)
        self._categories = _ListingCache[tuple[CategoryView, ...]](cache_seconds)

    def _caches(self) -> tuple[_ListingCache[Any], ...]:
        return (self._pages, self._category_pages, self._categories)

    def invalidate(self) -> None:
        """Items changed: listings are read from the database again."""
        for cache in self._caches():
            cache.clear()

    def set_caching(self, on: bool) -> None:
        """Keep listings in memory (on) or read each from the database (off); either way
        what is kept now is dropped."""
        for cache in self._caches():
            cache.clear()
            cache.enabled = on

    def on_published(self, listener: Callable[[ItemView], None]) -> None:
        """Call `listener` after an item with a queued broadcast is committed (e.g. to wake
        the delivery engine at once instead of at its next poll)."""
        self._on_published.append(listener)

    async def page(
        self,
        limit: int,
        *,
        category_id: int | None = None,
        after: Cursor | None = None,
        news: NewsChoices = None,
    ) -> Page:
        """Up to `limit` items, newest first, older than `after` when given, in the item
        languages a chat takes (`news`, its "News in" choices; None: all).

        Keyset pagination: the (published_at, id) pair of the last item shown is the
        cursor, so page 1000 costs what page 1 costs.
        """
        key = (limit, category_id, after, news)
        if (cached := self._pages.get(key)) is not None:
            return cached
        generation = self._pages.generation
        async with self._sessions() as session:
            query = self._page_query(limit, category_id, after, news)
            rows = (await session.execute(query)).all()
        page = _page(rows, limit)
        self._pages.put(key, page, generation)
        return page

    async def category_page(
        self,
        category_id: int,
        limit: int,
        *,
        after: Cursor | None = None,
        news: NewsChoices = None,
    ) -> tuple[CategoryView | None, Page]:
        """A category and a page of its items in one session (a category tap's whole read);
        with `news`, the category's count is of the items in those languages."""
        key = (category_id, limit, after, news)
        if (cached := self._category_pages.get(key)) is not None:
            return cached
        generation = self._category_pages.generation
        async with self._sessions() as session:
            category = await session.get(Category, category_id)
            if category is None:
                return None, Page(items=(), more=False)
            query = self._page_query(limit, category_id, after, news)
            rows = (await session.execute(query)).all()
            view = _category_view(category)
            if news is not None:
                counts = await self._counts(session, news, category_id)
                view = replace(view, item_count=counts.get(category_id, 0))
        result = (view, _page(rows, limit))
        self._category_pages.put(key, result, generation)
        return result

    @staticmethod
    def _page_query(
        limit: int, category_id: int | None, after: Cursor | None, news: NewsChoices = None
    ) -> Select:
        query: Select = (
            select(Item, Category.name)
            .join(Category, Item.category_id == Category.id)
            .where(Item.deleted_at.is_(None))
            .order_by(Item.published_at.desc(), Item.id.desc())
            .limit(limit + 1)
        )
        if category_id is not None:
            query = query.where(Item.category_id == category_id)
        if news is not None:
            query = query.where(_in_languages(news))
        if after is not None:
            published = EPOCH + timedelta(microseconds=after.published_us)
            query = query.where(tuple_(Item.published_at, Item.id) < (published, after.item_id))
        return query

    async def get_item(self, item_id: int) -> ItemView | None:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Item, Category.name)
                    .join(Category, Item.category_id == Category.id)
                    .where(Item.id == item_id, Item.deleted_at.is_(None))
                )
            ).first()
        return item_view(*row) if row else None

    async def categories(self, *, news: NewsChoices = None) -> list[CategoryView]:
        """Every category with its item count; with `news`, counting only the items in
        those languages (what a chat with a "News in" filter would find there)."""
        key = (news,)
        if (cached := self._categories.get(key)) is not None:
            return list(cached)
        generation = self._categories.generation
        async with self._sessions() as session:
            rows = await session.scalars(select(Category).order_by(Category.name_key))
            categories = [_category_view(row) for row in rows]
            if news is not None:
                counts = await self._counts(session, news)
                categories = [replace(c, item_count=counts.get(c.id, 0)) for c in categories]
        self._categories.put(key, tuple(categories), generation)
        return categories

    @staticmethod
    async def _counts(
        session: AsyncSession, news: frozenset[str], category_id: int | None = None
    ) -> dict[int, int]:
        query = (
            select(Item.category_id, func.count())
            .where(Item.deleted_at.is_(None), _in_languages(news))
            .group_by(Item.category_id)
        )
        if category_id is not None:
            query = query.where(Item.category_id == category_id)
        return {category_id: count for category_id, count in await session.execute(query)}

    async def get_category(self, category_id: int) -> CategoryView | None:
        async with self._sessions() as session:
            row = await session.get(Category, category_id)
            return _category_view(row) if row else None

    async def find_category(self, name: str) -> CategoryMatch:
        """Case-insensitive: an exact name wins, else a unique prefix ("decent")."""
        key = category_key(name)
        if not key:
            return CategoryMatch(Match.UNKNOWN)
        categories = await self.categories()
        exact = [c for c in categories if category_key(c.name) == key]
        if exact:
            return CategoryMatch(Match.FOUND, exact[0])
        prefixed = tuple(c for c in categories if category_key(c.name).startswith(key))
        if len(prefixed) == 1:
            return CategoryMatch(Match.FOUND, prefixed[0])
        if prefixed:
            return CategoryMatch(Match.AMBIGUOUS, candidates=prefixed)
        return CategoryMatch(Match.UNKNOWN, candidates=tuple(categories))

    async def find_by_url(self, url: str) -> ItemView | None:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Item, Category.name)
                    .join(Category, Item.category_id == Category.id)
                    .where(Item.url == url)
                )
            ).first()
        return item_view(*row) if row else None

    async def publish(
        self,
        draft: ItemDraft,
        *,
        source: str | None = None,
        actor_id: int | None = None,
        published_at: datetime | None = None,
        broadcast: bool = True,
        also: Callable[[AsyncSession, ItemView], Awaitable[None]] | None = None,
    ) -> Published:
        """Store an item and, in the same transaction, queue its broadcast.

        An admin's item (`actor_id`) is audited in that transaction, and its source is
        `admin:<id>` unless given. `also` runs inside the transaction once the item has its id
        (e.g. to drop the scheduled item being published), so both commit or neither.

        Raises ValidationFailed(DUPLICATE_URL, existing=ItemView) when the link is known.
        """
        if source is None:
            if actor_id is None:
                raise ValueError("an item needs a source or an actor")
            source = f"admin:{actor_id}"
        if draft.url is not None:
            existing = await self.find_by_url(draft.url)
            if existing is not None:
                raise ValidationFailed(Problem.DUPLICATE_URL, existing=existing)
        try:
            async with self._sessions.begin() as session:
                category, created = await self._category_for_update(session, draft.category)
                item = Item(
                    title=draft.title,
                    summary=draft.summary,
                    url=draft.url,
                    category_id=category.id,
                    published_at=published_at or utcnow(),
                    source=source,
                    language=draft.language,
                    image_url=draft.image_url,
                    image_file_id=draft.image_file_id,
                )
                session.add(item)
                await session.flush()
                await session.execute(
                    update(Category)
                    .where(Category.id == category.id)
                    .values(item_count=Category.item_count + 1)
                )
                if broadcast:
                    session.add(BroadcastQueue(item_id=item.id))
                view = item_view(item, category.name)
                if actor_id is not None:
                    record(session, actor_id, "publish", item_id=item.id, detail=item.title)
                await announce(session, ITEMS)
                if also is not None:
                    await also(session, view)
        except IntegrityError:
            # another writer stored the same link between our check and our insert
            if draft.url is not None and (existing := await self.find_by_url(draft.url)):
                raise ValidationFailed(Problem.DUPLICATE_URL, existing=existing) from None
            raise
        self.invalidate()
        if broadcast:
            for listener in self._on_published:
                listener(view)
        return Published(item=view, category_created=created)

    @staticmethod
    async def _category_for_update(session: AsyncSession, name: str) -> tuple[Category, bool]:
        key = category_key(name)
        category = await session.scalar(select(Category).where(Category.name_key == key))
        if category is not None:
            return category, False
        # a savepoint, so that losing the race to another writer creating the same category
        # costs only the insert: then its row is read and used
        try:
            async with session.begin_nested():
                category = Category(name=" ".join(name.split()), name_key=key, item_count=0)
                session.add(category)
        except IntegrityError:
            category = await session.scalar(select(Category).where(Category.name_key == key))
            if category is None:
                raise
            return category, False
        return category, True

    async def has_item(self, title: str, published_at: datetime) -> bool:
        async with self._sessions() as session:
            found = await session.scalar(
                select(Item.id).where(Item.published_at == published_at, Item.title == title)
            )
        return found is not None

    async def count_items(self) -> int:
        async with self._sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(Item)) or 0)
