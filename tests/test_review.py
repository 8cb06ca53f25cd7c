"""The review queue: an author's draft goes through submit, request changes, resubmit and
approve, and subscribers get it once; a rejected draft reaches no one; a feed under review
fills the queue; two editors deciding at once decide once; bad input changes nothing.

End to end through the emulator (authors, editors and readers are Telegram users), on SQLite
and (with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import func, select

from bot import texts
from bot.callbacks import ReviewButton, encode
from bot.config import Settings
from bot.db.engine import create_engine, create_session_factory
from bot.db.models import AuditEntry, Item, Submission
from bot.db.models.desk import APPROVED, WAITING
from bot.i18n import translator
from bot.lifecycle import prepare_database
from bot.services.admins import AdminService
from bot.services.chats import ChatService
from bot.services.invalidation import QUEUE, CacheListener
from bot.services.news import NewsService
from bot.services.notices import Button
from bot.services.review import ReviewService
from bot.services.scheduling import SchedulingService
from bot.services.submissions import Decision, Outcome, SubmissionView
from bot.services.validation import ItemDraft
from bot.services.views import ItemView
from emulator.models import SentMessage
from testbed.delivery_kit import drain, harness_with_categories, services
from testbed.delivery_kit import sessions as sessions_of
from testbed.feed_server import serving_feeds
from testbed.harness import ADMIN_ID, Chatter, Harness

AUTHOR_ID = 5001
EDITOR_ID = 5002
READER_ID = 5003
EN = translator("en")
LINE = "/add News | Housing co-ops <grow> | https://example.coop/housing | Tenants buy together."


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    async with harness_with_categories(database_url) as running:
        owner = running.admin()
        await owner.send(f"/admins add {AUTHOR_ID} author")
        await owner.send(f"/admins add {EDITOR_ID} editor")
        for user_id in (AUTHOR_ID, EDITOR_ID):
            await running.private(user_id).send("/start")
        yield running


def texts_in(messages: list[SentMessage]) -> list[str]:
    return [m.text or "" for m in messages]


async def messages_of(harness: Harness, chat_id: int, count: int) -> list[SentMessage]:
    """The chat's messages once there are at least `count` (notices come from the sender)."""
    await harness.emu.wait_for_messages(chat_id, count, timeout=30)
    await harness.settle()
    return harness.emu.messages(chat_id)


async def reader(harness: Harness) -> Chatter:
    chat = harness.private(READER_ID)
    await chat.send("/subscribe News")
    return chat


def plain(text: str, **values: object) -> str:
    """A text as a reader sees it: the English, filled in (the data escaped, as the bot
    does), without its markup."""
    escaped = {k: html.escape(v) if isinstance(v, str) else v for k, v in values.items()}
    return html.unescape(re.sub(r"<[^>]+>", "", EN(text, **escaped)))


async def submit_line(author: Chatter, line: str = LINE) -> int:
    """The author's one-line /add: a preview, then Submit for review; the draft's number."""
    replies = await author.send(line)
    preview = replies[-1]
    assert [b["text"] for b in preview.buttons][:2] == [
        EN(texts.BUTTON_SUBMIT),
        EN(texts.BUTTON_SUBMIT_AT),
    ]
    assert EN(texts.BUTTON_PUBLISH) not in [b["text"] for b in preview.buttons]
    sent, _answers = await author.press(preview, EN(texts.BUTTON_SUBMIT))
    [done] = sent
    async with sessions_of(author.harness)() as session:
        newest = await session.scalar(select(func.max(Submission.id)))
    assert done.text == plain(texts.ADD_SUBMITTED, id=newest)
    return int(newest)


async def item_count(harness: Harness) -> int:
    async with sessions_of(harness)() as session:
        return int(await session.scalar(select(func.count()).select_from(Item)) or 0)


async def audit_actions(harness: Harness) -> list[tuple[int, str]]:
    async with sessions_of(harness)() as session:
        rows = await session.execute(
            select(AuditEntry.actor_id, AuditEntry.action)
            .where(
                AuditEntry.action.in_(
                    ("submit", "resubmit", "approve", "reject", "request_changes")
                )
            )
            .order_by(AuditEntry.id)
        )
        return [(actor, action) for actor, action in rows]


