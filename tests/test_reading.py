"""/start, /help, /latest and /category end to end: Telegram update in, Bot API calls out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot import texts
from bot.db.engine import create_session_factory
from bot.db.models import Item
from bot.services.news import NewsService
from bot.services.seed import seed
from bot.services.validation import ItemDraft
from testbed.delivery_kit import drain
from testbed.harness import ADMIN_ID, BOT_USERNAME, GROUP_ID, Harness

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _news(harness: Harness) -> NewsService:
    return harness.application.bot_data["services"].news


async def _seed(harness: Harness) -> None:
    services = harness.application.bot_data["services"]
    await seed(services.news, services.categories)


async def _publish(harness: Harness, count: int, category: str = "News") -> None:
    news = _news(harness)
    for n in range(count):
        await news.publish(
            ItemDraft(category, f"Story {n}", f"https://coop.example/{category}/{n}", None),
            source="test",
            published_at=T0 + timedelta(days=n),
            broadcast=False,
        )


async def test_start_welcomes_by_name_and_the_menu_is_registered(harness: Harness) -> None:
    reply = await harness.private(first_name="Grace <3").reply("/start")
    assert "Welcome to Co-op News Bot, Grace <3!" in reply.text
    assert "/latest" in reply.text and "/category" in reply.text
    menu = [c["command"] for c in harness.emu.my_commands()]
    assert menu == [c.name for c in texts.COMMANDS if not c.admin_only]
    assert {"latest", "category", "help", "start"} <= set(menu) and "add" not in menu


async def test_help_lists_every_public_command_and_admin_commands_for_admins(
    harness: Harness,
) -> None:
    reader_help = await harness.private().reply("/help")
    for command in ("/latest", "/category", "/help", "/start"):
        assert command in reader_help.text
    assert "/add" not in reader_help.text
    admin_help = await harness.admin().reply("/help")
    assert "/add" in admin_help.text and "For editors" in admin_help.text


async def test_latest_shows_newest_first_with_a_more_button(harness: Harness) -> None:
    await _publish(harness, 8)
    chat = harness.private()
    reply = await chat.reply("/latest 3")
    titles = [line for line in reply.text.splitlines() if line.startswith("Story")]
    assert titles == ["Story 7", "Story 6", "Story 5"]
    links = [e["url"] for e in reply.entities if e["type"] == "text_link"]
    assert links == [f"https://coop.example/News/{n}" for n in (7, 6, 5)]
    assert any(e["type"] == "bold" for e in reply.entities)
    assert "8 Jan 2024 · News" in reply.text

    older, answers = await chat.press(reply, "More")
    assert len(older) == 1 and len(answers) == 1
    assert [line for line in older[0].text.splitlines() if line.startswith("Story")] == [
        "Story 4",
        "Story 3",
        "Story 2",
    ]
    # the first message lost its button: the page below continues it
    assert harness.emu.messages(chat.chat_id)[0].reply_markup in (None, [])
    last, _ = await chat.press(older[0], "More")
    assert [line for line in last[0].text.splitlines() if line.startswith("Story")] == [
        "Story 1",
        "Story 0",
    ]
    assert not last[0].buttons


async def test_latest_defaults_to_five_and_caps_at_twenty(harness: Harness) -> None:
    await _publish(harness, 25)
    chat = harness.private()
    default = await chat.reply("/latest")
    assert default.text.count("Story") == 5
    capped = await chat.reply("/latest 100000")
    assert capped.text.count("Story") == 20
    assert "at most 20" in capped.text


async def test_latest_bad_numbers_get_a_hint_and_nothing_else(harness: Harness) -> None:
    await _publish(harness, 2)
    chat = harness.private()
    for bad in ("/latest abc", "/latest 0", "/latest -3", "/latest 2.5", "/latest ５"):
        reply = await chat.reply(bad)
        assert "number of items from 1 to 20" in reply.text, bad
        assert "Story" not in reply.text


async def test_latest_on_an_empty_store(harness: Harness) -> None:
    reply = await harness.private().reply("/latest")
    assert reply.text == "There is no news yet. Admins can publish with /add."


def _titles_shown(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.endswith("T" * 250))


async def test_long_items_are_split_over_pages_within_telegram_limits(harness: Harness) -> None:
    news = _news(harness)
    for n in range(20):
        await news.publish(
            ItemDraft("News", f"{n:02d} " + "T" * 250, f"https://e.org/{n}", "S" * 1000),
            source="test",
            published_at=T0 + timedelta(minutes=n),
            broadcast=False,
        )
    chat = harness.private()
    first = await chat.reply("/latest 20")  # the emulator refuses anything over 4096
    shown = _titles_shown(first.text)
    assert 1 <= shown < 20
    assert first.buttons, "a More button continues where the message had to stop"
    seen = shown
    message = first
    while message.buttons:
        replies, _ = await chat.press(message, "More")
        message = replies[0]
        seen += _titles_shown(message.text)
    assert seen == 20


async def test_category_keyboard_counts_and_tap(harness: Harness) -> None:
    await _seed(harness)
    chat = harness.private()
    picker = await chat.reply("/category")
    labels = [b["text"] for b in picker.buttons]
    assert "News (6)" in labels and "Decent work (1)" in labels and len(labels) == 5
    shown, answers = await chat.press(picker, "Decent work")
    assert len(answers) == 1 and answers[0].get("text") in (None, "")
    assert "How decent work can transform cotton production" in shown[0].text
    assert shown[0].text.startswith("🗂 Decent work · 1 item")


async def test_category_by_name_prefix_and_case(harness: Harness) -> None:
    await _seed(harness)
    chat = harness.private()
    reply = await chat.reply("/category decent")
    assert "How decent work can transform cotton production" in reply.text
    reply = await chat.reply("/category OUR IMPACT, THEIR VOICES")
    assert "Free from debt and bonded labour" in reply.text


async def test_category_unknown_empty_huge_and_emoji_names(harness: Harness) -> None:
    await _seed(harness)
    chat = harness.private()
    unknown = await chat.reply("/category housing")
    assert "I don't know a category called “housing”" in unknown.text
    assert len(unknown.buttons) == 5
    emoji = await chat.reply("/category 🌾🤝")
    assert "“🌾🤝”" in emoji.text and len(emoji.buttons) == 5
    huge = await chat.reply("/category " + "x" * 500)
    assert "too long" in huge.text and not huge.buttons
    empty = await chat.reply("/category")
    assert empty.text.startswith("🗂 Choose a category")


async def test_category_names_with_markup_are_escaped(harness: Harness) -> None:
    chat = harness.private()
    reply = await chat.reply("/category <b>&amp")
    assert reply.text.startswith("There are no categories yet")
    await _publish(harness, 1, category="Fair & <Square>")
    reply = await chat.reply("/category <script>")
    assert "“<script>”" in reply.text
    assert [b["text"] for b in reply.buttons] == ["Fair & <Square> (1)"]


async def test_titles_with_markup_are_shown_as_text(harness: Harness) -> None:
    await _news(harness).publish(
        ItemDraft("News", "<script>alert(1)</script> & co-ops", "https://e.org/?a=1&b=<2>", None),
        source="test",
    )
    reply = await harness.private().reply("/latest")
    assert "<script>alert(1)</script> & co-ops" in reply.text
    link = next(e for e in reply.entities if e["type"] == "text_link")
    assert link["url"] == "https://e.org/?a=1&b=<2>"


async def test_forged_and_stale_buttons_have_expired(harness: Harness) -> None:
    await _publish(harness, 3)
    chat = harness.private()
    reply = await chat.reply("/latest 1")
    for data in ("v0:more:a:1:0:1", "v1:more:a:99:0:1", "v1:cat:999", "v1:cat:x", "hello", "v1"):
        replies, answers = await chat.press(reply, data=data)
        assert replies == [], data
        assert (
            answers[0]["text"]
            == "This button has expired. Send the command again for fresh results."
        )


async def test_group_commands_with_and_without_the_bot_name(harness: Harness) -> None:
    await _publish(harness, 2)
    member = harness.in_group(user_id=4242)
    reply = await member.reply(f"/latest@{BOT_USERNAME} 1")
    assert "Story 1" in reply.text and "Story 0" not in reply.text
    assert "Story 1" in (await member.reply("/latest")).text
    # an unknown command addressed to someone else is not ours to answer
    assert await member.send("/weather@OtherBot") == []
    assert "I don't know that command" in (await member.reply(f"/weather@{BOT_USERNAME}")).text
    assert await member.send("good morning everyone") == []
    assert harness.emu.messages(GROUP_ID)[0].text.startswith("📰 Latest co-op news")


async def test_plain_text_and_unknown_commands_get_a_hint(harness: Harness) -> None:
    chat = harness.private()
    assert "/help" in (await chat.reply("hello there")).text
    assert "I don't know that command" in (await chat.reply("/frobnicate")).text


async def test_an_edited_message_does_not_run_the_command_again(harness: Harness) -> None:
    admin = harness.admin()
    replies = await admin.send("/add News | First | https://e.org/1")
    assert "Published as #1" in replies[0].text
    sent = admin.last_sent
    before = len(harness.emu.messages(ADMIN_ID))
    harness.emu.edit_user_message(
        ADMIN_ID, sent["message_id"], "/add News | Second | https://e.org/2", ADMIN_ID
    )
    await harness.settle()
    after = harness.emu.messages(ADMIN_ID)[before:]
    assert [m.text for m in after] == ["I only read new messages. Please send the command again."]
    services = harness.application.bot_data["services"]
    assert await services.news.count_items() == 1


async def test_every_chat_is_remembered(harness: Harness) -> None:
    await harness.private(user_id=777).reply("/start")
    await harness.in_group(user_id=778).reply("/start")
    services = harness.application.bot_data["services"]
    assert await services.chats.is_active(777)
    assert await services.chats.is_active(GROUP_ID)


async def test_item_count_query_stays_in_sql(harness: Harness) -> None:
    # guards the one-line count used by /category: it must match the real rows
    await _publish(harness, 4, category="A")
    await _publish(harness, 2, category="B")
    services = harness.application.bot_data["services"]
    categories = {c.name: c.item_count for c in await services.news.categories()}
    engine = harness.application.bot_data["services"].runtime.database
    async with engine.connect() as connection:
        total = await connection.scalar(select(func.count()).select_from(Item))
    assert categories == {"A": 4, "B": 2} and total == 6


async def test_category_pages_continue_within_the_category(harness: Harness) -> None:
    await _publish(harness, 7, category="Housing")
    await _publish(harness, 3, category="Finance")
    chat = harness.private()
    picker = await chat.reply("/category")
    first, _ = await chat.press(picker, "Housing (7)")
    assert first[0].text.startswith("🗂 Housing · 7 items")
    assert first[0].text.count("Story") == 5
    older, _ = await chat.press(first[0], "More")
    assert older[0].text.startswith("🗂 Housing · older items")
    assert [line for line in older[0].text.splitlines() if line.startswith("Story")] == [
        "Story 1",
        "Story 0",
    ]
    assert "Finance" not in older[0].text
    # the last page: no More button, only a Share button per item (tests/test_inline.py)
    assert all("switch_inline_query" in b for b in older[0].buttons)


async def test_items_published_by_another_process_show_once_fanned_out(harness: Harness) -> None:
    await _publish(harness, 1)
    chat = harness.private()
    assert "Story 0" in (await chat.reply("/latest")).text  # now cached
    engine = harness.application.bot_data["services"].runtime.database
    other_process = NewsService(create_session_factory(engine))
    await other_process.publish(
        ItemDraft("News", "From the CLI", "https://cli.example/1", None), source="import"
    )
    services = harness.application.bot_data["services"]
    services.delivery.wake()  # what its DELIVERY_POLL_SECONDS job does
    await drain(harness)  # fanned out (to nobody): that clears the listing cache
    assert "From the CLI" in (await chat.reply("/latest")).text
