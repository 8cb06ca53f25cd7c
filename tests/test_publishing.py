"""Publishing end to end: the guided /add (every skip, edit and cancel, every validation
case, a restart in the middle), the one-line /add, and scheduling on a controllable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import texts
from bot.context import Services
from bot.db.base import utcnow
from bot.render import delivered_item, item_card
from bot.services.views import ItemView
from emulator.models import SentMessage
from testbed.harness import ADMIN_ID, Chatter, Harness, bot_harness

ROME = ZoneInfo("Europe/Rome")


PREVIEW_INTRO = texts.ADD_PREVIEW + "\n" + texts.ADD_PREVIEW_LANGUAGE.format(language="English")


def _add_problem(problem: str) -> str:
    return (
        texts.ADD_PROBLEM.format(problem=problem)
        + "\n\n"
        + texts.ADD_USAGE.format(language="English")
    )


def _services(harness: Harness) -> Services:
    return harness.application.bot_data["services"]


def _again(problem: str, **details: object) -> str:
    return texts.ADD_ASK_AGAIN.format(problem=texts.PROBLEMS[problem].format(**details))


def _card(title: str, category: str, url: str | None = None, summary: str | None = None) -> str:
    view = ItemView(0, title, summary, url, 0, category, utcnow())
    return delivered_item(view, UTC)


async def _press(chat: Chatter, message: SentMessage, label: str) -> list[SentMessage]:
    sent, answers = await chat.press(message, label)
    assert [a["text"] for a in answers] == [None], answers
    return sent


async def _expired(chat: Chatter, message: SentMessage, data: str) -> None:
    sent, answers = await chat.press(message, data=data)
    assert sent == [] and [a["text"] for a in answers] == [texts.BUTTON_EXPIRED]


async def _to_preview(chat: Chatter, title: str = "A title") -> list[SentMessage]:
    await chat.send("/add")
    await chat.send(title)
    await chat.send("Events")
    await chat.send("https://coop.example/new")
    return await _skip_photo(chat, await chat.send("A summary"))


async def _skip_photo(chat: Chatter, asked: list[SentMessage]) -> list[SentMessage]:
    """The last step, the picture: Skip (the preview follows)."""
    [ask_photo] = asked
    assert ask_photo.html == texts.ADD_ASK_PHOTO
    return await _press(chat, ask_photo, texts.BUTTON_SKIP)


async def test_guided_add_with_an_existing_category_and_every_skip(harness: Harness) -> None:
    admin = harness.admin()
    await admin.send("/add Events | First | https://coop.example/1")
    assert (await admin.reply("/add")).html == texts.ADD_ASK_TITLE
    ask_category = await admin.reply("  Co-ops   grow  ")
    assert ask_category.html == texts.ADD_ASK_CATEGORY
    assert [b["text"] for b in ask_category.buttons] == ["Events"]
    [ask_link] = await _press(admin, ask_category, "Events")
    assert ask_link.html == texts.ADD_ASK_LINK
    assert harness.emu.bot_message(ADMIN_ID, ask_category.message_id).buttons == []
    [ask_summary] = await _press(admin, ask_link, texts.BUTTON_SKIP)
    assert ask_summary.html == texts.ADD_ASK_SUMMARY
    [ask_photo] = await _press(admin, ask_summary, texts.BUTTON_SKIP)
    assert ask_photo.html == texts.ADD_ASK_PHOTO
    intro, preview = await _press(admin, ask_photo, texts.BUTTON_SKIP)
    assert intro.html == PREVIEW_INTRO
    assert preview.html == _card("Co-ops grow", "Events")
    assert [b["text"] for b in preview.buttons] == [
        texts.BUTTON_PUBLISH,
        texts.BUTTON_SCHEDULE,
        texts.BUTTON_EDIT,
        texts.BUTTON_ITEM_LANGUAGE,
        texts.BUTTON_CANCEL,
    ]
    [done] = await _press(admin, preview, texts.BUTTON_PUBLISH)
    assert done.html == texts.ADD_PUBLISHED.format(id=2)
    assert harness.emu.bot_message(ADMIN_ID, preview.message_id).buttons == []

    item = await _services(harness).news.get_item(2)
    assert (item.title, item.category, item.url, item.summary, item.source) == (
        "Co-ops grow",
        "Events",
        None,
        None,
        f"admin:{ADMIN_ID}",
    )
    assert [(c.name, c.item_count) for c in await _services(harness).news.categories()] == [
        ("Events", 2)
    ]
    # the preview's button, pressed again, publishes nothing
    await _expired(admin, preview, "v1:add:pub")
    assert await _services(harness).news.count_items() == 2
    audit = await _services(harness).audit.recent()
    assert [(a.action, a.item_id) for a in audit] == [("publish", 2), ("publish", 1)]


async def test_guided_add_with_a_new_category_then_editing_every_field(harness: Harness) -> None:
    admin = harness.admin()
    await admin.send("/add Events | First | https://coop.example/1")
    await admin.send("/add")
    await admin.send("Title one")
    assert (await admin.reply("fresh   Topic")).html == texts.ADD_ASK_LINK
    assert (await admin.reply("https://coop.example/a")).html == texts.ADD_ASK_SUMMARY
    intro, preview = await _skip_photo(admin, await admin.send("Summary one"))
    assert preview.html == _card(
        "Title one", "fresh Topic", "https://coop.example/a", "Summary one"
    )

    async def edit(label: str) -> SentMessage:
        [which] = await _press(admin, preview, texts.BUTTON_EDIT)
        assert which.html == texts.ADD_EDIT_WHICH
        assert [b["text"] for b in which.buttons] == [
            "Title",
            "Category",
            "Link",
            "Summary",
            "Picture",
            texts.BUTTON_CANCEL,
        ]
        [ask] = await _press(admin, which, label)
        return ask

    ask = await edit("Title")
    assert ask.html == texts.ADD_ASK_NEW["title"]
    intro, preview = await admin.send("Title two")
    assert intro.html == PREVIEW_INTRO
    assert preview.html == _card(
        "Title two", "fresh Topic", "https://coop.example/a", "Summary one"
    )

    ask = await edit("Category")
    assert ask.html == texts.ADD_ASK_NEW["category"]
    _, preview = await _press(admin, ask, "Events")
    assert preview.html == _card("Title two", "Events", "https://coop.example/a", "Summary one")

    ask = await edit("Category")
    _, preview = await admin.send("EVENTS")  # an existing category, in its own spelling
    assert preview.html == _card("Title two", "Events", "https://coop.example/a", "Summary one")

    ask = await edit("Link")
    assert ask.html == texts.ADD_ASK_NEW["url"]
    _, preview = await admin.send("https://coop.example/b")
    assert preview.html == _card("Title two", "Events", "https://coop.example/b", "Summary one")

    ask = await edit("Summary")
    assert ask.html == texts.ADD_ASK_NEW["summary"]
    _, preview = await admin.send("Summary <two> & more")
    expected = _card("Title two", "Events", "https://coop.example/b", "Summary <two> & more")
    assert preview.html == expected

    ask = await edit("Link")
    _, preview = await _press(admin, ask, texts.BUTTON_SKIP)
    assert preview.html == _card("Title two", "Events", None, "Summary <two> & more")

    ask = await edit("Summary")
    _, preview = await _press(admin, ask, texts.BUTTON_SKIP)
    assert preview.html == _card("Title two", "Events")

    [done] = await _press(admin, preview, texts.BUTTON_PUBLISH)
    assert done.html == texts.ADD_PUBLISHED.format(id=2)
    item = await _services(harness).news.get_item(2)
    assert (item.title, item.category, item.url, item.summary) == (
        "Title two",
        "Events",
        None,
        None,
    )


async def test_cancel_leaves_the_flow_at_every_step(harness: Harness) -> None:
    admin = harness.admin()
    answers = ["A title", "Events", "https://coop.example/new", "A summary"]
    for steps in range(len(answers) + 1):
        await admin.send("/add")
        for answer in answers[:steps]:
            await admin.send(answer)
        assert (await admin.reply("/cancel")).html == texts.ADD_CANCELLED
        # after /cancel, plain text is plain text again
        assert (await admin.reply("Hello")).html == texts.PLAIN_TEXT_HINT
    assert (await admin.reply("/cancel")).html == texts.CANCEL_NOTHING

    # the Cancel button under the preview, and under "what do you want to change?"
    _, preview = await _to_preview(admin)
    assert [m.html for m in await _press(admin, preview, texts.BUTTON_CANCEL)] == [
        texts.ADD_CANCELLED
    ]
    await _expired(admin, preview, "v1:add:pub")
    _, preview = await _to_preview(admin)
    [which] = await _press(admin, preview, texts.BUTTON_EDIT)
    assert [m.html for m in await _press(admin, which, texts.BUTTON_CANCEL)] == [
        texts.ADD_CANCELLED
    ]
    # while waiting for a new value, and while waiting for the date of a schedule
    _, preview = await _to_preview(admin)
    [which] = await _press(admin, preview, texts.BUTTON_EDIT)
    await _press(admin, which, "Title")
    assert (await admin.reply("/cancel")).html == texts.ADD_CANCELLED
    _, preview = await _to_preview(admin)
    await _press(admin, preview, texts.BUTTON_SCHEDULE)
    assert (await admin.reply("/cancel")).html == texts.ADD_CANCELLED

    assert await _services(harness).news.count_items() == 0
    assert await _services(harness).scheduling.pending() == []


async def test_every_validation_case_in_the_guided_flow_asks_again(harness: Harness) -> None:
    admin = harness.admin()
    await admin.send("/add Events | First | https://coop.example/taken")
    await admin.send("/add")
    assert (await admin.reply("   ")).html == _again("empty_title")
    assert (await admin.reply("t" * 257)).html == _again("title_too_long", length=257, max=256)
    assert (await admin.reply("t" * 256)).html == texts.ADD_ASK_CATEGORY
    assert (await admin.reply("c" * 65)).html == _again("category_too_long", length=65, max=64)
    assert (await admin.reply(" \n ")).html == _again("empty_category")
    assert (await admin.reply("c" * 64)).html == texts.ADD_ASK_LINK
    for bad in ("ftp://coop.example/x", "not a link", "https://", "https://coop .example"):
        assert (await admin.reply(bad)).html == _again("bad_url"), bad
    long_url = "https://coop.example/" + "a" * 2030
    assert (await admin.reply(long_url)).html == _again(
        "url_too_long", length=len(long_url), max=2048
    )
    taken = await admin.reply("https://coop.example/taken")
    assert taken.html == texts.ADD_LINK_TAKEN.format(id=1)
    assert (await admin.reply("https://coop.example/fine")).html == texts.ADD_ASK_SUMMARY
    assert (await admin.reply("s" * 1001)).html == _again("summary_too_long", length=1001, max=1000)
    _, preview = await _skip_photo(admin, await admin.send("s" * 1000))
    assert preview.html == _card("t" * 256, "c" * 64, "https://coop.example/fine", "s" * 1000)
    assert (await admin.reply("what now?")).html == texts.ADD_USE_BUTTONS
    # the category keyboard of an earlier step no longer works
    await _expired(admin, preview, "v1:add:cat:1")
    await _expired(admin, preview, "v1:add:skip")
    await _expired(admin, preview, "v2:add:pub")
    [done] = await _press(admin, preview, texts.BUTTON_PUBLISH)
    assert done.html == texts.ADD_PUBLISHED_NEW_CATEGORY.format(id=2, category="c" * 64)


async def test_a_link_published_meanwhile_sends_the_flow_back_to_the_link(
    harness: Harness,
) -> None:
    admin = harness.admin()
    _, preview = await _to_preview(admin)
    await admin.send("/add Events | Faster | https://coop.example/new")
    [taken] = await _press(admin, preview, texts.BUTTON_PUBLISH)
    assert taken.html == texts.ADD_LINK_TAKEN.format(id=1)
    _, preview = await admin.send("https://coop.example/other")
    assert preview.html == _card("A title", "Events", "https://coop.example/other", "A summary")
    [done] = await _press(admin, preview, texts.BUTTON_PUBLISH)
    assert done.html == texts.ADD_PUBLISHED.format(id=2)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (" News | Title", _add_problem(problem=texts.PROBLEMS["missing_parts"])),
        (
            " | Title | https://coop.example/x",
            _add_problem(problem=texts.PROBLEMS["empty_category"]),
        ),
        (
            " News |  | https://coop.example/x",
            _add_problem(problem=texts.PROBLEMS["empty_title"]),
        ),
        (" News | Title | ", _add_problem(problem=texts.PROBLEMS["bad_url"])),
        (
            " News | Title | mailto:a@b.org",
            _add_problem(problem=texts.PROBLEMS["bad_url"]),
        ),
        (
            " News | " + "t" * 257 + " | https://coop.example/x",
            _add_problem(problem=texts.PROBLEMS["title_too_long"].format(length=257, max=256)),
        ),
    ],
)
async def test_one_line_add_problems(harness: Harness, line: str, expected: str) -> None:
    reply = await harness.admin().reply("/add" + line)
    assert reply.html == expected
    assert await _services(harness).news.count_items() == 0


async def test_one_line_add_still_publishes_and_refuses_duplicates(harness: Harness) -> None:
    admin = harness.admin()
    intro, _card_message = await admin.send("/add News | One | https://coop.example/1 | a | b")
    assert intro.html == texts.ADD_DONE_NEW_CATEGORY.format(id=1, category="News")
    item = await _services(harness).news.get_item(1)
    assert (item.title, item.summary) == ("One", "a | b")
    duplicate = await admin.reply("/add News | Two | https://coop.example/1")
    assert duplicate.html.startswith(texts.ADD_DUPLICATE.format(id=1))
    # "/add" with arguments during a guided flow is the one-liner; the flow goes on after
    await admin.send("/add")
    await admin.send("/add News | Three | https://coop.example/3")
    assert (await admin.reply("Flow title")).html == texts.ADD_ASK_CATEGORY
    assert await _services(harness).news.count_items() == 2


async def test_the_flow_survives_a_restart_or_says_it_expired(database_url: str) -> None:
    async with bot_harness(database_url) as first:
        admin = first.admin()
        await admin.send("/add")
        assert (await admin.reply("Across a restart")).html == texts.ADD_ASK_CATEGORY_NONE
    async with bot_harness(database_url) as second:
        admin = second.admin()
        assert (await admin.reply("Events")).html == texts.ADD_ASK_LINK
        assert (await admin.reply("https://coop.example/r")).html == texts.ADD_ASK_SUMMARY
        # left alone for more than a day (the draft's clock moves on)
        _services(second).drafts.now = lambda: utcnow() + timedelta(hours=25)
        assert (await admin.reply("Late summary")).html == texts.DRAFT_EXPIRED.format(hours=24)
        assert (await admin.reply("Late summary")).html == texts.PLAIN_TEXT_HINT
        assert await _services(second).news.count_items() == 0


# -- scheduling --------------------------------------------------------------------------------


class Clock:
    """The scheduling service's clock, set by the test; counts how often it was read."""

    def __init__(self, now: datetime) -> None:
        self.value = now
        self.reads = 0

    def __call__(self) -> datetime:
        self.reads += 1
        return self.value


