"""Feeds: fetched from a local HTTP server (fixture files), polled directly, and managed
with /feeds through the Bot API emulator. No mocks: real aiohttp, feedparser, PTB and DB."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot import jobs
from bot.db.base import utcnow
from bot.db.models import BroadcastQueue, Feed, FeedEntrySeen, Item
from bot.feeds.fetcher import FeedErrorCode, FetchLimits
from bot.feeds.parser import html_to_text, language_code, parse_feed
from bot.services.feeds import (
    FeedEventKind,
    FeedNotAdded,
    FeedService,
    split_category_language,
)
from bot.services.validation import ItemDraft
from testbed.feed_server import BIG, FIXTURES, FeedServer, serving_feeds
from testbed.harness import ADMIN_ID

TEST_LIMITS = FetchLimits(timeout_seconds=1.0, max_bytes=5 * 1024 * 1024)


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    async with serving_feeds() as server:
        yield server


@pytest.fixture
def feeds(sessions, news) -> FeedService:
    return FeedService(sessions, news, interval_seconds=900, limits=TEST_LIMITS)


async def _count(sessions, model) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)))


async def _items(sessions) -> list[Item]:
    async with sessions() as session:
        return list(await session.scalars(select(Item).order_by(Item.id)))


# -- parsing -----------------------------------------------------------------------------


def test_html_to_text_strips_markup_scripts_and_double_escaping():
    assert html_to_text("<p>Caf&eacute; &amp;amp; <b>bread</b><script>x()</script></p>") == (
        "Café & bread"
    )
    assert html_to_text("one<br/>two<p>three&nbsp;four</p>") == "one\ntwo\nthree four"


def test_parses_rss2_rss1_and_atom():
    rss2 = parse_feed((FIXTURES / "rss2.xml").read_bytes(), "https://ica.coop/rss.xml")
    rss1 = parse_feed((FIXTURES / "rss1.xml").read_bytes(), "https://copac.coop/feed.rdf")
    atom = parse_feed((FIXTURES / "atom.xml").read_bytes(), "https://www.ilo.org/feed.atom")
    assert (rss2.version, rss1.version, atom.version) == ("rss20", "rss10", "atom10")
    assert rss2.title == "ICA News" and len(rss2.entries) == 4
    assert rss2.entries[0].summary == "Delegates met in Seville.\nVotes were counted overnight."
    assert rss2.entries[0].categories == ("Governance",)
    assert rss1.entries[0].link == "https://copac.coop/news/sdg-brief"
    assert rss1.entries[0].published.isoformat() == "2026-11-20T12:00:00+00:00"
    platform, statistics = atom.entries
    assert platform.title == "Decent work in platform co-ops"
    # a relative link resolves against the feed's address
    assert platform.link == "https://www.ilo.org/cooperatives/platform-coops"
    assert statistics.summary == "New guidelines on statistics."
    assert statistics.published.isoformat() == "2026-11-22T07:30:00+00:00"


def test_entities_and_html_in_titles_become_plain_text():
    parsed = parse_feed((FIXTURES / "entities.xml").read_bytes(), "https://coops.example.org/")
    assert parsed.title == "Co-ops & Communities <Weekly>"
    bread, profits = parsed.entries
    assert bread.title == 'Bread & Roses: bakers form a co-op – "at last"'
    assert bread.summary == "Café owners & bakers joined forces.\nSecond paragraph."
    assert profits.title == "Profits < people, says study"
    assert profits.link == "https://coops.example.org/profits-people?a=1&b=2"


def test_parser_reads_the_language_of_the_feed_and_of_each_entry():
    french = parse_feed((FIXTURES / "rss2_fr.xml").read_bytes(), "https://coop.example.fr/")
    spanish = parse_feed((FIXTURES / "atom_es.xml").read_bytes(), "https://coop.example.es/")
    silent = parse_feed((FIXTURES / "rss2.xml").read_bytes(), "https://ica.coop/rss.xml")
    assert (french.language, [e.language for e in french.entries]) == ("fr", ["fr", "fr"])
    # an entry's own xml:lang beats the feed's; one we do not know ("x-klingon") is ignored
    assert (spanish.language, [e.language for e in spanish.entries]) == ("es", ["es", "pt", "es"])
    assert (silent.language, {e.language for e in silent.entries}) == (None, {None})


@pytest.mark.parametrize(
    ("tag", "code"),
    [
        ("fr-FR", "fr"),
        ("pt_BR", "pt"),
        (" ES ", "es"),
        ("en-gb", "en"),
        ("x-klingon", None),
        ("xx", None),
        ("fra", None),
        ("", None),
        (None, None),
    ],
)
def test_language_tags_come_down_to_known_iso_639_1_codes(tag, code):
    assert language_code(tag) == code


def test_the_last_word_after_the_address_may_be_the_feeds_language():
    assert split_category_language("") == (None, None)
    assert split_category_language("Actualités fr") == ("Actualités", "fr")
    assert split_category_language("  FR ") == ("FR", None)  # upper case: a category
    assert split_category_language("Co-ops UK") == ("Co-ops UK", None)
    assert split_category_language("Co-op  News") == ("Co-op News", None)
    assert split_category_language("Research xx") == ("Research xx", None)  # no code: category
    with pytest.raises(FeedNotAdded) as alone:
        split_category_language("xx")
    assert (alone.value.problem.value, alone.value.code) == ("bad_language", "xx")


# -- adding a feed -----------------------------------------------------------------------


async def test_add_imports_the_newest_entries_without_broadcasting(
    feeds, feed_server, sessions, news
):
    # an existing category: an entry filed under it by its feed lands there
    await news.publish(
        ItemDraft("Events", "Earlier event", "https://example.org/e", None),
        source="seed",
        broadcast=False,
    )
    added = await feeds.add(feed_server.serve_fixture("ica.xml", "rss2.xml"), added_by=ADMIN_ID)
    assert (added.feed.title, added.entry_count, added.imported) == ("ICA News", 4, 3)
    items = {item.title: item for item in await _items(sessions)}
    # oldest of the three first; the fourth (oldest) entry is only marked seen
    assert "Annual report 2025" not in items
    board = items["ICA elects a new board"]
    assert board.summary == "Delegates met in Seville.\nVotes were counted overnight."
    assert board.source == f"feed:{added.feed.id}"
    assert board.published_at.isoformat() == "2026-11-25T10:00:00+00:00"
    categories = {c.id: c.name for c in await news.categories()}
    assert categories[items["Co-op week opens"].category_id] == "Events"  # its own, existing
    assert categories[board.category_id] == "News"  # "Governance" does not exist: default
    assert await _count(sessions, BroadcastQueue) == 0  # old news is not pushed
    assert await _count(sessions, FeedEntrySeen) == 4


async def test_add_with_a_category_files_every_entry_there(feeds, feed_server, news, sessions):
    added = await feeds.add(feed_server.serve_fixture("copac.rdf", "rss1.xml"), "Research  ")
    assert added.feed.category == "Research" and added.feed.title == "COPAC Updates"
    assert {c.name for c in await news.categories()} == {"Research"}
    assert added.imported == 2


async def test_add_refuses_bad_addresses_and_duplicates(feeds, feed_server):
    with pytest.raises(FeedNotAdded) as bad:
        await feeds.add("ftp://example.org/feed.xml")
    assert bad.value.problem.value == "bad_url"
    url = feed_server.serve_fixture("atom.xml", "atom.xml")
    first = await feeds.add(url)
    with pytest.raises(FeedNotAdded) as twice:
        await feeds.add(url)
    assert twice.value.problem.value == "already_subscribed"
    assert twice.value.existing.id == first.feed.id


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("missing.xml", FeedErrorCode.HTTP_STATUS),
        ("garbage", FeedErrorCode.NOT_A_FEED),
        ("huge", FeedErrorCode.TOO_BIG),
        ("declared-huge", FeedErrorCode.TOO_BIG),
        ("hang", FeedErrorCode.TIMEOUT),
    ],
)
async def test_add_reports_a_broken_feed_and_stores_nothing(
    feeds, feed_server, sessions, path, code
):
    # "hang" never answers: only the fetch's own timeout ends it (the guard catches a hang)
    async with asyncio.timeout(30):
        with pytest.raises(FeedNotAdded) as failure:
            await feeds.add(feed_server.url(path))
    assert failure.value.error.code is code
    assert await feeds.feeds() == []
    assert await _count(sessions, Item) == 0
    if path == "huge":
        assert feed_server.big_bytes_sent < BIG  # we hung up long before the end
    if path == "missing.xml":
        assert failure.value.error.detail == "404"


# -- polling -----------------------------------------------------------------------------


async def test_poll_takes_each_entry_once_despite_reorders_redates_and_restarts(
    feeds, feed_server, sessions, news
):
    await news.publish(
        ItemDraft("Events", "Earlier event", "https://example.org/e", None),
        source="seed",
        broadcast=False,
    )
    url = feed_server.serve_fixture("ica.xml", "rss2.xml")
    added = await feeds.add(url)
    assert (await feeds.poll_once()).polled == 0  # not due for another 15 minutes

    feed_server.serve_fixture("ica.xml", "rss2_updated.xml")
    report = await feeds.poll_once(utcnow() + timedelta(minutes=16))
    assert (report.polled, report.imported, report.events) == (1, 1, ())
    new = (await _items(sessions))[-1]
    assert new.title == "Co-op bank joins the Alliance"
    categories = {c.id: c.name for c in await news.categories()}
    assert categories[new.category_id] == "Events"  # "events" matched the existing one
    async with sessions() as session:
        queued = list(await session.scalars(select(BroadcastQueue.item_id)))
    assert queued == [new.id]  # delivered like any other item

    # nothing changed: a conditional GET, answered 304
    report = await feeds.poll_once(every_feed=True)
    assert (report.polled, report.imported) == (1, 0)
    assert feed_server.requests[-1][1].get("If-None-Match")
    assert feed_server.requests[-1][1].get("If-Modified-Since") == "Thu, 26 Nov 2026 16:00:00 GMT"

    # a "restart": a new service, and a server that ignores validators
    feed_server.conditional = False
    again = FeedService(sessions, news, limits=TEST_LIMITS)
    report = await again.poll_once(every_feed=True)
    assert (report.polled, report.imported) == (1, 0)
    assert await _count(sessions, Item) == 5  # 1 by hand + 3 on add + 1 new
    assert await _count(sessions, BroadcastQueue) == 1
    assert (await feeds.get(added.feed.id)).error is None


async def test_overlapping_polls_never_publish_an_entry_twice(feeds, feed_server, sessions, news):
    await feeds.add(feed_server.serve_fixture("ica.xml", "rss2.xml"))
    feed_server.serve_fixture("ica.xml", "rss2_updated.xml")
    other = FeedService(sessions, news, limits=TEST_LIMITS)  # e.g. a second process
    reports = await asyncio.gather(
        feeds.poll_once(every_feed=True), other.poll_once(every_feed=True)
    )
    assert sum(r.imported for r in reports) == 1
    assert await _count(sessions, BroadcastQueue) == 1


async def test_broken_feed_is_reported_once_backs_off_and_recovers(feeds, feed_server, sessions):
    good = await feeds.add(feed_server.serve_fixture("atom.xml", "atom.xml"))
    flaky = await feeds.add(feed_server.serve_fixture("ica.xml", "rss2.xml"))
    later = utcnow() + timedelta(minutes=16)

    rss2 = feed_server.docs.pop("ica.xml")  # now a 404
    feed_server.docs["atom.xml"] = feed_server.docs["atom.xml"].replace(
        b"<entry>",
        b"<entry><title>Fresh</title><id>tag:fresh</id><link href='/fresh'/>"
        b"<updated>2026-11-27T10:00:00Z</updated></entry><entry>",
        1,
    )
    report = await feeds.poll_once(later)
    assert report.polled == 2 and report.imported == 1  # the good feed went on
    assert [(e.kind, e.feed.id) for e in report.events] == [(FeedEventKind.BROKEN, flaky.feed.id)]
    broken = await feeds.get(flaky.feed.id)
    assert (broken.error_code, broken.error_detail, broken.failures) == (
        FeedErrorCode.HTTP_STATUS,
        "404",
        1,
    )

    # still broken: polled again, but nobody is told twice
    report = await feeds.poll_once(every_feed=True)
    assert report.events == ()
    assert (await feeds.get(flaky.feed.id)).failures == 2
    # and it backs off: due later than a healthy feed
    async with sessions() as session:
        due = {f.id: f.next_poll_at for f in await session.scalars(select(Feed))}
    assert due[flaky.feed.id] - due[good.feed.id] > timedelta(minutes=30)
    assert (await feeds.poll_once(utcnow() + timedelta(minutes=16))).polled == 1

    feed_server.docs["ica.xml"] = rss2
    report = await feeds.poll_once(every_feed=True)
    assert [(e.kind, e.feed.id) for e in report.events] == [
        (FeedEventKind.RECOVERED, flaky.feed.id)
    ]
    assert (await feeds.poll_once(every_feed=True)).events == ()
    healed = await feeds.get(flaky.feed.id)
    assert (healed.error, healed.failures) == (None, 0)


@pytest.mark.parametrize("path", ["garbage", "huge", "hang"])
async def test_slow_huge_or_garbage_feed_does_not_stop_the_others(
    feeds, feed_server, sessions, path
):
    good = await feeds.add(feed_server.serve_fixture("copac.rdf", "rss1.xml"))
    bad = await feeds.subscribe(feed_server.url(path))  # as from an OPML import: never read
    feed_server.docs["copac.rdf"] = feed_server.docs["copac.rdf"].replace(
        b"<item ",
        b'<item rdf:about="https://copac.coop/news/new"><title>New brief</title>'
        b"<link>https://copac.coop/news/new</link></item><item ",
        1,
    )
    report = await feeds.poll_once(every_feed=True)
    assert report.imported == 1
    assert [(e.kind, e.feed.id) for e in report.events] == [(FeedEventKind.BROKEN, bad.id)]
    assert (await feeds.get(good.feed.id)).error is None


async def test_a_feed_first_read_by_the_poller_does_not_broadcast_its_backlog(
    feeds, feed_server, sessions
):
    view = await feeds.subscribe(feed_server.serve_fixture("ica.xml", "rss2.xml"), "ICA")
    report = await feeds.poll_once()  # never read: due at once
    assert (report.polled, report.imported) == (1, 3)
    assert await _count(sessions, BroadcastQueue) == 0
    assert (await feeds.get(view.id)).title == "ICA News"


async def test_removing_a_feed_keeps_its_items(feeds, feed_server, sessions):
    added = await feeds.add(feed_server.serve_fixture("atom.xml", "atom.xml"))
    removed = await feeds.remove(added.feed.id)
    assert removed.title == "ILO Cooperatives"
    assert await feeds.remove(added.feed.id) is None
    assert await _count(sessions, Item) == 2
    assert await _count(sessions, FeedEntrySeen) == 0


# -- /feeds through the emulator ----------------------------------------------------------


async def _command(harness, chatter, text: str, language_code: str | None = None):
    """Send a command and wait for its one reply (/feeds add runs without blocking)."""
    before = harness.message_count(chatter.chat_id)
    harness.emu.send_message(
        text,
        chat_id=chatter.chat_id,
        user_id=chatter.user_id,
        first_name=chatter.first_name,
        language_code=language_code,
    )
    messages = await harness.emu.wait_for_messages(chatter.chat_id, before + 1, timeout=10)
    await harness.settle()
    replies = harness.emu.messages(chatter.chat_id)[before:]
    assert len(replies) == 1, [m.text for m in replies]
    return messages[before]


async def test_feeds_commands_end_to_end(harness, feed_server):
    admin = harness.admin()
    assert "no feeds yet" in (await _command(harness, admin, "/feeds")).text

    url = feed_server.serve_fixture("ents.xml", "entities.xml")
    reply = await _command(harness, admin, f"/feeds add {url} Community News")
    assert "Subscribed to Co-ops & Communities <Weekly> as feed #1 (2 entries in it now)" in (
        reply.text
    )
    assert "&lt;Weekly&gt;" in reply.html  # data is escaped in the HTML we sent
    assert "newest 2 are in /latest" in reply.text

    latest = await admin.send("/latest")
    assert 'Bread & Roses: bakers form a co-op – "at last"' in latest[-1].text

    listing = await _command(harness, admin, "/feeds")
    assert "#1 Co-ops & Communities <Weekly>" in listing.text
    assert url in listing.text and "Community News" in listing.text

    failed = await _command(harness, admin, f"/feeds add {feed_server.url('nope.xml')}")
    assert "HTTP status 404" in failed.text
    again = await _command(harness, admin, f"/feeds add {url}")
    assert "already feed #1" in again.text
    assert "Feeds" in (await _command(harness, admin, "/feeds what")).text  # usage

    reader = harness.private(first_name="Reader")
    for text in ("/feeds", f"/feeds add {url}", "/feeds remove 1"):
        assert (await reader.reply(text)).text == "Sorry, only the bot's admins can manage feeds."

    assert "no feed #9" in (await _command(harness, admin, "/feeds remove 9")).text
    assert "Which feed?" in (await _command(harness, admin, "/feeds remove one")).text
    removed = await _command(harness, admin, "/feeds remove #1")
    assert "Feed #1 (Co-ops & Communities <Weekly>) is removed" in removed.text
    assert "no feeds yet" in (await _command(harness, admin, "/feeds")).text


async def test_admins_hear_once_when_a_feed_breaks_and_once_when_it_recovers(harness, feed_server):
    admin = harness.admin()
    url = feed_server.serve_fixture("ica.xml", "rss2.xml")
    await _command(harness, admin, f"/feeds add {url}")
    assert harness.application.job_queue.get_jobs_by_name(jobs.FEEDS_JOB)

    services = harness.application.bot_data["services"]
    body = feed_server.docs.pop("ica.xml")
    for _ in range(3):
        report = await services.feeds.poll_once(every_feed=True)
        await jobs.notify_admins(harness.application.bot, services, report)
    listing = await _command(harness, admin, "/feeds")
    assert "⚠️ the server answered with HTTP status 404." in listing.text
    feed_server.docs["ica.xml"] = body
    for _ in range(2):
        report = await services.feeds.poll_once(every_feed=True)
        await jobs.notify_admins(harness.application.bot, services, report)
    await harness.settle()

    alerts = [m.text for m in harness.emu.messages(ADMIN_ID) if "Feed #" in m.text]
    assert alerts == [
        "⚠️ Feed #1 ICA News is not working: the server answered with HTTP status 404.\n"
        "I keep trying, less often, and will tell you once when it works again.",
        "✅ Feed #1 ICA News works again.",
    ]


async def test_items_take_the_language_the_feed_gives_else_the_feeds_setting_else_english(
    harness, feed_server
):
    admin = harness.admin()
    news = harness.application.bot_data["services"].news
    french = feed_server.serve_fixture("flux.xml", "rss2_fr.xml")
    spanish = feed_server.serve_fixture("noticias.atom", "atom_es.xml")
    silent = feed_server.serve_fixture("ica.xml", "rss2.xml")
    plain = feed_server.serve_fixture("ents.xml", "entities.xml")
    # what the document says beats what the admin said
    await _command(harness, admin, f"/feeds add {french} Nouvelles es")
    await _command(harness, admin, f"/feeds add {spanish}")
    await _command(harness, admin, f"/feeds add {silent} Actualités fr")
    await _command(harness, admin, f"/feeds add {plain}")
    refused = await _command(harness, admin, f"/feeds add {feed_server.url('other.xml')} xx")
    assert refused.text == (
        "⚠️ I could not add that feed: “xx” is not a language code. "
        "Use two letters, such as en, fr, es or pt."
    )

    by_feed: dict[str, list[str]] = {}
    for item in (await news.page(20)).items:
        by_feed.setdefault(item.source, []).append(item.language)
    assert {source: sorted(languages) for source, languages in by_feed.items()} == {
        "feed:1": ["fr", "fr"],
        "feed:2": ["es", "es", "pt"],
        "feed:3": ["fr", "fr", "fr"],
        "feed:4": ["en", "en"],
    }
    assert (await news.find_by_url("https://ica.coop/en/news/board-2026")).category == (
        "Actualités"
    )

    listing = (await _command(harness, admin, "/feeds")).text.split("\n\n")[1:5]
    assert [block.rsplit("🌐 ", 1)[1] for block in listing] == [
        "Spanish",
        "as the feed says, else English",
        "French",
        "as the feed says, else English",
    ]
    assert "🗂 Nouvelles · 🌐 Spanish" in listing[0]
    # the names are in the reader's language
    listing = (await _command(harness, admin, "/feeds", language_code="fr")).text
    assert "espagnol" in listing and "français" in listing and "anglais" in listing


async def test_an_entry_linking_a_stored_item_by_hreflang_becomes_its_version(
    feeds, feed_server, sessions, news
):
    await feeds.add(feed_server.serve_fixture("three.xml", "atom_versions.xml"))
    items = {
        item.url.rsplit("/", 2)[-2] + "/" + item.url.rsplit("/", 1)[-1]: item
        for item in await _items(sessions)
    }
    original = items["en/decent"]
    # oldest first: the English entry is stored first, and the later ones link to it
    assert original.story_id is None and original.has_versions
    assert items["fr/decent"].story_id == original.id
    assert items["fr/decent"].published_at == original.published_at  # one story, one time
    # a link to nothing stored: an item of its own
    assert items["fr/alone"].story_id is None
    # listings show the story once
    assert [item.title for item in (await news.page(10)).items] == [
        "Une actualité sans traduction",
        "Co-operatives and decent work",
    ]
