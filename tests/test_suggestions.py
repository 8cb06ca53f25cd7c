"""Members suggest news: /suggest from a private chat, through the Bot API emulator, the real
PTB and database; the suggested pages are served by a local server on 127.0.0.1 (the one host
the tests' service may read over plain http: production reads https only)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot import texts
from bot.context import Services
from bot.db.models import AuditEntry, Notice, Suggestion
from bot.db.models.desk import DISMISSED, PUBLISHED, SUGGESTED
from bot.feeds.fetcher import FetchLimits
from bot.services.admins import AdminService
from bot.services.suggestions import Outcome, SuggestionService, link_key
from emulator.models import SentMessage
from testbed.feed_server import FeedServer, serving_feeds
from testbed.harness import ADMIN_ID, Chatter, Harness

LOCAL = frozenset({"127.0.0.1"})
PAGE = b"<html><head><title>Harvest &amp; fair</title></head><body>Co-op harvest</body></html>"
OG_PAGE = (
    b'<html><head><meta property="og:title" content="Caf&eacute; co-op opens">'
    b"<title>ignored</title></head></html>"
)


@pytest.fixture
async def pages() -> AsyncIterator[FeedServer]:
    async with serving_feeds() as server:
        yield server


async def _say(chatter: Chatter, text: str) -> SentMessage:
    """Send a /suggest and wait for its one reply (it runs without blocking other updates)."""
    harness = chatter.harness
    before = harness.message_count(chatter.chat_id)
    harness.emu.send_message(
        text,
        chat_id=chatter.chat_id,
        user_id=chatter.user_id,
        chat_type=chatter.chat_type,
        first_name=chatter.first_name,
        chat_title=chatter.chat_title,
        language_code=chatter.language_code,
    )
    await harness.emu.wait_for_messages(chatter.chat_id, before + 1, timeout=10)
    await harness.settle()
    replies = harness.emu.messages(chatter.chat_id)[before:]
    assert len(replies) == 1, [m.text for m in replies]
    return replies[0]


def _services(harness: Harness) -> Services:
    return harness.application.bot_data["services"]


def _local(harness: Harness, sessions) -> SuggestionService:
    """The bot's suggestion service, allowed to read the local page server."""
    services = _services(harness)
    services.suggestions = SuggestionService(
        sessions,
        services.admin_roster,
        plain_http_hosts=LOCAL,
        limits=FetchLimits(timeout_seconds=2.0, max_bytes=1024 * 1024),
    )
    return services.suggestions


async def _suggestions(sessions) -> list[Suggestion]:
    async with sessions() as session:
        return list(await session.scalars(select(Suggestion).order_by(Suggestion.id)))


async def _notices(sessions, chat_id: int) -> list[Notice]:
    async with sessions() as session:
        query = select(Notice).where(Notice.chat_id == chat_id).order_by(Notice.id)
        return list(await session.scalars(query))


async def test_a_suggestion_becomes_a_published_item(harness: Harness, sessions, pages) -> None:
    _local(harness, sessions)
    editor = harness.admin(language_code="fr")
    await editor.send("/help")  # the editor's chat is known, in French
    reader = harness.private(7001)
    url = pages.url("harvest")
    pages.docs["harvest"] = PAGE

    received = await _say(reader, f"/suggest {url} Our fair is on Saturday")
    assert received.html == texts.SUGGEST_RECEIVED.format(title="Harvest &amp; fair")
    [row] = await _suggestions(sessions)
    assert (row.title, row.words, row.state, row.user_id) == (
        "Harvest & fair",
        "Our fair is on Saturday",
        SUGGESTED,
        7001,
    )
    # the editor is told, in French, with Draft and Dismiss
    [notice] = await _notices(sessions, ADMIN_ID)
    assert "Un membre propose" in notice.html and "Harvest &amp; fair" in notice.html
    assert [b["callback_data"] for b in notice.buttons[0]] == [
        f"v1:sug:draft:{row.id}",
        f"v1:sug:dismiss:{row.id}",
    ]

    listing = await editor.send("/suggestions")
    card = next(m for m in listing if m.buttons)
    _, answers = await editor.press(card, data=f"v1:sug:draft:{row.id}")
    assert answers and not answers[0].get("show_alert")
    # the guided /add, prefilled: it asks for the category first
    await editor.send("News")
    sent, _ = await editor.press(harness.emu.messages(ADMIN_ID)[-1], data="v1:add:skip")
    preview = [m for m in sent if any(b.get("callback_data") == "v1:add:pub" for b in m.buttons)]
    assert preview and "Harvest" in preview[0].text
    await editor.press(preview[0], data="v1:add:pub")

    item = await _services(harness).news.find_by_url(url)
    assert item is not None and item.summary == "Our fair is on Saturday"
    [row] = await _suggestions(sessions)
    assert (row.state, row.item_id, row.decided_by) == (PUBLISHED, item.id, ADMIN_ID)
    [member_notice] = await _notices(sessions, 7001)
    assert f"#{item.id}" in member_notice.html and "Harvest &amp; fair" in member_notice.html
    # a second press on the decided suggestion says so, and changes nothing
    _, answers = await editor.press(card, data=f"v1:sug:dismiss:{row.id}")
    assert "published" in answers[0]["text"] or "publiée" in answers[0]["text"]
    assert (await _suggestions(sessions))[0].state == PUBLISHED


