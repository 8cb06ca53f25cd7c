"""Categories by name, in every language: how a name is folded and looked up, and the names
admins give a category in each of the readers' languages (`/categories`).

A category keeps one identity (its row, and the original name it was created with) and may
have a name in each of the bot's languages. Readers see the name in their chat's language,
else the original; `/category`, `/subscribe`, feeds, import and `/add` know it by any of its
names. The names live in `category_names` (one row per language, with the folded key they are
looked up by) and, as a read copy, in `categories.names`, so that whatever shows a category
reads its names with its name (migration 0012 says why both). Both are written here, in one
transaction that also tells the other processes (`announce(ITEMS)`): their listing caches
hold categories, and drop them.

No two categories share a name, in any language (a name must say which category it means);
one category may have the same name in two languages ("Agriculture").
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import i18n
from bot.db.models import Category, CategoryName
from bot.db.models.news import CATEGORY_NAME_MAX
from bot.services.audit import record
from bot.services.invalidation import ITEMS, announce
from bot.services.validation import clean_category
from bot.services.views import CategoryView, names_of

if TYPE_CHECKING:
    from bot.services.news import NewsService

# a one-key advisory lock ("coopname") taken by every change of names on PostgreSQL, so two
# admins naming two categories alike at the same moment cannot both succeed
NAMES_LOCK = 0x636F_6F70_6E61_6D65


def category_key(name: str) -> str:
    """A category name as categories are told apart and looked up: single-spaced, case and
    accents ignored ("Travail  Décent" and "travail decent" are one name)."""
    decomposed = unicodedata.normalize("NFKD", " ".join(name.split()).casefold())
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return folded[: CATEGORY_NAME_MAX * 2]  # the key's column; only odd scripts grow so much


async def category_named(
    session: AsyncSession, key: str, *, besides: int | None = None
) -> Category | None:
    """The category one of whose names (its own, or one in any language) folds to `key`;
    `besides`: any but that one."""
    own = select(Category).where(Category.name_key == key)
    named = (
        select(Category)
        .join(CategoryName, CategoryName.category_id == Category.id)
        .where(CategoryName.name_key == key)
        .order_by(Category.id)
        .limit(1)
    )
    if besides is not None:
        own = own.where(Category.id != besides)
        named = named.where(Category.id != besides)
    return await session.scalar(own) or await session.scalar(named)


def category_view(category: Category) -> CategoryView:
    return CategoryView(category.id, category.name, category.item_count, names_of(category.names))


class NameProblem(enum.Enum):
    BAD_LANGUAGE = "bad_language"  # not one of the bot's languages
    TAKEN = "taken"  # another category has that name, in some language


class NameRefused(Exception):
    """`other`: the category that has the name already (TAKEN)."""

    def __init__(self, problem: NameProblem, *, other: CategoryView | None = None) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.other = other


@dataclass(frozen=True, slots=True)
class Named:
    category: CategoryView  # with its new name
    language: str
    before: str | None  # its name in that language until now (None: it had none)


def name_language(code: str) -> str:
    """A language a category may be named in (one of the bot's), from what an admin typed;
    raises NameRefused(BAD_LANGUAGE) for any other."""
    language = code.strip().lower()
    if language not in i18n.LANGUAGES:
        raise NameRefused(NameProblem.BAD_LANGUAGE)
    return language


class CategoryService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], news: NewsService) -> None:
        self._sessions = sessions
        self._news = news  # its listing caches hold categories, names and all

    async def listing(self) -> list[CategoryView]:
        """Every category with its names, in the order of their original names."""
        return await self._news.categories()

    async def set_name(self, category_id: int, language: str, name: str, *, actor_id: int) -> Named:
        """Name a category in one of the bot's languages (an admin's action, audited).

        Raises ValidationFailed for a name `/add` would refuse for a category (empty, too
        long), NameRefused for another language or a name another category has, and
        LookupError when the category is gone. Nothing changes then."""
        language = name_language(language)
        name = clean_category(name)
        async with self._sessions.begin() as session:
            await _serialised(session)
            category = await session.get(Category, category_id, with_for_update=True)
            if category is None:
                raise LookupError(category_id)
            other = await category_named(session, category_key(name), besides=category.id)
            if other is not None:
                raise NameRefused(NameProblem.TAKEN, other=category_view(other))
            before = await _store(session, category, language, name)
            record(
                session,
                actor_id,
                "category_name",
                detail=f"{category.name} [{language}]: {before!r} -> {name!r}",
            )
            await announce(session, ITEMS)
            view = category_view(category)
        self._news.invalidate()
        return Named(view, language, before)

    async def fill_names(self, category: str, names: Mapping[str, str]) -> list[str]:
        """Give the category known by `category` (any of its names) the `names` it has no
        name for yet (the sample data, an import): a name it has already stays. Returns the
        names left out because another category has them. `names` are checked already (see
        `checked_names`)."""
        taken: list[str] = []
        async with self._sessions.begin() as session:
            await _serialised(session)
            row = await category_named(session, category_key(category))
            if row is None:
                return taken
            added = False
            for language, name in sorted(names.items()):
                if language in row.names:
                    continue
                if await category_named(session, category_key(name), besides=row.id):
                    taken.append(name)
                    continue
                await _store(session, row, language, name)
                added = True
            if added:
                await announce(session, ITEMS)
        if added:
            self._news.invalidate()
        return taken


def checked_names(raw: object) -> dict[str, str]:
    """Names per language as a file gives them ({"fr": "Travail décent"}), checked like an
    admin's; raises ValueError (anything but such an object), NameRefused (a language the
    bot does not speak) or ValidationFailed (a bad name)."""
    if not isinstance(raw, Mapping):
        raise ValueError("category names must be an object of language: name")
    names: dict[str, str] = {}
    for code, name in raw.items():
        if not isinstance(code, str) or not isinstance(name, str):
            raise ValueError("category names must be text")
        names[name_language(code)] = clean_category(name)
    return names


async def _serialised(session: AsyncSession) -> None:
    """Changes of names one at a time (PostgreSQL; SQLite has one writer anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": NAMES_LOCK})


async def _store(session: AsyncSession, category: Category, language: str, name: str) -> str | None:
    """Set the category's name in `language`, in its row and its read copy; returns the name
    it had there."""
    row = await session.get(CategoryName, (category.id, language))
    before = row.name if row is not None else None
    if row is None:
        row = CategoryName(category_id=category.id, language=language)
        session.add(row)
    row.name = name
    row.name_key = category_key(name)
    category.names = {**category.names, language: name}  # a new dict: the ORM sees the change
    await session.flush()
    return before
