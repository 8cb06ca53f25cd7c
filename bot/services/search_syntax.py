"""The search language: the user's text parsed into a Query (AST), and the Query compiled
to an FTS5 MATCH string (SQLite) or a tsquery of bound parameters (PostgreSQL). See
`bot.services.search` for the whole path."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, String, bindparam, func, literal_column

from bot.db.models.search import SEARCH_TEXT_MAX

MAX_TERMS = 16  # words or phrases a query may hold; the rest is ignored
MAX_PHRASE_WORDS = 8
MAX_WORD = 64  # characters; longer words are cut (and will hardly match)

# -- the query language -------------------------------------------------------------------------

_CHUNK = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Term:
    """One word, or a phrase: words that must follow each other."""

    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Query:
    """Every group must match (a group: any one of its terms), and no excluded term."""

    groups: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.groups


def _words(chunk: str) -> tuple[str, ...]:
    found = (w[:MAX_WORD] for w in _WORD.findall(chunk.casefold()))
    return tuple(w for w in found if any(ch.isalnum() for ch in w))[:MAX_PHRASE_WORDS]


def parse(text: str) -> Query:
    """The user's text as a Query; anything that is not a word, phrase, -exclusion or `or`
    between two terms is dropped (a query of nothing but that is empty)."""
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    joining = False  # an `or` came after the last positive term
    terms = 0
    for match in _CHUNK.finditer(text[:SEARCH_TEXT_MAX]):
        if terms >= MAX_TERMS:
            break
        negated_phrase, phrase, bare = match.groups()
        if phrase is not None:
            negated, words = bool(negated_phrase), _words(phrase)
        else:
            if bare.casefold() == "or":
                joining = bool(groups)
                continue
            negated = bare.startswith("-")
            words = _words(bare)
        if not words:
            continue
        terms += 1
        term = Term(words)
        if negated:
            excluded.append(term)
            joining = False
        elif joining:
            groups[-1].append(term)
            joining = False
        else:
            groups.append([term])
    return Query(tuple(tuple(g) for g in groups), tuple(excluded))


def fts5_match(query: Query) -> str:
    """An FTS5 MATCH string: every word or phrase double-quoted, so none of it is syntax."""

    def quoted(term: Term) -> str:
        return '"' + " ".join(term.words).replace('"', '""') + '"'

    def group(terms: tuple[Term, ...]) -> str:
        inner = " OR ".join(quoted(t) for t in terms)
        return f"({inner})" if len(terms) > 1 else inner

    match = " AND ".join(group(g) for g in query.groups)
    for term in query.excluded:
        match += " NOT " + quoted(term)
    return match


def pg_terms(query: Query) -> dict[str, str]:
    """The values of `pg_tsquery`'s parameters for this query: each term's words (a phrase
    as "w1 w2"), in the order the tsquery takes them."""
    terms = [t for g in query.groups for t in g] + list(query.excluded)
    return {f"term_{n}": _term_text(t) for n, t in enumerate(terms)}


def _term_text(term: Term) -> str:
    words = " ".join(term.words)
    return f'"{words}"' if len(term.words) > 1 else words


def pg_tsquery(
    query: Query, driving: tuple[int, ...] | None = None
) -> tuple[ColumnElement, ColumnElement, ColumnElement]:
    """A tsquery built from the AST: each term a bound websearch_to_tsquery (a phrase as
    "w1 w2"), joined with tsquery_and / tsquery_or / tsquery_not, so the precedence is ours
    (`a b or c` is a AND (b OR c)) rather than websearch's. Returns the whole tsquery, its
    wanted part (without the exclusions), and the part of the wanted groups numbered in
    `driving` (None: all of them), which the search gives the index. The parameters
    (`term_0`…, numbered as `pg_terms` numbers them) carry no values: `pg_terms` gives them,
    so one statement serves every query of the same shape."""
    numbers = iter(range(10_000))
    names = [[f"term_{next(numbers)}" for _term in group] for group in query.groups]
    excluded = [f"term_{next(numbers)}" for _term in query.excluded]

    def one(name: str) -> ColumnElement:
        return func.websearch_to_tsquery(
            literal_column("'english'::regconfig"),
            func.search_unaccent(bindparam(name, type_=String)),
        )

    def either(group: list[str]) -> ColumnElement:
        expression = one(group[0])
        for name in group[1:]:
            expression = func.tsquery_or(expression, one(name))
        return expression

    def every(groups: list[list[str]]) -> ColumnElement:
        expression = either(groups[0])
        for group in groups[1:]:
            expression = func.tsquery_and(expression, either(group))
        return expression

    wanted = every(names)
    expression = wanted
    for name in excluded:
        expression = func.tsquery_and(expression, func.tsquery_not(one(name)))
    if driving is None:
        return expression, wanted, wanted
    return expression, wanted, every([names[n] for n in driving])