async def test_dismiss_tells_the_member_and_bad_buttons_change_nothing(
    harness: Harness, sessions, pages
) -> None:
    service = _local(harness, sessions)
    editor = harness.admin()
    reader = harness.private(7002)
    await _say(reader, f"/suggest {pages.url('gone')}")  # a 404: queued without a title
    [row] = await _suggestions(sessions)
    assert row.title is None
    listing = await editor.send("/suggestions")
    card = next(m for m in listing if m.buttons)

    # a reader pressing an editor's button, forged and stale buttons: nothing happens
    _, answers = await reader.press(card, data=f"v1:sug:dismiss:{row.id}")
    assert [a["text"] for a in answers] == [texts.NOT_ADMIN]
    _, answers = await editor.press(card, data="v1:sug:dismiss:999999")
    assert [a["text"] for a in answers] == [texts.SUGGESTION_UNKNOWN]
    _, answers = await editor.press(card, data=f"v1:sug:publish:{row.id}")
    assert [a["text"] for a in answers] == [texts.BUTTON_EXPIRED]
    _, answers = await editor.press(card, data="v1:sug:dismiss:x")
    assert [a["text"] for a in answers] == [texts.BUTTON_EXPIRED]
    assert (await _suggestions(sessions))[0].state == SUGGESTED

    _, answers = await editor.press(card, data=f"v1:sug:dismiss:{row.id}")
    assert [a["text"] for a in answers] == [texts.SUGGESTION_DISMISSED]
    assert (await _suggestions(sessions))[0].state == DISMISSED
    [told] = await _notices(sessions, 7002)
    assert "decided not to publish" in told.html
    # the second decision: already decided, by whom
    _, answers = await editor.press(card, data=f"v1:sug:draft:{row.id}")
    assert [a["text"] for a in answers] == [
        texts.SUGGESTION_DECIDED["dismissed"].format(user_id=ADMIN_ID)
    ]
    assert (await service.waiting()) == ([], 0)
    assert (await editor.send("/suggestions"))[0].html.startswith(texts.SUGGESTIONS_NONE)


async def test_bad_links_usage_and_group_chats(harness: Harness, sessions) -> None:
    reader = harness.private(7003)
    usage = texts.SUGGEST_USAGE.format(limit=3)
    assert (await _say(reader, "/suggest")).html == usage
    refused = await _say(reader, "/suggest http://coop.example/news")
    assert refused.html == texts.SUGGEST_NOT_HTTPS
    assert (await _say(reader, "/suggest not-a-link")).html == (
        texts.SUGGEST_BAD_LINK + "\n\n" + usage
    )
    assert (await _say(reader, "/suggest block 5")).html == texts.NOT_ADMIN
    member, _admin = harness.group_with_admin()
    in_group = await _say(member, "/suggest https://coop.example/news")
    assert in_group.html == texts.SUGGEST_PRIVATE_ONLY
    assert in_group.buttons[0]["url"].endswith("?start=suggest")
    assert await _suggestions(sessions) == []


async def test_a_reader_who_tries_to_publish_is_told_how_to_suggest(
    harness: Harness, sessions
) -> None:
    reader = harness.private(7004)
    assert (await reader.reply("/add")).html == texts.SUGGEST_HOW
    assert (await reader.reply("/add News | T | https://coop.example/a")).html == texts.SUGGEST_HOW
    photo = await reader.send_photo("News | Our fair | https://coop.example/fair")
    assert [m.html for m in photo] == [texts.SUGGEST_HOW]
    photo = await reader.send_photo("/add News | Our fair | https://coop.example/fair")
    assert [m.html for m in photo] == [texts.SUGGEST_HOW]
    assert (await reader.reply("News | Fair | https://coop.example/f")).html == texts.SUGGEST_HOW
    assert (await reader.reply("hello")).html == texts.PLAIN_TEXT_HINT
    assert await _services(harness).news.count_items() == 0