async def test_a_draft_goes_through_changes_and_approval_and_reaches_readers_once(
    harness: Harness,
) -> None:
    emu = harness.emu
    author, editor, owner = (
        harness.private(AUTHOR_ID),
        harness.private(EDITOR_ID),
        harness.admin(),
    )
    subscriber = await reader(harness)
    items_before = await item_count(harness)
    reader_before = harness.message_count(READER_ID)
    editor_before = harness.message_count(EDITOR_ID)
    owner_before = harness.message_count(ADMIN_ID)

    draft_id = await submit_line(author)
    # a draft is in no listing and pushed to no one
    assert await item_count(harness) == items_before
    latest = await subscriber.send("/latest")
    assert "Housing co-ops" not in " ".join(texts_in(latest))

    # every editor (and the owner) is told once, with the decision buttons
    [to_editor] = (await messages_of(harness, EDITOR_ID, editor_before + 1))[editor_before:]
    [to_owner] = (await messages_of(harness, ADMIN_ID, owner_before + 1))[owner_before:]
    for notice in (to_editor, to_owner):
        assert plain(texts.REVIEW_CARD, id=draft_id) in notice.text
        assert "Housing co-ops <grow>" in notice.text  # escaped in HTML, plain on screen
        assert [b["text"] for b in notice.buttons] == [
            EN(texts.BUTTON_APPROVE),
            EN(texts.BUTTON_REQUEST_CHANGES),
            EN(texts.BUTTON_REJECT),
        ]
    # the author: /start's answer, the preview (two messages), "submitted"; nothing else
    assert not [m for m in emu.messages(AUTHOR_ID) if m.text.startswith("📝")]

    # the editor asks for changes, with a note the author gets
    sent, _ = await editor.press(to_editor, EN(texts.BUTTON_REQUEST_CHANGES))
    assert sent[-1].text.startswith("✏️ What should the author change")
    author_before = harness.message_count(AUTHOR_ID)
    assert (await editor.reply("Please say which city.")).text == plain(
        texts.REVIEW_CHANGES_SENT, id=draft_id
    )
    [told] = (await messages_of(harness, AUTHOR_ID, author_before + 1))[author_before:]
    assert told.text == plain(
        texts.TOLD_CHANGES, title="Housing co-ops <grow>", note="Please say which city."
    )

    # the owner's button now says who decided, and changes nothing
    _sent, answers = await owner.press(to_owner, EN(texts.BUTTON_APPROVE))
    assert answers[-1]["text"] == EN(texts.REVIEW_CHANGES_BY, user_id=EDITOR_ID, id=draft_id)
    assert await item_count(harness) == items_before

    # the author edits the draft from /queue and submits it again
    listing = await author.reply("/queue")
    assert EN(texts.QUEUE_STATES["changes"]) in listing.text
    assert "Please say which city." in listing.text
    sent, _ = await author.press(listing, EN(texts.BUTTON_EDIT_DRAFT, id=draft_id))
    preview = sent[-1]
    sent, _ = await author.press(preview, EN(texts.BUTTON_EDIT))
    sent, _ = await author.press(sent[-1], EN(texts.FIELD_NAMES["title"]))
    sent = await author.send("Housing co-ops grow in Lyon")
    editor_before = harness.message_count(EDITOR_ID)
    sent, _ = await author.press(sent[-1], EN(texts.BUTTON_SUBMIT))
    assert sent[-1].text == plain(texts.ADD_SUBMITTED, id=draft_id)

    # the editors get the new version; the old buttons are stale
    [again] = (await messages_of(harness, EDITOR_ID, editor_before + 1))[editor_before:]
    assert plain(texts.REVIEW_AGAIN, revision=2) in again.text
    assert "Housing co-ops grow in Lyon" in again.text
    _sent, answers = await editor.press(to_editor, EN(texts.BUTTON_APPROVE))
    assert answers[-1]["text"] == EN(texts.REVIEW_STALE, id=draft_id)

    # approved: published at once, to each subscriber once, and the author is told
    author_before = harness.message_count(AUTHOR_ID)
    sent, _ = await editor.press(again, EN(texts.BUTTON_APPROVE))
    assert await item_count(harness) == items_before + 1
    async with sessions_of(harness)() as session:
        row = await session.get_one(Submission, draft_id)
        item = await session.get_one(Item, row.item_id)
    assert row.state == APPROVED and row.decided_by == EDITOR_ID and row.revision == 2
    assert item.title == "Housing co-ops grow in Lyon"
    assert sent[-1].text == plain(texts.REVIEW_APPROVED, id=item.id)
    await drain(harness)
    pushed = [m for m in harness.emu.messages(READER_ID)[reader_before:] if "Lyon" in m.text]
    assert len(pushed) == 1
    [told] = (await messages_of(harness, AUTHOR_ID, author_before + 1))[author_before:]
    assert told.text == plain(texts.TOLD_APPROVED, title="Housing co-ops grow in Lyon", id=item.id)

    # a second Approve answers who did it; nothing is published twice
    owner_notices = [m for m in harness.emu.messages(ADMIN_ID) if m.buttons]
    _sent, answers = await owner.press(owner_notices[-1], EN(texts.BUTTON_APPROVE))
    assert answers[-1]["text"] == EN(texts.REVIEW_APPROVED_BY, id=draft_id, user_id=EDITOR_ID)
    assert await item_count(harness) == items_before + 1

    assert await audit_actions(harness) == [
        (AUTHOR_ID, "submit"),
        (EDITOR_ID, "request_changes"),
        (AUTHOR_ID, "resubmit"),
        (EDITOR_ID, "approve"),
    ]
    mine = await author.reply("/queue")
    assert EN(texts.QUEUE_STATES["approved"]) in mine.text and not mine.buttons


