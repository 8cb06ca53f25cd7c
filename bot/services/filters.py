"""/filter's service: a chat's keyword filters, read, added, removed; and for digests, the
filters of many chats at once (`for_chats`) with the rule `passes` (from `bot.filtering`,
which the fan-out shares).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Chat, ChatFilter
from bot.db.models.filters import TERM_MAX
from bot.db.results import rowcount
from bot.filtering import ChatFilters, FilterTerm, item_words, normalise, passes, rejecting_chats

MAX_TERMS = 20
# a term as typed: an optional minus, then a quoted phrase ("…", “…”, «…») or one word
_TERM = re.compile(r'(-?)(?:["“”«»]([^"“”«»]*)["“”«»]?|(\S+))')


# -- what a chat types ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TermInput:
    label: str
    term: str
    exclude: bool


class BadTerm(ValueError):
    """A term that cannot be a filter: `reason` is "empty" (only punctuation) or "long"."""

    def __init__(self, label: str, reason: str) -> None:
        super().__init__(label)
        self.label = label
        self.reason = reason


def parse_terms(text: str) -> list[TermInput]:
    """`housing "worker co-op" -bank` → three terms; BadTerm for the first bad one."""
    terms: list[TermInput] = []
    for match in _TERM.finditer(text):
        minus, quoted, word = match.groups()
        label = (quoted if quoted is not None else word).strip()
        if len(label) > TERM_MAX:
            raise BadTerm(label, "long")
        term = normalise(label)
        if not term:
            raise BadTerm(minus + label, "empty")
        if len(term) > TERM_MAX:  # ligatures may grow when folded ("ﬀ" → "ff")
            raise BadTerm(label, "long")
        terms.append(TermInput(label, term, bool(minus)))
    return terms


# -- the service ------------------------------------------------------------------------------


class TooManyTerms(ValueError):
    def __init__(self, count: int, adding: int) -> None:
        super().__init__(f"{count} + {adding} > {MAX_TERMS}")
        self.count = count
        self.adding = adding


class UnknownTerm(LookupError):
    """No such term in this chat (a stale or forged button, or a typo)."""


@dataclass(frozen=True, slots=True)
class Removed:
    labels: tuple[str, ...]
    filters: ChatFilters


class FilterService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def of_chat(self, chat_id: int) -> ChatFilters:
        return (await self.for_chats([chat_id]))[chat_id]

    async def for_chats(self, chat_ids: Iterable[int]) -> dict[int, ChatFilters]:
        """The filters of many chats in one query (chunked); every asked id is in the result,
        with no terms when it has none."""
        ids = list(dict.fromkeys(chat_ids))
        found: dict[int, list[FilterTerm]] = {chat_id: [] for chat_id in ids}
        async with self._sessions() as session:
            for start in range(0, len(ids), 10_000):
                rows = await session.execute(
                    select(ChatFilter)
                    .where(ChatFilter.chat_id.in_(ids[start : start + 10_000]))
                    .order_by(ChatFilter.chat_id, ChatFilter.id)
                )
                for (row,) in rows:
                    found[row.chat_id].append(FilterTerm(row.id, row.term, row.label, row.exclude))
        return {chat_id: ChatFilters(chat_id, tuple(terms)) for chat_id, terms in found.items()}

    async def add(self, chat_id: int, terms: Sequence[TermInput]) -> ChatFilters:
        """Add terms (a term already there takes the new sign). TooManyTerms, with nothing
        changed, when the chat would pass MAX_TERMS."""
        async with self._sessions.begin() as session:
            await self._lock(session, chat_id)
            rows = {
                row.term: row
                for row in await session.scalars(
                    select(ChatFilter).where(ChatFilter.chat_id == chat_id)
                )
            }
            wanted = {t.term: t for t in terms}  # the last of twins wins
            new = [t for key, t in wanted.items() if key not in rows]
            if len(rows) + len(new) > MAX_TERMS:
                raise TooManyTerms(len(rows), len(new))
            for key, t in wanted.items():
                if key in rows:
                    rows[key].exclude = t.exclude
                    rows[key].label = t.label
            session.add_all(
                ChatFilter(chat_id=chat_id, term=t.term, label=t.label, exclude=t.exclude)
                for t in new
            )
        return await self.of_chat(chat_id)

    async def remove(self, chat_id: int, terms: Sequence[TermInput]) -> Removed:
        """Remove these terms (whatever their sign); UnknownTerm, nothing changed, if one of
        them is not a filter of this chat."""
        keys = {t.term for t in terms}
        async with self._sessions.begin() as session:
            rows = list(
                await session.scalars(
                    select(ChatFilter)
                    .where(ChatFilter.chat_id == chat_id, ChatFilter.term.in_(keys))
                    .order_by(ChatFilter.id)
                )
            )
            missing = keys - {row.term for row in rows}
            if missing:
                raise UnknownTerm(next(t.label for t in terms if t.term in missing))
            await session.execute(delete(ChatFilter).where(ChatFilter.id.in_([r.id for r in rows])))
            labels = tuple(r.label for r in rows)
        return Removed(labels, await self.of_chat(chat_id))

    async def remove_id(self, chat_id: int, term_id: int) -> Removed:
        """A remove button: the term must belong to this chat, else UnknownTerm."""
        async with self._sessions.begin() as session:
            row = await session.get(ChatFilter, term_id)
            if row is None or row.chat_id != chat_id:
                raise UnknownTerm(str(term_id))
            label = row.label
            await session.delete(row)
        return Removed((label,), await self.of_chat(chat_id))

    async def clear(self, chat_id: int) -> int:
        """Remove every term; how many there were."""
        async with self._sessions.begin() as session:
            result = await session.execute(delete(ChatFilter).where(ChatFilter.chat_id == chat_id))
            return rowcount(result)

    @staticmethod
    async def _lock(session: AsyncSession, chat_id: int) -> None:
        # two /filter add at once in one chat must not pass the limit together (PostgreSQL
        # locks the chat's row; SQLite has one writer anyway)
        await session.execute(select(Chat.id).where(Chat.id == chat_id).with_for_update())


__all__ = [
    "MAX_TERMS",
    "TERM_MAX",
    "BadTerm",
    "ChatFilters",
    "FilterService",
    "FilterTerm",
    "Removed",
    "TermInput",
    "TooManyTerms",
    "UnknownTerm",
    "item_words",
    "normalise",
    "parse_terms",
    "passes",
    "rejecting_chats",
]