async def test_duplicates_are_answered_not_queued(harness: Harness, sessions) -> None:
    service = _local(harness, sessions)
    editor = harness.admin()
    await editor.send("/add News | Kept | https://coop.example/kept")
    reader = harness.private(7005)
    stored = [await _say(reader, "/suggest https://Coop.Example/kept/#top")]
    assert stored[0].html.startswith(texts.SUGGEST_PUBLISHED_ALREADY.format(id=1))
    first = await _say(reader, "/suggest https://coop.example/new-one")
    assert first.html.startswith("💡")
    other = harness.private(7006)
    again = await _say(other, "/suggest https://COOP.example/new-one/")
    assert again.html == texts.SUGGEST_SUGGESTED_ALREADY
    assert len(await _suggestions(sessions)) == 1
    # the same link at the same moment: one row, the other answered as a duplicate
    results = await asyncio.gather(
        service.suggest(7007, 7007, "https://coop.example/race"),
        service.suggest(7008, 7008, "https://coop.example/race/"),
    )
    assert sorted(r.outcome.value for r in results) == sorted(
        [Outcome.RECEIVED.value, Outcome.SUGGESTED_ALREADY.value]
    )
    assert [s.link_key for s in await _suggestions(sessions)].count(
        link_key("https://coop.example/race")
    ) == 1


async def test_block_unblock_are_audited(harness: Harness, sessions) -> None:
    editor = harness.admin()
    reader = harness.private(7009)
    assert (await _say(editor, "/suggest block")).html == texts.SUGGEST_BLOCK_USAGE
    assert (await _say(editor, "/suggest block 7009")).html == texts.SUGGEST_BLOCK_DONE.format(
        user_id=7009
    )
    assert (await _say(editor, "/suggest block 7009")).html == (
        texts.SUGGEST_BLOCK_ALREADY.format(user_id=7009)
    )
    assert (await _say(reader, "/suggest https://coop.example/x")).html == texts.SUGGEST_BLOCKED
    assert (await _say(editor, "/suggest unblock 7009")).html == (
        texts.SUGGEST_UNBLOCK_DONE.format(user_id=7009)
    )
    assert (await _say(editor, "/suggest unblock 7009")).html == (
        texts.SUGGEST_UNBLOCK_NOT.format(user_id=7009)
    )
    assert (await _say(reader, "/suggest https://coop.example/x")).html.startswith("💡")
    async with sessions() as session:
        audit = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [(a.action, a.target_user_id) for a in audit] == [
        ("suggest_block", 7009),
        ("suggest_unblock", 7009),
    ]
    assert (await harness.private(7010).reply("/suggestions")).html == texts.NOT_ADMIN


async def test_three_a_day_on_a_controllable_clock(sessions) -> None:
    clock = [datetime(2026, 5, 1, 9, 0, tzinfo=UTC)]
    service = SuggestionService(sessions, AdminService(sessions, frozenset({ADMIN_ID})))
    service.now = lambda: clock[0]
    for n in range(3):
        done = await service.suggest(42, 42, f"https://coop.example/{n}")
        assert done.outcome is Outcome.RECEIVED
        clock[0] += timedelta(hours=1)
    fourth = await service.suggest(42, 42, "https://coop.example/3")
    assert fourth.outcome is Outcome.TOO_MANY
    assert fourth.again_at == datetime(2026, 5, 2, 9, 0, tzinfo=UTC)
    assert (await service.suggest(43, 43, "https://coop.example/other")).outcome is (
        Outcome.RECEIVED
    )
    clock[0] = datetime(2026, 5, 2, 9, 0, 1, tzinfo=UTC)
    assert (await service.suggest(42, 42, "https://coop.example/3")).outcome is Outcome.RECEIVED
    # each one queued a notice for the editor
    assert len(await _notices(sessions, ADMIN_ID)) == 5


async def test_titles_are_read_within_bounds(sessions, pages) -> None:
    admins = AdminService(sessions, frozenset({ADMIN_ID}))
    service = SuggestionService(
        sessions,
        admins,
        plain_http_hosts=LOCAL,
        limits=FetchLimits(timeout_seconds=0.5, max_bytes=64 * 1024),
    )
    pages.docs["og"] = OG_PAGE
    assert await service.read_title(pages.url("og")) == "Café co-op opens"
    # too big (streamed, no length) and too slow: no title, and the suggestion still queued
    assert await service.read_title(pages.url("huge")) is None
    assert pages.big_bytes_sent < 20 * 1024 * 1024
    slow = await service.suggest(50, 50, pages.url("hang"))
    assert slow.outcome is Outcome.RECEIVED and slow.suggestion is not None
    assert slow.suggestion.title is None
    # production reads https only: the same local page is refused without the test seam
    strict = SuggestionService(sessions, admins)
    assert (await strict.suggest(51, 51, pages.url("og"))).outcome is Outcome.NOT_HTTPS


async def test_forget_erases_the_chats_suggestions(harness: Harness, sessions) -> None:
    reader = harness.private(7011)
    [await _say(reader, "/suggest https://coop.example/forget-me")]
    assert len(await _suggestions(sessions)) == 1
    privacy = await reader.send("/privacy")
    assert "/suggest" in privacy[0].text
    question = (await reader.send("/forget"))[0]
    await reader.press(question, texts.BUTTON_ERASE)
    assert await _suggestions(sessions) == []
