"""PostgreSQL: which of a search's words lead it through the GIN index.

GIN answers `a & b` by reading the posting lists of both words. For a word in most items
("ilo", "cooperative") that list is hundreds of pages, read again for every search even when
the other word is in a few hundred items: "kumefi ilo cooperative" read 480 index pages to
keep 241 rows. When a search has a rare part and a common part, the rare part alone goes to
the index and the whole query is checked on the rows it finds (a few hundred heap rows
instead of the common words' lists). How common a word is comes from the statistics ANALYZE
keeps of `items.search_vector` (its most common lexemes and their shares), read once per
word and kept for a while.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from sqlalchemy import String, bindparam
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.search_syntax import Query, Term

# a part of the query in fewer items than this leads the index scan …
RARE = 0.01
# … when another part is in at least this many, and is only checked on the rows found
COMMON = 0.10
KEEP_SECONDS = 600.0  # autovacuum's ANALYZE moves the statistics now and then
KEPT_WORDS = 10_000

# Each word's share: its rarest lexeme's (all of a word's lexemes must be in an item), 0 for
# one not among the most common (rarer than all of them, or no statistics yet), NULL for a
# word that is only stop words (PostgreSQL drops it from the query).
_SHARES = sql(
    """
    WITH stats AS (
        SELECT most_common_elems::text::text[] AS lexemes, most_common_elem_freqs AS shares
        FROM pg_stats
        WHERE schemaname = current_schema() AND tablename = 'items'
          AND attname = 'search_vector'
    )
    SELECT w.word, (
        SELECT min(coalesce(stats.shares[array_position(stats.lexemes, lexeme)], 0))
        FROM unnest(tsvector_to_array(
            to_tsvector('english'::regconfig, search_unaccent(w.word)))) AS lexeme
    ) AS share
    FROM unnest(:words) AS w(word) LEFT JOIN stats ON true
    """
).bindparams(bindparam("words", type_=ARRAY(String)))


class WordShares:
    """The share of items holding each word, as PostgreSQL's statistics estimate it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._shares: dict[str, float | None] = {}
        self._read_at = clock()

    async def of(self, session: AsyncSession, words: Iterable[str]) -> dict[str, float | None]:
        """Each word's share; one round trip for the words not read in the last minutes."""
        if self._clock() - self._read_at > KEEP_SECONDS or len(self._shares) > KEPT_WORDS:
            self._shares.clear()
            self._read_at = self._clock()
        wanted = set(words)
        missing = sorted(wanted - self._shares.keys())
        if missing:
            rows = await session.execute(_SHARES, {"words": missing})
            for word, share in rows:
                self._shares[word] = None if share is None else float(share)
        return {word: self._shares.get(word) for word in wanted}


def words_of(query: Query) -> set[str]:
    return {word for group in query.groups for term in group for word in term.words}


def driving_groups(query: Query, shares: dict[str, float | None]) -> tuple[int, ...] | None:
    """The groups (AND-ed parts) that alone should go to the index: the rare ones, when
    another part is common. None: every group goes to the index, as without statistics."""

    def term_share(term: Term) -> float | None:
        known = [shares.get(word) for word in term.words]
        found = [share for share in known if share is not None]
        return min(found) if found else None  # a phrase: in no more items than its rarest word

    rare: list[int] = []
    common = False
    for number, group in enumerate(query.groups):
        each = [term_share(term) for term in group]
        if any(share is None for share in each):
            continue  # stop words: PostgreSQL drops them; they lead nothing
        share = min(1.0, sum(share for share in each if share is not None))  # any of them
        if share < RARE:
            rare.append(number)
        elif share >= COMMON:
            common = True
    if rare and common:
        return tuple(rare)
    return None