async def test_a_rejected_draft_reaches_no_one(harness: Harness) -> None:
    author, editor = harness.private(AUTHOR_ID), harness.private(EDITOR_ID)
    await reader(harness)
    items_before = await item_count(harness)
    editor_before = harness.message_count(EDITOR_ID)
    draft_id = await submit_line(author)
    [notice] = (await messages_of(harness, EDITOR_ID, editor_before + 1))[editor_before:]
    await editor.press(notice, EN(texts.BUTTON_REJECT))
    # a note over 500 characters is refused, and nothing is decided yet
    too_long = await editor.reply("x" * 501)
    assert too_long.text == plain(texts.REVIEW_NOTE_TOO_LONG, length=501, max=500)
    async with sessions_of(harness)() as session:
        assert (await session.get_one(Submission, draft_id)).state == WAITING
    author_before = harness.message_count(AUTHOR_ID)
    done = await editor.reply("Not co-op news, sorry.")
    assert done.text == plain(texts.REVIEW_REJECT_SENT, id=draft_id)
    [told] = (await messages_of(harness, AUTHOR_ID, author_before + 1))[author_before:]
    assert told.text == plain(
        texts.TOLD_REJECTED, title="Housing co-ops <grow>", note="Not co-op news, sorry."
    )
    await drain(harness)
    assert await item_count(harness) == items_before
    assert "Housing" not in " ".join(texts_in(harness.emu.messages(READER_ID)))
    # a rejected draft cannot be edited and sent again
    listing = await author.reply("/queue")
    assert EN(texts.QUEUE_STATES["rejected"]) in listing.text and not listing.buttons
    _sent, answers = await author.press(listing, data=encode(ReviewButton("e", draft_id, 1)))
    assert answers[-1]["text"] == EN(
        texts.REVIEW_NOT_EDITABLE, id=draft_id, state=EN(texts.QUEUE_STATES["rejected"])
    )


