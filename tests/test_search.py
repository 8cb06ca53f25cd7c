"""/search end to end: the syntax, accents and word forms, paging, the chat's "News in"
languages, an item edited or deleted while searched, and input that must never break it."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command

from bot.db.engine import create_engine, create_session_factory
from bot.db.migrate import _alembic_config
from bot.lifecycle import prepare_database
from bot.services.search import SearchCursor, SearchService, parse
from bot.services.stories import Reader
from bot.services.validation import ItemDraft
from testbed.harness import Harness
from testbed.harness import test_settings as settings_for

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
    assert await _titles(search, "cooperative", reader=Reader(news=frozenset({"fr"}))) == [
        "La Coopérative agricole de Dijon"
    ]
    assert await _titles(search, "montevideo", reader=Reader(news=frozenset({"en", "fr"}))) == []
    assert await _titles(search, "montevideo", reader=Reader(news=frozenset({"es"}))) == [
        "Cooperativa de vivienda en Montevideo"
    ]


async def test_a_statement_kept_for_a_shape_takes_each_search_s_own_words(
    harness: Harness,
) -> None:
    """The service keeps one statement per query shape and reader: a search of the same shape
    with other words, readers or page sizes finds what a service that never searched finds."""
    await _publish(harness)
    search = _services(harness).search
    engine = harness.application.bot_data["services"].runtime.database
    french = Reader(news=frozenset({"fr"}))
    cases = [
        ("kenya", {}),
        ("leeds", {}),
        ("housing kenya", {}),
        ("workers factory", {}),
        ('"cooperative saves"', {}),
        ('"housing cooperative"', {}),
        ("housing -kenya", {}),
        ("cooperative -leeds", {"limit": 2}),
        ("cooperative", {"reader": french}),
        ("cooperative", {"limit": 1}),
    ]
    for text, kwargs in cases + cases:
        fresh = SearchService(search._sessions, engine.dialect.name)
        assert await _titles(search, text, **dict(kwargs)) == await _titles(
            fresh, text, **dict(kwargs)
        ), text
    first = await search.search("cooperative", limit=2)
    for after in (first.cursor, (await search.search("housing", limit=1)).cursor):
        fresh = SearchService(search._sessions, engine.dialect.name)
        kept = await search.search("cooperative", limit=2, after=after)
        assert kept == await fresh.search("cooperative", limit=2, after=after)


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


async def test_relevance_is_ranked_over_the_newest_matches(harness: Harness) -> None:
    """The window bounds a common word's cost: only the newest N matches are ranked."""
    items = [(f"Bakery bakery bakery {n}", "Bakery bakery.", "en") for n in range(3)]
    items += [(f"Bakery story {n}", "A co-op.", "en") for n in range(5)]
    await _publish(harness, items)
    services = _services(harness)
    engine = harness.application.bot_data["services"].runtime.database
    narrow = SearchService(services.search._sessions, engine.dialect.name, window=6)
    titles = await _titles(narrow, "bakery")
    # the six newest matches, best first: the oldest two rich ones fall outside
    assert titles == ["Bakery bakery bakery 2"] + [f"Bakery story {n}" for n in range(4, -1, -1)]
    page = await narrow.search("bakery", limit=4)
    rest = await narrow.search("bakery", limit=4, after=page.cursor)
    assert [i.title for i in page.items + rest.items] == titles and not rest.more


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
    "the -kenya",
    "and or -kenya",
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


# -- /search in a chat ----------------------------------------------------------------------------


def _result_titles(text: str) -> list[str]:
    lines = text.splitlines()
    return [line for line, below in itertools.pairwise(lines) if " · News" in below]


@pytest.mark.parametrize(
    ("language", "expected", "either"),
    [
        ("en", "Send /search and the words to look for", "/search myanmar or brazil"),
        ("fr", "Envoyez /search suivi des mots à chercher", "/search production or participation"),
        ("es", "Envíe /search y las palabras que busca", '/search Myanmar or "Kuala Lumpur"'),
    ],
)
async def test_search_alone_explains_the_syntax(
    harness: Harness, language: str, expected: str, either: str
) -> None:
    reply = await harness.private(language_code=language).reply("/search")
    assert expected in reply.text
    assert either in reply.text and not reply.buttons  # `or` is the same word in every language


async def test_search_shows_matches_like_latest_with_date_and_category(harness: Harness) -> None:
    await _publish(harness)
    reply = await harness.private().reply("/search housing cooperatives")
    assert reply.text.startswith("🔎 Results for “housing cooperatives”")
    assert set(_result_titles(reply.text)) == {
        "Housing cooperatives grow in Kenya",
        "A housing cooperative opens in Leeds",
    }
    assert "2 Jan 2024 · News" in reply.text and "Forty flats owned by their tenants." in reply.text
    links = {e["url"] for e in reply.entities if e["type"] == "text_link"}
    assert links == {"https://coop.example/0", "https://coop.example/1"}
    assert not reply.buttons  # nothing more to show


async def test_more_pages_through_every_match_once(harness: Harness) -> None:
    items = [(f"Bakery story {n}", "A bakery co-op.", "en") for n in range(13)]
    await _publish(harness, [*items, ("Dairy", "Milk.", "en")])
    chat = harness.private()
    first = await chat.reply("/search bakery")
    seen = _result_titles(first.text)
    assert seen == [f"Bakery story {n}" for n in (12, 11, 10, 9, 8)]
    message = first
    while message.buttons:
        assert len(message.buttons[0]["callback_data"].encode()) <= 64
        replies, answers = await chat.press(message, "More")
        assert len(replies) == 1 and answers[0].get("text") in (None, "")
        message = replies[0]
        assert message.text.startswith("🔎 More results for “bakery”")
        seen += _result_titles(message.text)
    assert seen == [f"Bakery story {n}" for n in range(12, -1, -1)]
    # the pages below continue the earlier ones, whose buttons are gone
    assert all(not m.buttons for m in harness.emu.messages(chat.chat_id))


