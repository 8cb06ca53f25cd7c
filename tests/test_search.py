"""/search end to end: the syntax, accents and word forms, paging, the chat's "News in"
languages, an item edited or deleted while searched, and input that must never break it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.services.search import SearchCursor, SearchService, parse
from bot.services.validation import ItemDraft
from tests.harness import Harness

T0 = datetime(2024, 1, 1, tzinfo=UTC)

ITEMS = [
    # (title, summary, language)
    ("Housing cooperatives grow in Kenya", "Members build homes together.", "en"),
    ("A housing cooperative opens in Leeds", "Forty flats owned by their tenants.", "en"),
    ("Workers buy out their factory", "A worker cooperative saves 80 jobs.", "en"),
    ("La Coopérative agricole de Dijon", "Une coopérative de producteurs de lait.", "fr"),
    ("Cooperativa de vivienda en Montevideo", "Las cooperativas uruguayas crecen.", "es"),
    ("Fair trade coffee", "Smallholders sell through their union.", "en"),
]


def _services(harness: Harness):
    return harness.application.bot_data["services"]


async def _publish(harness: Harness, items=ITEMS) -> list[int]:
    news = _services(harness).news
    ids = []
    for n, (title, summary, language) in enumerate(items):
        published = await news.publish(
            ItemDraft("News", title, f"https://coop.example/{n}", summary, language=language),
            source="test",
            published_at=T0 + timedelta(days=n),
            broadcast=False,
        )
        ids.append(published.item.id)
    return ids


async def _titles(search: SearchService, text: str, **kwargs) -> list[str]:
    page = await search.search(text, limit=kwargs.pop("limit", 20), **kwargs)
    return [item.title for item in page.items]


# -- the service ----------------------------------------------------------------------------------


async def test_words_phrases_exclusions_and_or(harness: Harness) -> None:
    await _publish(harness)
    search = _services(harness).search
    # every word must match; stemming makes "cooperatives" find "cooperative" and back
    assert set(await _titles(search, "housing cooperatives")) == {
        "Housing cooperatives grow in Kenya",
        "A housing cooperative opens in Leeds",
    }
    assert await _titles(search, "housing kenya") == ["Housing cooperatives grow in Kenya"]
    assert await _titles(search, '"cooperative saves"') == ["Workers buy out their factory"]
    assert await _titles(search, '"saves cooperative"') == []
    assert await _titles(search, "housing -leeds") == ["Housing cooperatives grow in Kenya"]
    assert await _titles(search, 'housing -"forty flats"') == ["Housing cooperatives grow in Kenya"]
    assert set(await _titles(search, "kenya OR leeds")) == {
        "Housing cooperatives grow in Kenya",
        "A housing cooperative opens in Leeds",
    }
    # `or` binds the two words beside it: housing AND (kenya OR factory)
    assert await _titles(search, "housing kenya or factory") == [
        "Housing cooperatives grow in Kenya"
    ]


async def test_case_and_accents_are_ignored_in_three_languages(harness: Harness) -> None:
    await _publish(harness)
    search = _services(harness).search
    for text in ("coopérative", "Coopérative", "COOPERATIVE", "cooperative"):
        titles = await _titles(search, text)
        assert "La Coopérative agricole de Dijon" in titles, text
        assert "A housing cooperative opens in Leeds" in titles, text
    assert await _titles(search, "DIJON") == ["La Coopérative agricole de Dijon"]
    assert await _titles(search, "montevideo") == ["Cooperativa de vivienda en Montevideo"]
    assert await _titles(search, "Montevidéo") == ["Cooperativa de vivienda en Montevideo"]
    assert await _titles(search, "uruguayas") == ["Cooperativa de vivienda en Montevideo"]


async def test_english_plural_and_singular(harness: Harness) -> None:
    await _publish(harness)
    search = _services(harness).search
    assert await _titles(search, "home") == ["Housing cooperatives grow in Kenya"]
    assert await _titles(search, "factories") == ["Workers buy out their factory"]
    assert await _titles(search, "flat") == ["A housing cooperative opens in Leeds"]


async def test_news_in_languages_filter_the_matches(harness: Harness) -> None:
    await _publish(harness)
    search = _services(harness).search
    assert await _titles(search, "cooperative", news=frozenset({"fr"})) == [
        "La Coopérative agricole de Dijon"
    ]
    assert await _titles(search, "montevideo", news=frozenset({"en", "fr"})) == []
    assert await _titles(search, "montevideo", news=frozenset({"es"})) == [
        "Cooperativa de vivienda en Montevideo"
    ]


async def test_paging_by_rank_then_date_has_no_duplicates_or_gaps(harness: Harness) -> None:
    items = [(f"Bakery story {n}", "A bakery co-op.", "en") for n in range(13)]
    items += [(f"Bakery bakery news {n}", "Bakery bakery bakery.", "en") for n in range(4)]
    await _publish(harness, items)
    search = _services(harness).search
    everything = await _titles(search, "bakery", limit=50)
    assert len(everything) == 17
    # the richer matches rank first; ties go newest first
    assert everything[:4] == [f"Bakery bakery news {n}" for n in (3, 2, 1, 0)]
    assert everything[4:] == [f"Bakery story {n}" for n in range(12, -1, -1)]
    seen: list[str] = []
    after = None
    while True:
        page = await search.search("bakery", limit=5, after=after)
        seen += [item.title for item in page.items]
        if not page.more:
            break
        after = SearchCursor.decode(page.cursor.encode())
    assert seen == everything


async def test_an_item_edited_or_deleted_is_found_corrected_or_gone_at_once(
    harness: Harness,
) -> None:
    ids = await _publish(harness)
    services = _services(harness)
    search = services.search
    assert await _titles(search, "kenya") == ["Housing cooperatives grow in Kenya"]
    await services.corrections.edit(1001, ids[0], "title", "Housing cooperatives grow in Ghana")
    assert await _titles(search, "kenya") == []
    assert await _titles(search, "ghana") == ["Housing cooperatives grow in Ghana"]
    await services.corrections.edit(1001, ids[0], "summary", "Members build a school.")
    assert await _titles(search, "homes") == []
    assert await _titles(search, "school") == ["Housing cooperatives grow in Ghana"]
    await services.corrections.delete(1001, ids[0])
    assert await _titles(search, "ghana") == []
    assert await _titles(search, "housing") == ["A housing cooperative opens in Leeds"]


NASTY = [
    '"',
    '""',
    '"unclosed phrase',
    "-",
    "--housing",
    "- housing",
    "or",
    "housing or",
    "or or or",
    "housing -",
    "*",
    "housing*",
    "NEAR(housing kenya)",
    "title:housing",
    "housing AND NOT kenya",
    "^housing",
    "housing:*",
    "housing & !kenya | (leeds",
    "'); DROP TABLE items; --",
    "1' OR '1'='1",
    "\\x00 \\ \\\\",
    "🌾🤝 🏠",
    "Жилищный кооператив",
    "住宅合作社",
    "تعاونية سكنية",
    "a" * 4000,
    "housing " * 500,
    "-x " * 1000,
    '"' * 4000,
    "<b>housing</b> &amp;",
]


@pytest.mark.parametrize("text", NASTY, ids=range(len(NASTY)))
async def test_nasty_input_is_safe(harness: Harness, text: str) -> None:
    await _publish(harness)
    page = await _services(harness).search.search(text, limit=5)
    assert page.nothing_to_search == parse(text).empty
    for item in page.items:
        assert "ous" in item.title  # matches are real ones (housing), never everything


@pytest.mark.parametrize(
    "text", ["", "   ", "-housing", '-"housing cooperative"', "🌾", "or", '"" - --', "!!!"]
)
def test_nothing_to_search(text: str) -> None:
    assert parse(text).empty


def test_cursor_round_trip_and_forgeries() -> None:
    cursor = SearchCursor(3.25, 1_700_000_000_123_456, 987_654_321)
    data = cursor.encode()
    assert data.isascii() and len(data.encode()) <= 40
    assert SearchCursor.decode(data) == cursor
    for forged in (
        "",
        "x",
        data[:-1],
        data + "A",
        data[:-1] + ("B" if data[-1] != "B" else "C"),  # other padding bits
        "!" * len(data),
        SearchCursor(float("nan"), 1, 1).encode(),
        SearchCursor(1.0, 1, 0).encode(),
        "A" * len(data),  # version 0
    ):
        with pytest.raises(ValueError):
            SearchCursor.decode(forged)
