"""Stories: one piece of news in several languages, each version an item of its own.

A version points at the story's original (`Item.story_id`); the original knows it has
versions (`Item.has_versions`). A reader sees one version of a story, the best for them:
1. the version in their interface language, if their "News in" takes that language;
2. else the original, if "News in" takes its language;
3. else any version whose language "News in" takes (the oldest first);
4. else none: the story is not for them.

The rule is written twice, once over rows in Python (`best_version`, for what is already in
memory: digests, deep links) and once in SQL (`best_for`, for listings, search and counts),
and `tests/test_stories.py` holds both to the same cases. The fan-out writes it a third way,
as one CASE per story (`bot.delivery.store.fanout`), tested against `best_version` too.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    and_,
    case,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from sqlalchemy.orm.util import AliasedClass

from bot import i18n
from bot.db.models import Item
from bot.services.validation import ItemDraft
from bot.services.views import ItemView

# a chat's "News in" choices ("en", "fr", "es", "other"); None: every language
NewsChoices = frozenset[str] | None


@dataclass(frozen=True, slots=True)
class Reader:
    """Who a listing is for: their interface language (their version comes first) and the
    item languages they take ("News in"; None: all). The default reader takes everything and
    prefers originals."""

    language: str | None = None
    news: NewsChoices = None

    def takes(self, item_language: str) -> bool:
        return self.news is None or i18n.news_choice(item_language) in self.news


EVERYONE = Reader()


@dataclass(frozen=True, slots=True)
class Version:
    """What the rule needs of one live version."""

    id: int
    language: str
    original: bool


def best_version(versions: Sequence[Version], reader: Reader) -> int | None:
    """The id of the version `reader` gets of a story (its live versions), or None."""
    readable = [v for v in versions if reader.takes(v.language)]
    if not readable:
        return None
    return min(readable, key=lambda v: (_rank(v.language, v.original, reader), v.id)).id


def _rank(language: str, original: bool, reader: Reader) -> int:
    if reader.language is not None and language == reader.language:
        return 0
    return 1 if original else 2


def in_languages(language: SQLColumnExpression[str], news: frozenset[str]) -> ColumnElement[bool]:
    """Items written in one of the languages a chat takes ("other": any but the three)."""
    named = [code for code in i18n.LANGUAGES if code in news]
    allowed = [language.in_(named)] if named else []
    if i18n.OTHER_LANGUAGES in news:
        allowed.append(language.not_in(i18n.LANGUAGES))
    return or_(*allowed) if allowed else false()


def _readable(item: type[Item] | AliasedClass[Item], reader: Reader) -> list[ColumnElement[bool]]:
    return [] if reader.news is None else [in_languages(item.language, reader.news)]


def version_rank(item: type[Item] | AliasedClass[Item], reader: Reader) -> ColumnElement[int]:
    if reader.language is None:
        return case((item.story_id.is_(None), 1), else_=2)
    return case((item.language == reader.language, 0), (item.story_id.is_(None), 1), else_=2)


def best_for(reader: Reader) -> ColumnElement[bool]:
    """Rows of `Item` that are `reader`'s version of their story (live rows only).

    A story without versions costs nothing beyond its row; for one with versions, a probe of
    `ix_items_story_id` (and the primary key) looks for a better version."""
    other = aliased(Item)
    story = func.coalesce(Item.story_id, Item.id)
    mine, theirs = version_rank(Item, reader), version_rank(other, reader)
    better = exists(
        select(other.id).where(
            or_(other.id == story, other.story_id == story),
            other.id != Item.id,
            other.deleted_at.is_(None),
            *_readable(other, reader),
            or_(theirs < mine, and_(theirs == mine, other.id < Item.id)),
        )
    )
    alone = and_(Item.story_id.is_(None), Item.has_versions.is_(False))
    return and_(*_readable(Item, reader), or_(alone, not_(better)))


class StoryProblem(enum.Enum):
    UNKNOWN_ITEM = "unknown_item"  # no such item, or deleted
    LANGUAGE_TAKEN = "language_taken"  # the story has a live version in that language


class VersionRefused(Exception):
    def __init__(self, problem: StoryProblem, *, existing_id: int | None = None) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.existing_id = existing_id


async def story_original(session: AsyncSession, item_id: int, language: str) -> Item:
    """The original of `item_id`'s story, locked for the transaction (so two versions in
    one language cannot both get in), once it is known to take a version in `language`."""
    item = await session.get(Item, item_id)
    if item is not None and item.story_id is not None:
        item = await session.get(Item, item.story_id)
    if item is None:
        raise VersionRefused(StoryProblem.UNKNOWN_ITEM)
    # a row lock on PostgreSQL; SQLite writes one transaction at a time anyway
    await session.execute(select(Item.id).where(Item.id == item.id).with_for_update())
    await session.refresh(item)
    if item.deleted_at is not None:
        raise VersionRefused(StoryProblem.UNKNOWN_ITEM)
    taken = await session.scalar(
        select(Item.id).where(
            or_(Item.id == item.id, Item.story_id == item.id),
            Item.deleted_at.is_(None),
            Item.language == language,
        )
    )
    if taken is not None:
        raise VersionRefused(StoryProblem.LANGUAGE_TAKEN, existing_id=taken)
    return item


@dataclass(frozen=True, slots=True)
class VersionView:
    id: int
    language: str
    original: bool
    title: str


class StoryService:
    """What admins and deep links ask of a story: its versions, and a reader's one."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def versions(self, item_id: int) -> tuple[VersionView, ...]:
        """The live versions of `item_id`'s story, the original first; () when unknown."""
        async with self._sessions() as session:
            return await _versions(session, item_id)

    async def check_new_version(self, item_id: int, language: str) -> int:
        """The id of the original of `item_id`'s story, if it takes a version in `language`;
        VersionRefused otherwise (publishing checks again, under a lock)."""
        async with self._sessions() as session:
            return (await story_original(session, item_id, language)).id

    async def for_reader(self, item_id: int, reader: Reader) -> int | None:
        """The id of `reader`'s version of `item_id`'s story (None: they read none of it,
        or it is gone)."""
        versions = await self.versions(item_id)
        chosen = [Version(v.id, v.language, v.original) for v in versions]
        return best_version(chosen, reader)


async def _versions(session: AsyncSession, item_id: int) -> tuple[VersionView, ...]:
    story = await session.scalar(
        select(func.coalesce(Item.story_id, Item.id)).where(Item.id == item_id)
    )
    if story is None:
        return ()
    rows = await session.execute(
        select(Item.id, Item.language, Item.story_id, Item.title)
        .where(or_(Item.id == story, Item.story_id == story), Item.deleted_at.is_(None))
        .order_by(Item.story_id.is_not(None), Item.id)
    )
    return tuple(VersionView(i, language, s is None, title) for i, language, s, title in rows)


async def add_versions(
    session: AsyncSession, original: ItemView, drafts: Sequence[ItemDraft]
) -> None:
    """Versions of `original` (just stored in this transaction) from `drafts`, each in its
    own language: a scheduled story going out with all its versions at once."""
    if not drafts:
        return
    for draft in drafts:
        session.add(
            Item(
                title=draft.title,
                summary=draft.summary,
                url=draft.url,
                category_id=original.category_id,
                published_at=original.published_at,
                source=original.source,
                language=draft.language,
                image_url=draft.image_url,
                image_file_id=draft.image_file_id,
                story_id=original.id,
            )
        )
    await session.execute(update(Item).where(Item.id == original.id).values(has_versions=True))
