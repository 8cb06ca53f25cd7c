"""Reading and publishing news items: /latest, /category and /add all go through here."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, func, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import utcnow
from bot.db.models import BroadcastQueue, Category, Item
from bot.services import suggestions
from bot.services.audit import record
from bot.services.caching import ListingCache
from bot.services.categories import category_key, category_named, category_view
from bot.services.invalidation import ITEMS, announce
from bot.services.stories import EVERYONE, Reader, best_for, story_original
from bot.services.validation import ItemDraft, Problem, ValidationFailed
from bot.services.views import CategoryView, Cursor, ItemView, Names, Page, names_of

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


def item_view(
    item: Item, category_name: str, category_names: dict[str, str] | Names | None = None
) -> ItemView:
    """`category_names`: the category's names per language (`Category.names`, or a view's)."""
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
        story_id=item.story_id,
        created_at=item.created_at,
        category_names=names_of(category_names),
    )


def _page(rows: Sequence[Row], limit: int) -> Page:
    """`rows` holds one more than `limit` when older items follow."""
    return Page(items=tuple(item_view(*row) for row in rows[:limit]), more=len(rows) > limit)


class NewsService:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, cache_seconds: float = 0.0
    ) -> None:
        self._sessions = sessions
        self._on_published: list[Callable[[ItemView], None]] = []
        self._pages = ListingCache[Page](cache_seconds)
        self._category_pages = ListingCache[tuple[CategoryView | None, Page]](cache_seconds)
        self._categories = ListingCache[tuple[CategoryView, ...]](cache_seconds)

    def _caches(self) -> tuple[ListingCache[Any], ...]:
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
        reader: Reader = EVERYONE,
    ) -> Page:
        """Up to `limit` stories, newest first, older than `after` when given, each in
        `reader`'s version (`bot.services.stories`): none of a story they cannot read.

        Keyset pagination: the (published_at, id) pair of the last item shown is the
        cursor, so page 1000 costs what page 1 costs. A story's versions share its
        original's time, and only one of them is the reader's, so none is shown twice.
        """
        key = (limit, category_id, after, reader)
        if (cached := self._pages.get(key)) is not None:
            return cached
        generation = self._pages.generation
        async with self._sessions() as session:
            query = self._page_query(limit, category_id, after, reader)
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
        reader: Reader = EVERYONE,
    ) -> tuple[CategoryView | None, Page]:
        """A category and a page of its stories in one session (a category tap's whole
        read); for a reader with "News in", the count is of the stories they can read."""
        key = (category_id, limit, after, reader)
        if (cached := self._category_pages.get(key)) is not None:
            return cached
        generation = self._category_pages.generation
        async with self._sessions() as session:
            category = await session.get(Category, category_id)
            if category is None:
                return None, Page(items=(), more=False)
            query = self._page_query(limit, category_id, after, reader)
            rows = (await session.execute(query)).all()
            view = category_view(category)
            if reader.news is not None:
                counts = await self._counts(session, reader, category_id)
                view = replace(view, item_count=counts.get(category_id, 0))
        result = (view, _page(rows, limit))
        self._category_pages.put(key, result, generation)
        return result

    @staticmethod
    def _page_query(
        limit: int, category_id: int | None, after: Cursor | None, reader: Reader
    ) -> Select:
        query: Select = (
            select(Item, Category.name, Category.names)
            .join(Category, Item.category_id == Category.id)
            .where(Item.deleted_at.is_(None), best_for(reader))
            .order_by(Item.published_at.desc(), Item.id.desc())
            .limit(limit + 1)
        )
        if category_id is not None:
            query = query.where(Item.category_id == category_id)
        if after is not None:
            published = EPOCH + timedelta(microseconds=after.published_us)
            query = query.where(tuple_(Item.published_at, Item.id) < (published, after.item_id))
        return query

    async def get_item(self, item_id: int) -> ItemView | None:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Item, Category.name, Category.names)
                    .join(Category, Item.category_id == Category.id)
                    .where(Item.id == item_id, Item.deleted_at.is_(None))
                )
            ).first()
        return item_view(*row) if row else None

    async def categories(self, *, reader: Reader = EVERYONE) -> list[CategoryView]:
        """Every category with its count of stories; for a reader with "News in", only the
        stories they can read (what they would find there)."""
        key = (reader.news,)
        if (cached := self._categories.get(key)) is not None:
            return list(cached)
        generation = self._categories.generation
        async with self._sessions() as session:
            rows = await session.scalars(select(Category).order_by(Category.name_key))
            categories = [category_view(row) for row in rows]
            if reader.news is not None:
                counts = await self._counts(session, reader)
                categories = [replace(c, item_count=counts.get(c.id, 0)) for c in categories]
        self._categories.put(key, tuple(categories), generation)
        return categories

    @staticmethod
    async def _counts(
        session: AsyncSession, reader: Reader, category_id: int | None = None
    ) -> dict[int, int]:
        # the language does not change a count: whichever version is theirs, a story is one
        query = (
            select(Item.category_id, func.count())
            .where(Item.deleted_at.is_(None), best_for(replace(reader, language=None)))
            .group_by(Item.category_id)
        )
        if category_id is not None:
            query = query.where(Item.category_id == category_id)
        return {category_id: count for category_id, count in await session.execute(query)}

    async def get_category(self, category_id: int) -> CategoryView | None:
        async with self._sessions() as session:
            row = await session.get(Category, category_id)
            return category_view(row) if row else None

    async def find_category(self, name: str) -> CategoryMatch:
        """By any of its names, in any language, ignoring case and accents: an exact name
        wins, else a unique prefix ("decent", "trabajo")."""
        key = category_key(name)
        if not key:
            return CategoryMatch(Match.UNKNOWN)
        categories = await self.categories()
        keys = [(c, {category_key(n) for n in c.all_names}) for c in categories]
        exact = [c for c, known in keys if key in known]
        if exact:
            return CategoryMatch(Match.FOUND, exact[0])
        prefixed = tuple(c for c, known in keys if any(k.startswith(key) for k in known))
        if len(prefixed) == 1:
            return CategoryMatch(Match.FOUND, prefixed[0])
        if prefixed:
            return CategoryMatch(Match.AMBIGUOUS, candidates=prefixed)
        return CategoryMatch(Match.UNKNOWN, candidates=tuple(categories))

    async def find_by_url(self, url: str) -> ItemView | None:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Item, Category.name, Category.names)
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
        version_of: int | None = None,
    ) -> Published:
        """Store an item and, in the same transaction, queue its broadcast.

        `version_of`: the item is a version of that item's story, in another language: it
        takes the story's category and time, and its broadcast reaches only the chats that
        have had nothing of the story (`bot.delivery.store.fanout`). Raises VersionRefused
        when that story is unknown or deleted, or already has a version in the language.

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
                original = None
                if version_of is not None:
                    original = await story_original(session, version_of, draft.language)
                    category = await session.get_one(Category, original.category_id)
                    created = False
                else:
                    category, created = await self._category_for_update(session, draft.category)
                item = Item(
                    title=draft.title,
                    summary=draft.summary,
                    url=draft.url,
                    category_id=category.id,
                    published_at=original.published_at if original else published_at or utcnow(),
                    source=source,
                    language=draft.language,
                    image_url=draft.image_url,
                    image_file_id=draft.image_file_id,
                    story_id=original.id if original else None,
                )
                session.add(item)
                if original is not None:
                    original.has_versions = True
                await session.flush()
                if original is None:  # a category counts stories, not their versions
                    await session.execute(
                        update(Category)
                        .where(Category.id == category.id)
                        .values(item_count=Category.item_count + 1)
                    )
                if broadcast:
                    session.add(BroadcastQueue(item_id=item.id))
                view = item_view(item, category.name, category.names)
                if actor_id is not None:
                    action = "publish" if original is None else "publish_version"
                    record(session, actor_id, action, item_id=item.id, detail=item.title)
                if item.url is not None:  # a member's suggestion of this link is now published
                    await suggestions.published(session, item.id, item.url, actor_id)
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
        """The category known by `name` in any language ("Travail décent" is "Decent work"),
        or a new one of that name."""
        key = category_key(name)
        category = await category_named(session, key)
        if category is not None:
            return category, False
        # a savepoint, so that losing the race to another writer creating the same category
        # costs only the insert: then its row is read and used
        try:
            async with session.begin_nested():
                category = Category(name=" ".join(name.split()), name_key=key, item_count=0)
                session.add(category)
        except IntegrityError:
            category = await category_named(session, key)
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