async def test_the_queue_lists_what_waits_oldest_first_with_its_buttons(harness: Harness) -> None:
    author, editor = harness.private(AUTHOR_ID), harness.private(EDITOR_ID)
    assert (await editor.reply("/queue")).text == EN(texts.QUEUE_EMPTY)
    ids = []
    editor_before = harness.message_count(EDITOR_ID)
    for n in range(7):
        line = f"/add News | Draft number {n} | https://example.coop/d{n}"
        ids.append(await submit_line(author, line))
    # the editor's seven notices come from the sender: once they are in, /queue's reply is
    # the only message that follows
    await messages_of(harness, EDITOR_ID, editor_before + 7)
    listing = await editor.reply("/queue")
    assert listing.text.startswith("📬 7 drafts wait for review")
    shown = [
        int(line.split("#")[1].split()[0])
        for line in listing.text.splitlines()
        if line.startswith("#")
    ]
    assert shown == ids[:5]
    assert [b["text"] for b in listing.buttons][:3] == [
        f"✅ #{ids[0]}",
        f"✏️ #{ids[0]}",
        f"✖️ #{ids[0]}",
    ]
    [more], _ = await editor.press(listing, EN(texts.BUTTON_QUEUE_MORE))
    shown = [
        int(line.split("#")[1].split()[0])
        for line in more.text.splitlines()
        if line.startswith("#")
    ]
    assert shown == ids[5:]
    assert EN(texts.BUTTON_QUEUE_MORE) not in [b["text"] for b in more.buttons]
    # the buttons under /queue decide like the notice's
    author_before = harness.message_count(AUTHOR_ID)
    await editor.press(more, f"✅ #{ids[5]}")
    async with sessions_of(harness)() as session:
        assert (await session.get_one(Submission, ids[5])).state == APPROVED
    # the author's notice comes from the sender, after the press: wait for it so that it is
    # not taken for the reply to /queue below
    [approved] = (await messages_of(harness, AUTHOR_ID, author_before + 1))[author_before:]
    assert "Draft number 5" in (approved.text or "")
    # an author's /queue is their own drafts, latest first
    mine = await author.reply("/queue")
    assert mine.text.index("Draft number 6") < mine.text.index("Draft number 0")


async def test_bad_input_gets_a_clear_answer_and_changes_nothing(harness: Harness) -> None:
    author, editor = harness.private(AUTHOR_ID), harness.private(EDITOR_ID)
    stranger = harness.private(7007)
    editor_before = harness.message_count(EDITOR_ID)
    draft_id = await submit_line(author)
    [notice] = (await messages_of(harness, EDITOR_ID, editor_before + 1))[editor_before:]
    items_before = await item_count(harness)

    # forged and unknown buttons
    _s, answers = await editor.press(notice, data=encode(ReviewButton("a", 999_999, 1)))
    assert answers[-1]["text"] == EN(texts.REVIEW_UNKNOWN)
    _s, answers = await editor.press(notice, data=f"v1:rv:x:{draft_id}:1")
    assert answers[-1]["text"] == EN(texts.BUTTON_EXPIRED)
    _s, answers = await editor.press(notice, data=encode(ReviewButton("a", draft_id, 7)))
    assert answers[-1]["text"] == EN(texts.REVIEW_STALE, id=draft_id)
    # an author cannot decide, a reader cannot either, nor list the queue (each presses the
    # same data under a message of their own chat, as a forged button would)
    own = harness.emu.messages(AUTHOR_ID)[-1]
    _s, answers = await author.press(own, data=encode(ReviewButton("a", draft_id, 1)))
    assert answers[-1]["text"] == EN(texts.REVIEW_EDITORS_ONLY)
    assert (await stranger.reply("/queue")).text == EN(texts.NOT_ADMIN)
    theirs = harness.emu.messages(stranger.chat_id)[-1]
    _s, answers = await stranger.press(theirs, data=encode(ReviewButton("a", draft_id, 1)))
    assert answers[-1]["text"] == EN(texts.REVIEW_EDITORS_ONLY)
    # the editors' other buttons name the editors to an author, not to a reader
    _s, answers = await author.press(own, data="v1:catn:1")
    assert answers[-1]["text"] == EN(texts.EDITORS_ONLY_ALERT)
    _s, answers = await stranger.press(theirs, data="v1:catn:1")
    assert answers[-1]["text"] == EN(texts.NOT_ADMIN)
    # someone else's draft cannot be edited
    _s, answers = await stranger.press(theirs, data=encode(ReviewButton("e", draft_id, 1)))
    assert answers[-1]["text"] == EN(texts.REVIEW_NOT_YOURS, id=draft_id)
    # an empty note is asked again; /cancel leaves the question and decides nothing
    await editor.press(notice, EN(texts.BUTTON_REQUEST_CHANGES))
    assert (await editor.reply("/cancel")).text == EN(texts.REVIEW_NOTE_CANCELLED, id=draft_id)
    async with sessions_of(harness)() as session:
        row = await session.get_one(Submission, draft_id)
    assert row.state == WAITING and row.decided_by is None
    assert await item_count(harness) == items_before

    # an author made editor cannot decide on their own draft
    await harness.admin().send(f"/admins role {AUTHOR_ID} editor")
    _s, answers = await author.press(own, data=encode(ReviewButton("a", draft_id, 1)))
    assert answers[-1]["text"] == EN(texts.REVIEW_OWN_DRAFT)
    async with sessions_of(harness)() as session:
        assert (await session.get_one(Submission, draft_id)).state == WAITING


