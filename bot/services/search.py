"""Full-text search over items' titles and summaries: /search and inline mode.

    user text --parse--> Query (AST: groups of alternatives, exclusions)
              --compile--> FTS5 MATCH string (SQLite)  |  tsquery expression (PostgreSQL)
              --> ranked rows, best first, then newest --> SearchPage + SearchCursor

One syntax on both databases: words (all must match), "a phrase", -word (excludes), and
`or` between words. The user's text is never handed to the database as syntax: it is cut
into words (letters and digits only), and each word or phrase goes in as a quoted FTS5
string or as a bound parameter of websearch_to_tsquery. So any input is safe; the worst case
is no match. Case and accents are ignored by the index itself (see migration 0009).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import struct
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    column,
    delete,
    func,
    literal_column,
    or_,
    select,
    table,
    tuple_,
)
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.db.base import utcnow
from bot.db.models import Category, Item, Search
from bot.db.models.search import SEARCH_TEXT_MAX
from bot.db.results import rowcount
from bot.services.news import EPOCH, item_view
from bot.services.search_shares import WordShares, driving_groups, words_of
from bot.services.search_syntax import Query, fts5_match, parse, pg_terms, pg_tsquery
from bot.services.stories import EVERYONE, Reader, in_languages, version_rank
from bot.services.views import Cursor, ItemView

__all__ = ["SearchCursor", "SearchPage", "SearchService", "parse"]

KEEP_SEARCHES = timedelta(days=1)
# Relevance is ranked over the newest WINDOW matches: ranking every item that holds a
# common word ("cooperative" is in most) would read the whole archive for each search.
# More pages and inline offsets stop there; more words narrow a search to older items.
WINDOW = 200
STATEMENTS = 256  # statements kept, one per query shape and reader (see SearchService._statement)

# -- results and the position in them ------------------------------------------------------------

_CURSOR = struct.Struct("<Bdqq")  # version, rank, published µs, item id: 25 bytes
_CURSOR_VERSION = 1
_CURSOR_TEXT = re.compile(r"[A-Za-z0-9_-]{34}")
_US_LIMIT = 2**62


@dataclass(frozen=True, slots=True)
class SearchCursor:
    """A position in best-first order: results ranked below, or as high but older, come next."""

    rank: float  # higher is better
    published_us: int
    item_id: int

    def encode(self) -> str:
        """34 ASCII characters (URL-safe base64, no padding): fits callback data and offsets."""
        packed = _CURSOR.pack(_CURSOR_VERSION, self.rank, self.published_us, self.item_id)
        return base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, data: str) -> SearchCursor:
        """The cursor `encode` made; ValueError for anything else (forged, cut, other version)."""
        if not isinstance(data, str) or not _CURSOR_TEXT.fullmatch(data):
            raise ValueError("not a search cursor")
        try:
            raw = base64.urlsafe_b64decode(data + "==")
        except (binascii.Error, ValueError):
            raise ValueError("not a search cursor") from None
        if len(raw) != _CURSOR.size:
            raise ValueError("not a search cursor")
        version, rank, published_us, item_id = _CURSOR.unpack(raw)
        cursor = cls(rank, published_us, item_id)
        if (
            version != _CURSOR_VERSION
            or not math.isfinite(rank)
            or not -_US_LIMIT < published_us < _US_LIMIT
            or item_id < 1
            or cursor.encode() != data  # one spelling per cursor (no stray padding bits)
        ):
            raise ValueError("not a search cursor")
        return cursor


@dataclass(frozen=True, slots=True)
class SearchPage:
    """Best matches first; `more`: others follow `cursor` (the last item's position)."""

    items: tuple[ItemView, ...]
    more: bool
    cursor: SearchCursor | None
    nothing_to_search: bool = False  # the text held no word to look for


NOTHING_TO_SEARCH = SearchPage(items=(), more=False, cursor=None, nothing_to_search=True)


def _shown_version(reader: Reader) -> ColumnElement[int | None]:
    """For a hit (an `Item` row), the id of `reader`'s version of its story: the hit itself
    when it has no versions (it passed the language filter), else the best of them."""
    other = aliased(Item)
    story = func.coalesce(Item.story_id, Item.id)
    best = (
        select(other.id)
        .where(
            or_(other.id == story, other.story_id == story),
            other.deleted_at.is_(None),
            *([] if reader.news is None else [in_languages(other.language, reader.news)]),
        )
        .order_by(version_rank(other, reader), other.id)
        .limit(1)
        .scalar_subquery()
    )
    alone = and_(Item.story_id.is_(None), Item.has_versions.is_(False))
    return case((alone, Item.id), else_=best)


# -- the two backends ----------------------------------------------------------------------------


class _Backend:
    def shape(self, query: Query) -> tuple[int, ...]:
        """What the statement's SQL depends on (the values go in as parameters)."""
        raise NotImplementedError

    def values(self, query: Query) -> dict[str, str]:
        """The query's parameters for the statement `hits` made for its shape."""
        raise NotImplementedError

    def hits(
        self,
        query: Query,
        where: list[ColumnElement],
        window: int | None,
        driving: tuple[int, ...] | None,
    ) -> Select:
        """(item_id, rank) of the `window` newest matches (by id, so by when they were
        added) that also meet `where`; rank: higher is better. `driving`: the groups that
        alone go to the index (PostgreSQL; `bot.services.search_shares`)."""
        raise NotImplementedError


class _Fts5(_Backend):
    """SQLite: the `items_fts` FTS5 table. FTS5 walks the matches newest first and stops at
    the window. The rank counts the query's words found in each row, a title's four times a
    summary's (FTS5's own highlight() marks them, with stemming and accent folding): unlike
    bm25, it costs nothing beyond the window's rows, where bm25 counts every row holding each
    word (its IDF) once per search, tens of milliseconds for a common word on a big archive."""

    def shape(self, query: Query) -> tuple[int, ...]:
        return ()  # the whole MATCH string is one parameter

    def values(self, query: Query) -> dict[str, str]:
        return {"match": fts5_match(query)}

    def hits(
        self,
        query: Query,
        where: list[ColumnElement],
        window: int | None,
        driving: tuple[int, ...] | None,
    ) -> Select:
        fts = table("items_fts", column("rowid"))
        match = literal_column("items_fts").op("MATCH")(bindparam("match", type_=String))
        # highlight() once per column and row, in a step of its own: used twice in one
        # expression, SQLite would run it twice
        marked = (
            select(
                fts.c.rowid.label("item_id"),
                _highlighted(0).label("title"),
                _highlighted(1).label("summary"),
            )
            .select_from(fts)
            .join(Item, Item.id == fts.c.rowid)
            .where(match, *where)
            .order_by(fts.c.rowid.desc())
            .limit(window)
            .cte("marked")
            .prefix_with("MATERIALIZED")
        )
        rank = 4.0 * _marks(marked.c.title) + _marks(marked.c.summary)
        return select(marked.c.item_id, rank.label("rank"))


def _highlighted(column_index: int) -> ColumnElement[str]:
    """One column of the row with a marker before each of the query's words FTS5 found."""
    return func.highlight(literal_column("items_fts"), column_index, _MARK, "")


def _marks(highlighted: ColumnElement[str]) -> ColumnElement[float]:
    """How many words were marked: the length lost by removing the markers (0 for a row
    without a summary)."""
    found = func.length(highlighted) - func.length(func.replace(highlighted, _MARK, ""))
    return cast(func.coalesce(found, 0), Float(precision=53))


_MARK = "\x01"  # a character no title or summary holds


class _Tsvector(_Backend):
    """PostgreSQL: the generated `items.search_vector` (GIN); rank is ts_rank_cd. The
    planner walks the newest items for a common word and the GIN index for a rare one."""

    def shape(self, query: Query) -> tuple[int, ...]:
        return (len(query.excluded), *(len(g) for g in query.groups))

    def values(self, query: Query) -> dict[str, str]:
        return pg_terms(query)

    def hits(
        self,
        query: Query,
        where: list[ColumnElement],
        window: int | None,
        driving: tuple[int, ...] | None,
    ) -> Select:
        vector: ColumnClause[Any] = literal_column("items.search_vector")
        tsquery, wanted, leading = pg_tsquery(query, driving)
        matching: list[ColumnElement[Any]]
        if driving is None:
            matching = [vector.op("@@")(tsquery)]
        else:
            # the rare part through the index; the whole query checked on what it finds, as a
            # function call, which the index cannot take
            matching = [vector.op("@@")(leading), func.ts_match_vq(vector, tsquery)]
        newest = (
            select(Item.id)
            # the wanted words may all be stop words ("the"), which PostgreSQL drops: then
            # only the exclusions would be left, and they would match nearly everything
            .where(func.numnode(wanted) > 0, *matching, *where)
            .order_by(Item.id.desc())
            .limit(window)
            .cte("newest")
        )
        # ranked in a step of its own, so only the window's rows are ranked whatever plan
        # finds them (a sort would otherwise rank every match)
        rank = cast(func.ts_rank_cd(vector, tsquery), Float(precision=53))
        return select(Item.id.label("item_id"), rank.label("rank")).join(
            newest, newest.c.id == Item.id
        )


class SearchService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        dialect: str,
        *,
        window: int | None = WINDOW,
    ) -> None:
        self._sessions = sessions
        self._postgres = dialect != "sqlite"
        self._backend: _Backend = _Tsvector() if self._postgres else _Fts5()
        self._window = window
        self._statements: dict[tuple[object, ...], Select] = {}
        self._shares = WordShares()

    async def search(
        self,
        text: str,
        *,
        limit: int,
        after: SearchCursor | None = None,
        reader: Reader = EVERYONE,
    ) -> SearchPage:
        """Up to `limit` stories matching `text`, best first, then newest; after `after` when
        given. A match in any version finds the story, shown in `reader`'s version
        (`bot.services.stories`); a story they read in no language is left out."""
        query = parse(text)
        if query.empty:
            return NOTHING_TO_SEARCH
        values: dict[str, object] = {**self._backend.values(query), "page_limit": limit + 1}
        if after is not None:
            values["after_rank"] = after.rank
            values["after_published"] = EPOCH + timedelta(microseconds=after.published_us)
            values["after_id"] = after.item_id
        async with self._sessions() as session:
            driving = None
            if self._postgres:
                # a plan for these words, not a generic one: whether to walk the newest items
                # or the GIN index depends on how common the words are
                await session.execute(sql("SET LOCAL plan_cache_mode = force_custom_plan"))
                if len(query.groups) > 1:
                    shares = await self._shares.of(session, words_of(query))
                    driving = driving_groups(query, shares)
            statement = self._statement_for(query, reader, after is not None, driving)
            rows = (await session.execute(statement, values)).all()
        shown = rows[:limit]
        items = tuple(item_view(item, name, names) for item, name, names, _rank in shown)
        cursor = None
        if shown:
            last, _name, _names, last_rank = shown[-1]
            position = Cursor.of(last.published_at, last.id)
            cursor = SearchCursor(float(last_rank), position.published_us, position.item_id)
        return SearchPage(items=items, more=len(rows) > limit, cursor=cursor)

    def _statement_for(
        self, query: Query, reader: Reader, paged: bool, driving: tuple[int, ...] | None
    ) -> Select:
        key = (self._backend.shape(query), reader, paged, driving)
        statement = self._statements.get(key)
        if statement is None:
            statement = self._statement(query, reader, paged=paged, driving=driving)
            if len(self._statements) >= STATEMENTS:
                del self._statements[next(iter(self._statements))]
            self._statements[key] = statement
        return statement

    def _statement(
        self,
        query: Query,
        reader: Reader,
        *,
        paged: bool,
        driving: tuple[int, ...] | None = None,
    ) -> Select:
        """The search for every query of `query`'s shape, for `reader`; the words, the page's
        size (`page_limit`) and the position after which it starts (`after_*`) are bound
        parameters. Built once per shape: a statement this size takes a millisecond of
        Python to build and leaves work for the garbage collector."""
        where: list[ColumnElement[bool]] = [Item.deleted_at.is_(None)]
        if reader.news is not None:
            # an unreadable item may still lead to a readable version of its story
            where.append(
                or_(
                    in_languages(Item.language, reader.news),
                    Item.story_id.is_not(None),
                    Item.has_versions.is_(True),
                )
            )
        # computed once per hit, not again wherever the rank is compared
        hits = self._backend.hits(query, where, self._window, driving).cte("hits")
        hits = hits.prefix_with("MATERIALIZED")
        shown_id = _shown_version(reader).label("shown_id")
        found = (
            select(shown_id, hits.c.rank).join(Item, Item.id == hits.c.item_id).subquery("found")
        )
        stories = (
            select(found.c.shown_id.label("item_id"), func.max(found.c.rank).label("rank"))
            .where(found.c.shown_id.is_not(None))
            .group_by(found.c.shown_id)
            .subquery("stories")
        )
        rank = stories.c.rank
        statement = (
            select(Item, Category.name, Category.names, rank)
            .join(stories, stories.c.item_id == Item.id)
            .join(Category, Item.category_id == Category.id)
            .order_by(rank.desc(), Item.published_at.desc(), Item.id.desc())
            .limit(bindparam("page_limit", type_=Integer))
        )
        if paged:
            published = bindparam("after_published", type_=Item.published_at.type)
            item_id = bindparam("after_id", type_=Integer)
            after_rank = bindparam("after_rank", type_=Float(precision=53))
            statement = statement.where(
                or_(
                    rank < after_rank,
                    and_(
                        rank == after_rank,
                        tuple_(Item.published_at, Item.id) < tuple_(published, item_id),
                    ),
                )
            )
        return statement

    # -- the searches behind More buttons ------------------------------------------------------

    async def remember(self, chat_id: int, text: str) -> int:
        """Keep a search's text for its More button; returns the id the button carries."""
        async with self._sessions.begin() as session:
            row = Search(chat_id=chat_id, text=text[:SEARCH_TEXT_MAX])
            session.add(row)
            await session.flush()
            return row.id

    async def recall(self, search_id: int, chat_id: int) -> str | None:
        """The text of a search made in this chat; None once purged, or from another chat."""
        async with self._sessions() as session:
            row = await session.get(Search, search_id)
        if row is None or row.chat_id != chat_id:
            return None
        return row.text

    async def purge(self, older_than: timedelta = KEEP_SEARCHES) -> int:
        """Forget searches older than `older_than`; their More buttons then expire."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(Search).where(Search.created_at < utcnow() - older_than)
            )
        return max(rowcount(result), 0)
