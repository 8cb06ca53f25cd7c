"""Keyword filters' rule, with no service around it: shared by the fan-out
(`bot.delivery.store`, which may not import services), /filter's service and digests.

A chat's filters are include terms (an item must have at least one, when there are any) and
exclude terms (an item with one is never pushed). A term is a word or a phrase; matching
looks at an item's title and summary, ignores case and accents, and takes whole words only:
both sides are normalised to their words joined by single spaces, and " term " is looked for
in " the item's words " (" bank " is not in " embankment ").

The fan-out applies it in SQL with `rejecting_chats`, once per item; a digest builder uses
`passes` with the filters of many chats loaded at once (`FilterService.for_chats`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import Select, case, func, literal, select

from bot.db.models import ChatFilter

_WORD = re.compile(r"\w+")


def normalise(text: str) -> str:
    """Case-folded, accents stripped, the words joined by single spaces ("" if none)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_WORD.findall(stripped))


def item_words(title: str, summary: str | None) -> str:
    """An item's title and summary as " word word | word … ", ready for `" term " in` tests
    (the bar keeps a phrase from running from the title into the summary)."""
    return f" {normalise(title)} | {normalise(summary or '')} "


@dataclass(frozen=True, slots=True)
class FilterTerm:
    id: int
    term: str  # normalised
    label: str  # as the chat typed it
    exclude: bool


@dataclass(frozen=True, slots=True)
class ChatFilters:
    """One chat's terms (in the order they were added); empty: every item passes."""

    chat_id: int
    terms: tuple[FilterTerm, ...] = ()

    @property
    def include(self) -> tuple[FilterTerm, ...]:
        return tuple(t for t in self.terms if not t.exclude)

    @property
    def exclude(self) -> tuple[FilterTerm, ...]:
        return tuple(t for t in self.terms if t.exclude)

    def passes_words(self, words: str) -> bool:
        """`words` from `item_words`: cheaper when one item is tested against many chats."""
        if any(f" {t.term} " in words for t in self.terms if t.exclude):
            return False
        include = [t for t in self.terms if not t.exclude]
        return not include or any(f" {t.term} " in words for t in include)


def passes(filters: ChatFilters | None, title: str, summary: str | None) -> bool:
    """Whether an item with this title and summary may be pushed to (or listed in a digest
    of) the chat with these filters."""
    return filters is None or filters.passes_words(item_words(title, summary))


def rejecting_chats(words: str, dialect: str) -> Select:
    """The ids of chats whose filters hold back an item with these `item_words`: an exclude
    term matches, or there are include terms and none matches. One pass over chat_filters,
    grouped by chat, for the fan-out's INSERT ... SELECT to leave out."""
    find = func.strpos if dialect == "postgresql" else func.instr
    hit = find(literal(words), literal(" ") + ChatFilter.term + literal(" ")) > 0
    excluded = func.max(case((ChatFilter.exclude & hit, 1), else_=0))
    includes = func.max(case((~ChatFilter.exclude, 1), else_=0))
    included = func.max(case((~ChatFilter.exclude & hit, 1), else_=0))
    return (
        select(ChatFilter.chat_id)
        .group_by(ChatFilter.chat_id)
        .having((excluded == 1) | ((includes == 1) & (included == 0)))
    )