async def test_an_author_asks_for_a_time_and_approval_schedules_it(harness: Harness) -> None:
    author, editor = harness.private(AUTHOR_ID), harness.private(EDITOR_ID)
    replies = await author.send(LINE)
    sent, _ = await author.press(replies[-1], EN(texts.BUTTON_SUBMIT_AT))
    assert sent[-1].text.startswith("🕒 When should it go out?")
    editor_before = harness.message_count(EDITOR_ID)
    done = await author.reply("2099-01-02 09:30")
    assert "2099-01-02 09:30" in done.text
    [notice] = (await messages_of(harness, EDITOR_ID, editor_before + 1))[editor_before:]
    assert "2099-01-02 09:30" in notice.text
    items_before = await item_count(harness)
    sent, _ = await editor.press(notice, EN(texts.BUTTON_APPROVE))
    assert "2099-01-02 09:30" in sent[-1].text
    assert await item_count(harness) == items_before  # it waits for its time
    pending = await services(harness).scheduling.pending()
    assert [p.draft.title for p in pending] == ["Housing co-ops <grow>"]


async def test_a_feed_under_review_fills_the_queue(harness: Harness) -> None:
    owner, editor = harness.admin(), harness.private(EDITOR_ID)
    items_before = await item_count(harness)
    editor_before = harness.message_count(EDITOR_ID)
    owner_before = harness.message_count(ADMIN_ID)
    async with serving_feeds() as feeds:
        url = feeds.serve_fixture("coops.xml", "rss2.xml")
        await owner.send(f"/feeds add {url} News review")
        # /feeds runs beside other updates (it fetches the feed): its answer comes after;
        # the owner, an editor too, also gets the held entries' notices
        await harness.emu.wait_for(
            lambda: any(
                m.text.startswith("✅") for m in harness.emu.messages(ADMIN_ID)[owner_before:]
            ),
            timeout=30,
        )
    [added] = [m for m in harness.emu.messages(ADMIN_ID)[owner_before:] if m.text[0] == "✅"]
    assert "/queue" in added.text
    async with sessions_of(harness)() as session:
        held = list(await session.scalars(select(Submission).order_by(Submission.id)))
    assert held and all(s.origin == "feed" and s.state == WAITING for s in held)
    assert await item_count(harness) == items_before  # nothing went out
    notices = (await messages_of(harness, EDITOR_ID, editor_before + len(held)))[editor_before:]
    assert len(notices) == len(held)
    await editor.press(notices[0], EN(texts.BUTTON_APPROVE))
    assert await item_count(harness) == items_before + 1
    # /feeds runs beside other updates: its answer may come after the update counts as handled
    await answered(owner, "/feeds", lambda text: EN(texts.FEEDS_UNDER_REVIEW).strip(" ·") in text)
    await answered(owner, "/feeds review 1 off", lambda text: text.startswith("📡"))


