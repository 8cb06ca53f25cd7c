"""PostgreSQL: a search with a rare part and a common part gives only the rare part to the
GIN index and checks the whole query on what it finds (`bot.services.search_shares`), and
finds exactly what the whole query through the index finds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.news import NewsService
from bot.services.search import SearchService, parse
from bot.services.search_shares import RARE, WordShares, driving_groups
from bot.services.validation import ItemDraft

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_the_rare_parts_lead_only_beside_a_common_one() -> None:
    shares = {"ilo": 0.95, "youth": 0.02, "kumefi": 0.0, "rozedi": 0.0, "the": None}
    assert driving_groups(parse("kumefi ilo"), shares) == (0,)
    assert driving_groups(parse("ilo kumefi rozedi"), shares) == (1, 2)
    assert driving_groups(parse('ilo "kumefi rozedi"'), shares) == (1,)  # a phrase: its rarest
    assert driving_groups(parse("kumefi ilo -rozedi"), shares) == (0,)
    # nothing to gain: all common, all rare, one part, or a middling part beside a common one
    assert driving_groups(parse("ilo"), shares) is None
    assert driving_groups(parse("kumefi rozedi"), shares) is None
    assert driving_groups(parse("youth ilo"), shares) is None
    # an `or` is as common as its parts together; stop words lead nothing
    assert driving_groups(parse("kumefi or youth ilo"), shares) is None
    assert driving_groups(parse("the kumefi ilo"), shares) == (1,)
    # no statistics yet (a new database): every word counts as rare, nothing changes
    assert driving_groups(parse("kumefi ilo"), {}) is None


@pytest.fixture
async def archive(
    database_url: str, sessions: async_sessionmaker[AsyncSession], news: NewsService
) -> async_sessionmaker[AsyncSession]:
    if not database_url.startswith("postgresql"):
        pytest.skip("the GIN index and its statistics are PostgreSQL's")
    for n in range(400):
        title = f"Cooperative story {n}"
        if n % 200 == 7:  # 2 of 400: under RARE
            title += " with zebra crossing"
        summary = "Kenya" if n % 3 == 0 else "Peru"
        await news.publish(
            ItemDraft("News", title, f"https://coop.example/{n}", summary),
            source="test",
            published_at=T0 + timedelta(hours=n),
            broadcast=False,
        )
    async with sessions() as session:
        await session.execute(text("ANALYZE items"))
        await session.commit()
    return sessions


async def test_a_rare_word_leads_and_the_same_items_are_found(
    archive: async_sessionmaker[AsyncSession],
) -> None:
    async with archive() as session:
        shares = await WordShares().of(session, ["cooperative", "zebra", "the", "kenya"])
    assert shares["cooperative"] is not None and shares["cooperative"] > 0.9
    assert shares["zebra"] is not None and shares["zebra"] < RARE and shares["the"] is None
    assert shares["kenya"] is not None and 0.2 < shares["kenya"] < 0.5

    search = SearchService(archive, "postgresql")
    expected = {
        "zebra cooperative": [207, 7],
        "cooperative zebra -kenya": [7],  # 207 is about Kenya (n % 3 == 0)
        '"zebra crossing" story': [207, 7],
        "zebra kenya": [207],
    }
    for words, numbers in expected.items():
        page = await search.search(words, limit=10)
        assert [item.url for item in page.items] == [
            f"https://coop.example/{n}" for n in numbers
        ], words
    # each of them went through the index by its rare part alone (the statements are kept
    # by shape, reader, paging and that part)
    assert driving_groups(parse("zebra cooperative"), shares) == (0,)
    assert search._statements
    assert [key for key in search._statements if key[-1] is None] == []
