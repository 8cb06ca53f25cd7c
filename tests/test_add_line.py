"""The one-line /add from admins, end to end: what is stored, what readers see, refusals."""

from __future__ import annotations

import pytest

from bot import texts
from testbed.harness import ADMIN_ID, Harness


def _count(harness: Harness):
    return harness.application.bot_data["services"].news.count_items()


async def test_admin_publishes_and_sees_the_item_as_readers_will(harness: Harness) -> None:
    replies = await harness.admin().send(
        "/add Decent work | Cotton & <decent> jobs | https://ilo.org/cotton | Brazil shares."
    )
    assert len(replies) == 2
    assert replies[0].text.startswith("✅ Published as #1 in the new category Decent work")
    card = replies[1]
    assert card.text.splitlines()[0] == "Cotton & <decent> jobs"
    assert "· Decent work" in card.text and card.text.endswith("Brazil shares.")
    assert any(
        e["type"] == "text_link" and e["url"] == "https://ilo.org/cotton" for e in card.entities
    )
    latest = await harness.private().reply("/latest")
    assert "Cotton & <decent> jobs" in latest.text


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("/add News | Only a title", "at least a category, a title and a link"),
        ("/add News |  | https://a.org", "the title is empty"),
        ("/add  | Title | https://a.org", "the category is empty"),
        (
            "/add News | " + "t" * 257 + " | https://a.org",
            "the title is 257 characters long; the limit is 256",
        ),
        (
            "/add News | T | https://a.org | " + "s" * 1001,
            "the summary is 1001 characters long; the limit is 1000",
        ),
        ("/add News | T | ftp://a.org", "must be a full web address"),
        ("/add News | T | not a link", "must be a full web address"),
        (
            "/add " + "c" * 65 + " | T | https://a.org",
            "the category name is 65 characters long; the limit is 64",
        ),
    ],
)
async def test_bad_lines_name_the_problem_and_store_nothing(
    harness: Harness, line: str, problem: str
) -> None:
    reply = await harness.admin().reply(line)
    assert reply.text.startswith("⚠️ Nothing was published:")
    assert problem in reply.text
    assert await _count(harness) == 0
    assert await harness.application.bot_data["services"].news.categories() == []


async def test_without_arguments_the_guided_flow_asks_for_the_title(harness: Harness) -> None:
    replies = await harness.admin().send("/add")
    assert [m.html for m in replies] == [texts.ADD_ASK_TITLE]
    assert await _count(harness) == 0


async def test_a_stored_link_is_refused_with_the_existing_item(harness: Harness) -> None:
    admin = harness.admin()
    await admin.send("/add News | First | https://ica.coop/a")
    reply = await admin.reply("/add Other | Second | https://ica.coop/a")
    assert "that link is already stored as #1" in reply.text
    assert "First" in reply.text
    assert await _count(harness) == 1


async def test_non_admins_get_one_polite_refusal(harness: Harness) -> None:
    reader = harness.private(user_id=ADMIN_ID + 1)
    reply = await reader.reply("/add News | Mine | https://evil.example/x")
    # a reader is told that editors publish, and how to suggest it
    assert reply.text.startswith("💡 Only the editors publish items, but you can suggest one")
    group = harness.in_group(user_id=ADMIN_ID + 2)
    assert (await group.reply("/add News | Mine | https://evil.example/y")).text == reply.text
    assert await _count(harness) == 0