async def test_an_item_edited_or_deleted_between_pages(harness: Harness) -> None:
    items = [(f"Bakery story {n}", "A bakery co-op.", "en") for n in range(8)]
    ids = await _publish(harness, items)
    services = _services(harness)
    chat = harness.private()
    first = await chat.reply("/search bakery")
    assert _result_titles(first.text) == [f"Bakery story {n}" for n in (7, 6, 5, 4, 3)]
    # before More: story 2 stops matching, story 1 is withdrawn, story 5 (already shown) too
    await services.corrections.edit(1001, ids[2], "title", "Bread story 2")
    await services.corrections.edit(1001, ids[2], "summary", "A bread co-op.")
    await services.corrections.delete(1001, ids[1])
    await services.corrections.edit(1001, ids[0], "title", "Bakery story zero")
    replies, _ = await chat.press(first, "More")
    assert _result_titles(replies[0].text) == ["Bakery story zero"]
    again = await chat.reply("/search bread")
    assert _result_titles(again.text) == ["Bread story 2"]


async def test_news_in_languages_apply_in_the_chat(harness: Harness) -> None:
    await _publish(harness)
    chat = harness.private()
    await _services(harness).chats.choose_news(chat.chat_id, frozenset({"fr", "es"}))
    reply = await chat.reply("/search cooperative")
    assert _result_titles(reply.text) == ["La Coopérative agricole de Dijon"]
    nothing = await chat.reply("/search kenya")
    assert "Nothing matches “kenya” in the languages this chat reads" in nothing.text


async def test_no_match_suggests_category_and_nothing_to_search_explains(
    harness: Harness,
) -> None:
    await _publish(harness)
    chat = harness.private()
    reply = await chat.reply("/search zebra <b>")
    assert reply.text.startswith("🔎 Nothing matches “zebra <b>”")
    assert "/category" in reply.text
    for text in ("-housing", '"" --', "🌾🤝"):
        reply = await chat.reply(f"/search {text}")
        assert "There is no word to look for" in reply.text, text
        assert "/search myanmar or brazil" in reply.text


async def test_nasty_searches_in_the_chat_get_a_reply_and_no_error(harness: Harness) -> None:
    await _publish(harness)
    chat = harness.private()
    for text in [*NASTY[::3], "housing " * 400]:
        reply = await chat.reply(f"/search {text}"[:4096])
        assert "something went wrong" not in reply.text.lower(), text
        assert reply.text.startswith("🔎") or "no word to look for" in reply.text, text


async def test_forged_or_foreign_more_buttons_have_expired(harness: Harness) -> None:
    items = [(f"Bakery story {n}", "A bakery co-op.", "en") for n in range(8)]
    await _publish(harness, items)
    chat = harness.private()
    first = await chat.reply("/search bakery")
    data = first.buttons[0]["callback_data"]
    prefix, search_id, cursor = data.rsplit(":", 2)
    forged = [
        f"{prefix}:{search_id}:{cursor[:-2]}",
        f"{prefix}:{search_id}:{'A' * len(cursor)}",
        f"{prefix}:{search_id}:{cursor}:1",
        f"{prefix}:0:{cursor}",
        f"{prefix}:99999:{cursor}",
        f"{prefix}:-1:{cursor}",
        f"{prefix}:x:{cursor}",
        "v1:srch:",
        f"v0:srch:{search_id}:{cursor}",
    ]
    for bad in forged:
        replies, answers = await chat.press(first, data=bad)
        assert replies == [], bad
        assert answers[0]["text"] == (
            "This button has expired. Send the command again for fresh results."
        )
    # another chat's search is not this chat's to page through
    other = harness.private()
    own = await other.reply("/search bakery")
    replies, answers = await other.press(own, data=data)
    assert replies == [] and answers[0]["text"].startswith("This button has expired")
    # and a search forgotten by the daily purge has expired too
    assert await _services(harness).search.purge(timedelta(0)) == 2
    replies, answers = await chat.press(first, data=data)
    assert replies == [] and answers[0]["text"].startswith("This button has expired")


async def test_the_migration_indexes_items_already_there(database_url: str) -> None:
    """Items stored before migration 0009 are found once it has run."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "0008"))
        async with engine.begin() as connection:
            await connection.exec_driver_sql(
                "INSERT INTO categories (id, name, name_key, item_count, created_at) "
                "VALUES (1, 'News', 'news', 1, CURRENT_TIMESTAMP)"
            )
            await connection.exec_driver_sql(
                "INSERT INTO items (id, title, summary, url, category_id, published_at, "
                "created_at, revision, language) VALUES (1, 'Coopérative d''habitation', "
                "'Older than search', 'https://e.org/1', 1, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP, 1, 'fr')"
            )
        await prepare_database(settings_for(database_url, "http://127.0.0.1:9/bot"))
        search = SearchService(create_session_factory(engine), engine.dialect.name)
        assert await _titles(search, "cooperative") == ["Coopérative d'habitation"]
        assert await _titles(search, "older search") == ["Coopérative d'habitation"]
    finally:
        await engine.dispose()