@pytest.fixture
async def rome(database_url: str) -> AsyncIterator[tuple[Harness, Clock]]:
    async with bot_harness(
        database_url, timezone="Europe/Rome", schedule_poll_seconds=0.05
    ) as harness:
        clock = Clock(datetime(2030, 1, 10, 12, 0, tzinfo=UTC))  # 13:00 in Rome
        _services(harness).scheduling.now = clock
        yield harness, clock


def _when_problem(problem: str, **details: object) -> str:
    return texts.ADD_ASK_AGAIN.format(problem=texts.WHEN_PROBLEMS[problem].format(**details))


async def test_schedule_publishes_at_the_given_local_time(rome: tuple[Harness, Clock]) -> None:
    harness, clock = rome
    reader = harness.private()
    await reader.send("/subscribe all")
    admin = harness.admin()
    await admin.send("/add")
    await admin.send("Later")
    await admin.send("Events")
    await admin.send("https://coop.example/later")
    _, preview = await _skip_photo(admin, await admin.send("Soon"))
    [ask] = await _press(admin, preview, texts.BUTTON_SCHEDULE)
    assert ask.html == texts.ADD_ASK_WHEN.format(tz="Europe/Rome", example="2030-01-11 09:00")
    assert (await admin.reply("tomorrow")).html == _when_problem("format")
    assert (await admin.reply("2030-02-30 10:00")).html == _when_problem("no_such_date")
    assert (await admin.reply("2030-01-10 13:00")).html == _when_problem(
        "past", tz="Europe/Rome", now="2030-01-10 13:00"
    )
    # Rome's clocks skip from 02:00 to 03:00 on 31 March 2030
    assert (await admin.reply("2030-03-31 02:30")).html == _when_problem(
        "no_such_time", tz="Europe/Rome"
    )
    done = await admin.reply("2030-01-10 14:30")
    assert done.html == (
        texts.ADD_SCHEDULED.format(when="2030-01-10 14:30", tz="Europe/Rome")
        + "\n"
        + texts.SCHEDULED_VERSIONS_HINT.format(ref="s1")
    )
    [pending] = await _services(harness).scheduling.pending()
    assert pending.publish_at == datetime(2030, 1, 10, 13, 30, tzinfo=UTC)
    assert (pending.draft.title, pending.draft.url) == ("Later", "https://coop.example/later")

    # the job reads the clock once per run, before it publishes: two more reads mean at
    # least one whole run saw the item not yet due
    reads = clock.reads
    await harness.emu.wait_for(lambda: clock.reads >= reads + 2, timeout=30)
    assert await _services(harness).news.count_items() == 0
    assert [p.id for p in await _services(harness).scheduling.pending()] == [pending.id]
    clock.value = datetime(2030, 1, 10, 13, 30, tzinfo=UTC)
    out = texts.SCHEDULED_PUBLISHED.format(id=1)
    await harness.emu.wait_for(
        lambda: any((m.html or "").startswith(out) for m in harness.emu.messages(ADMIN_ID)), 5
    )
    item = await _services(harness).news.get_item(1)
    assert texts.SCHEDULED_PUBLISHED.format(id=1) + "\n\n" + item_card(item, ROME) in [
        m.html for m in harness.emu.messages(ADMIN_ID)
    ]
    assert (item.title, item.category, item.summary) == ("Later", "Events", "Soon")
    delivered = await harness.emu.wait_for_messages(reader.chat_id, 2)
    assert delivered[-1].html == delivered_item(item, ROME)
    assert await _services(harness).scheduling.pending() == []
    audit = await _services(harness).audit.recent()
    assert [(a.action, a.item_id) for a in audit] == [("publish_scheduled", 1), ("schedule", None)]


