"""NewsService against a real database: paging, category matching, publishing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.db.models import BroadcastQueue, Category
from bot.services.categories import CategoryService
from bot.services.news import Match, NewsService
from bot.services.seed import seed
from bot.services.validation import ItemDraft, Problem, ValidationFailed

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)


async def _publish_many(news: NewsService, count: int, *, same_time: bool = False) -> None:
    for n in range(count):
        await news.publish(
            ItemDraft(f"Cat {n % 3}", f"Item {n}", f"https://example.org/{n}", None),
            source="test",
            published_at=T0 if same_time else T0 + timedelta(hours=n),
            broadcast=False,
        )


async def test_pages_walk_every_item_once_newest_first(news: NewsService) -> None:
    await _publish_many(news, 23)
    seen, cursor = [], None
    while True:
        page = await news.page(5, after=cursor)
        seen.extend(item.title for item in page.items)
        if not page.more:
            break
        cursor = page.items[-1].cursor
    assert seen == [f"Item {n}" for n in range(22, -1, -1)]


async def test_equal_dates_are_ordered_by_id_and_never_skipped(news: NewsService) -> None:
    await _publish_many(news, 7, same_time=True)
    first = await news.page(3)
    second = await news.page(3, after=first.items[-1].cursor)
    third = await news.page(3, after=second.items[-1].cursor)
    ids = [i.id for p in (first, second, third) for i in p.items]
    assert len(ids) == len(set(ids)) == 7
    assert ids == sorted(ids, reverse=True)
    assert third.more is False


async def test_category_pages_hold_only_that_category(news: NewsService) -> None:
    await _publish_many(news, 9)
    match = await news.find_category("cat 1")
    assert match.outcome is Match.FOUND
    page = await news.page(10, category_id=match.category.id)
    assert [i.title for i in page.items] == ["Item 7", "Item 4", "Item 1"]
    assert match.category.item_count == 3


async def test_find_category_by_case_and_unique_prefix(news: NewsService, sessions) -> None:
    await seed(news, CategoryService(sessions, news))
    found = await news.find_category("decent")
    assert found.outcome is Match.FOUND and found.category.name == "Decent work"
    assert (await news.find_category("NEWS")).category.name == "News"
    prefix = await news.find_category("co")  # "Cooperatives" only; "Our impact" no
    assert prefix.outcome is Match.FOUND and prefix.category.name == "Cooperatives"
    unknown = await news.find_category("Housing")
    assert unknown.outcome is Match.UNKNOWN and len(unknown.candidates) == 5
    assert (await news.find_category("   ")).outcome is Match.UNKNOWN


async def test_ambiguous_prefix_lists_the_candidates(news: NewsService) -> None:
    for name in ("Decent work", "Decent housing"):
        await news.publish(ItemDraft(name, "t", None, None), source="test", broadcast=False)
    match = await news.find_category("decent")
    assert match.outcome is Match.AMBIGUOUS
    assert sorted(c.name for c in match.candidates) == ["Decent housing", "Decent work"]


async def test_publish_queues_the_broadcast_in_the_same_transaction(news, sessions) -> None:
    published = await news.publish(
        ItemDraft("News", "ICA congress", "https://ica.coop/x", "Delegates met."),
        source="admin:1",
    )
    async with sessions() as session:
        queued = await session.scalar(select(func.count()).select_from(BroadcastQueue))
        count = await session.scalar(select(Category.item_count).where(Category.name == "News"))
    assert queued == 1 and count == 1
    assert published.category_created is True
    assert published.item.published_at.tzinfo is not None


async def test_duplicate_link_is_refused_with_the_existing_item(news: NewsService) -> None:
    first = await news.publish(ItemDraft("News", "One", "https://ica.coop/a", None), source="test")
    with pytest.raises(ValidationFailed) as failure:
        await news.publish(ItemDraft("Other", "Two", "https://ica.coop/a", None), source="test")
    assert failure.value.problem is Problem.DUPLICATE_URL
    assert failure.value.details["existing"].id == first.item.id
    assert await news.count_items() == 1
    assert [c.name for c in await news.categories()] == ["News"]


async def test_category_names_are_one_regardless_of_case(news: NewsService) -> None:
    await news.publish(ItemDraft("Decent Work", "a", None, None), source="t")
    second = await news.publish(ItemDraft("decent  work", "b", None, None), source="t")
    assert second.category_created is False
    assert [(c.name, c.item_count) for c in await news.categories()] == [("Decent Work", 2)]


async def test_seed_loads_the_ilo_page_once(news: NewsService, sessions) -> None:
    first = await seed(news, CategoryService(sessions, news))
    again = await seed(news, CategoryService(sessions, news))
    assert (first.added, again.added, again.skipped) == (10, 0, 10)
    newest = (await news.page(1)).items[0]
    assert newest.title.startswith("Japan Workers’ Co-operative Union")
    assert newest.published_at == datetime(2017, 11, 28, tzinfo=UTC)
    assert newest.category == "Spotlight Interviews with Cooperators"
    counts = {c.name: c.item_count for c in await news.categories()}
    assert counts == {
        "Cooperatives": 1,
        "Decent work": 1,
        "News": 6,
        "Our impact, Their voices": 1,
        "Spotlight Interviews with Cooperators": 1,
    }


async def test_listing_cache_is_cleared_by_this_process_and_expires_for_others(
    sessions,
) -> None:
    cached = NewsService(sessions, cache_seconds=60)
    other_process = NewsService(sessions)
    await cached.publish(ItemDraft("News", "One", None, None), source="t", published_at=T0)
    assert [i.title for i in (await cached.page(5)).items] == ["One"]
    assert [c.item_count for c in await cached.categories()] == [1]

    # a write by another process is not seen until the cache is cleared or expires...
    await other_process.publish(
        ItemDraft("News", "Two", None, None), source="t", published_at=T0 + timedelta(hours=1)
    )
    assert [i.title for i in (await cached.page(5)).items] == ["One"]
    cached.invalidate()  # ...which the delivery engine does when it fans out a new item
    assert [i.title for i in (await cached.page(5)).items] == ["Two", "One"]

    # a write through the cached service itself is seen at once
    await cached.publish(
        ItemDraft("News", "Three", None, None), source="t", published_at=T0 + timedelta(hours=2)
    )
    assert [i.title for i in (await cached.page(5)).items] == ["Three", "Two", "One"]
    assert [c.item_count for c in await cached.categories()] == [3]
    category, page = await cached.category_page((await cached.categories())[0].id, 2)
    assert category.item_count == 3 and [i.title for i in page.items] == ["Three", "Two"]


async def test_no_listing_cache_when_turned_off(sessions) -> None:
    uncached = NewsService(sessions, cache_seconds=0)
    writer = NewsService(sessions)
    assert (await uncached.page(5)).items == ()
    await writer.publish(ItemDraft("News", "One", None, None), source="t")
    assert [i.title for i in (await uncached.page(5)).items] == ["One"]


async def test_the_same_link_published_twice_at_once_is_stored_once(sessions) -> None:
    # two processes, each past its own "is this link known?" check before either inserts:
    # the unique key decides, and the loser hears which item holds the link
    first, second = NewsService(sessions), NewsService(sessions)
    await first.publish(ItemDraft("News", "Earlier", None, None), source="t")  # race on the link
    results = await asyncio.gather(
        first.publish(ItemDraft("News", "One", "https://ica.coop/same", None), source="a"),
        second.publish(ItemDraft("News", "Two", "https://ica.coop/same", None), source="b"),
        return_exceptions=True,
    )
    [stored] = [r for r in results if not isinstance(r, BaseException)]
    [refused] = [r for r in results if isinstance(r, BaseException)]
    assert isinstance(refused, ValidationFailed), refused
    assert refused.problem is Problem.DUPLICATE_URL
    assert refused.details["existing"].id == stored.item.id
    assert await first.count_items() == 2


async def test_two_items_in_a_new_category_at_once_are_both_stored(sessions) -> None:
    first, second = NewsService(sessions), NewsService(sessions)
    await asyncio.gather(
        first.publish(ItemDraft("Fresh", "One", "https://ica.coop/1", None), source="a"),
        second.publish(ItemDraft("Fresh", "Two", "https://ica.coop/2", None), source="b"),
    )
    assert [(c.name, c.item_count) for c in await first.categories()] == [("Fresh", 2)]