async def answered(chat: Chatter, command: str, matches: Callable[[str], bool]) -> None:
    """Send `command` and wait for an answer that `matches` (other messages may come too)."""
    emu, before = chat.harness.emu, chat.harness.message_count(chat.chat_id)
    await chat.send(command)
    await emu.wait_for(
        lambda: any(matches(m.text) for m in emu.messages(chat.chat_id)[before:]), timeout=30
    )


# -- two editors at once ------------------------------------------------------------------


class _NoWords:
    def for_editor(self, submission: SubmissionView) -> tuple[str, list[list[Button]]]:
        return "draft", []

    def for_author(self, submission: SubmissionView, item: ItemView | None) -> str:
        return "decided"


@contextlib.asynccontextmanager
async def _process(database_url: str) -> AsyncIterator[ReviewService]:
    """The review queue as one bot process has it: its own engine and pool."""
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    news = NewsService(sessions)
    roster = AdminService(sessions, frozenset({ADMIN_ID}))
    try:
        chats = ChatService(sessions)
        scheduling = SchedulingService(sessions, news)
        yield ReviewService(sessions, news, scheduling, roster, chats, _NoWords())
    finally:
        await engine.dispose()


async def test_two_editors_approving_at_once_publish_once(
    harness: Harness, database_url: str
) -> None:
    races = 40
    items_before = await item_count(harness)
    async with _process(database_url) as first, _process(database_url) as second:
        drafts = [
            await first.submit(
                AUTHOR_ID, ItemDraft("News", f"Race {n}", f"https://example.coop/race/{n}", None)
            )
            for n in range(races)
        ]
        already = 0
        for draft in drafts:
            a, b = await asyncio.gather(
                first.decide(EDITOR_ID, draft.id, draft.revision, Decision.APPROVE),
                second.decide(ADMIN_ID, draft.id, draft.revision, Decision.APPROVE),
            )
            outcomes = sorted([a.outcome.value, b.outcome.value])
            assert outcomes == sorted([Outcome.DONE.value, Outcome.ALREADY_DECIDED.value]), outcomes
            already += 1
    assert already == races
    assert await item_count(harness) == items_before + races
    async with sessions_of(harness)() as session:
        approvals = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "approve")
        )
    assert approvals == races


async def test_the_queue_kept_by_one_process_follows_another_process_s_decisions(
    database_url: str,
) -> None:
    """/queue's first page is kept like /latest's; a draft submitted or decided in one
    process leaves the other's kept page at once (LISTEN/NOTIFY; PostgreSQL only)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one process")
    await prepare_database(Settings(database_url=database_url))

    @contextlib.asynccontextmanager
    async def listening(url: str) -> AsyncIterator[tuple[ReviewService, CacheListener]]:
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        news = NewsService(sessions, cache_seconds=60)
        roster = AdminService(sessions, frozenset({ADMIN_ID}))
        chats = ChatService(sessions)
        scheduling = SchedulingService(sessions, news)
        review = ReviewService(
            sessions, news, scheduling, roster, chats, _NoWords(), cache_seconds=60
        )
        listener = CacheListener(engine, news, chats, queue=review)
        listener.start()
        try:
            await asyncio.wait_for(listener.until(lambda: listener.live), 10)
            yield review, listener
        finally:
            await listener.stop()
            await engine.dispose()

    async def heard(listener: CacheListener, before: int) -> None:
        await asyncio.wait_for(listener.until(lambda: listener.heard[QUEUE] > before), 5)

    async with listening(database_url) as (a, _), listening(database_url) as (b, heard_by_b):
        assert (await b.waiting()).total == 0  # kept for a minute
        before = heard_by_b.heard[QUEUE]
        draft = await a.submit(
            AUTHOR_ID, ItemDraft("News", "Kept?", "https://coop.example/k", None)
        )
        await heard(heard_by_b, before)
        page = await b.waiting()
        assert page.total == 1 and [s.id for s in page.submissions] == [draft.id]
        before = heard_by_b.heard[QUEUE]
        decided = await a.decide(EDITOR_ID, draft.id, draft.revision, Decision.APPROVE)
        assert decided.outcome is Outcome.DONE
        await heard(heard_by_b, before)
        assert (await b.waiting()).total == 0