async def test_a_scheduled_link_published_meanwhile_is_reported(
    rome: tuple[Harness, Clock],
) -> None:
    harness, clock = rome
    admin = harness.admin()
    _, preview = await _to_preview(admin, "Twice")
    await _press(admin, preview, texts.BUTTON_SCHEDULE)
    await admin.send("2030-01-10 14:00")
    await admin.send("/add Events | Faster | https://coop.example/new")
    clock.value = datetime(2030, 1, 10, 13, 0, tzinfo=UTC)
    failed = texts.SCHEDULED_FAILED.format(
        title="Twice", problem=texts.PROBLEM_DUPLICATE.format(id=1)
    )
    await harness.emu.wait_for(
        lambda: failed in [m.html for m in harness.emu.messages(ADMIN_ID)], timeout=5
    )
    assert await _services(harness).news.count_items() == 1
    assert await _services(harness).scheduling.pending() == []


async def test_an_item_that_came_due_while_the_bot_was_down_goes_out_at_start(
    database_url: str,
) -> None:
    real = utcnow()
    async with bot_harness(database_url) as first:
        _services(first).scheduling.now = lambda: real - timedelta(hours=2)
        admin = first.admin()
        _, preview = await _to_preview(admin, "While down")
        await _press(admin, preview, texts.BUTTON_SCHEDULE)
        when = (real - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
        reply = await admin.reply(when)
        assert reply.html.startswith(texts.ADD_SCHEDULED.format(when=when, tz="UTC") + "\n")
        assert await _services(first).news.count_items() == 0
    async with bot_harness(database_url) as second:
        services = _services(second)
        # the start-up catch-up publishes it, then tells the admin who scheduled it (this
        # new emulator has never seen the admin's chat, so the call is made and refused)
        out = texts.SCHEDULED_PUBLISHED.format(id=1)
        await second.emu.wait_for(
            lambda: any(
                call.method == "sendMessage" and str(call.params.get("text", "")).startswith(out)
                for call in second.emu.calls
            ),
            timeout=30,
        )
        item = await services.news.get_item(1)
        assert (item.title, item.url) == ("While down", "https://coop.example/new")
        assert await services.scheduling.pending() == []
