"""The Bot API emulator, driven through python-telegram-bot itself."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from emulator import BotApiEmulator, parse_html

TOKEN = "123456:TEST-TOKEN"
USER = 42
GROUP = -1001234567890


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN, bot_username="CoopNewsBot") as emulator:
        yield emulator


@pytest_asyncio.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    emu.register_chat(USER, "private", first_name="Ada")
    async with Bot(TOKEN, base_url=emu.base_url) as client:
        yield client


@contextlib.asynccontextmanager
async def running_app(emu: BotApiEmulator, *handlers: BaseHandler) -> AsyncIterator[Application]:
    app = Application.builder().token(TOKEN).base_url(emu.base_url).build()
    for handler in handlers:
        app.add_handler(handler)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(update.effective_message.text or "", do_quote=True)


# -- basics --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_get_me(bot: Bot, emu: BotApiEmulator) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "CoopNewsBot", True)
    assert me.first_name == "Co-op News Bot"
    assert emu.base_url == f"http://127.0.0.1:{emu.port}/bot"


@pytest.mark.asyncio
async def test_echo_round_trip(emu: BotApiEmulator) -> None:
    async with running_app(emu, MessageHandler(filters.TEXT, echo)):
        sent = emu.send_message("hello <there>", user_id=USER, first_name="Ada")
        [reply] = await emu.wait_for_messages(USER, 1)
        await emu.wait_idle(quiet=0.05)
    assert reply.text == "hello <there>"
    assert reply.reply_to_message_id == sent["message_id"]
    assert reply.message_id > sent["message_id"]
    update_id = max(emu.update_handed_out_at)
    assert emu.update_handed_out_at[update_id] <= reply.received_at


@pytest.mark.asyncio
async def test_command_handler_private_and_group(emu: BotApiEmulator) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, "started")

    async with running_app(emu, CommandHandler("start", start)):
        emu.send_message("/start", user_id=USER)
        emu.send_message("/start@OtherBot", chat_id=GROUP, user_id=USER, chat_type="supergroup")
        emu.send_message("/start@CoopNewsBot", chat_id=GROUP, user_id=USER, chat_type="supergroup")
        await emu.wait_for_messages(USER, 1)
        await emu.wait_for_messages(GROUP, 1)
        await emu.wait_idle(quiet=0.05)
    assert [m.text for m in emu.messages(GROUP)] == ["started"]


async def _polling(emu: BotApiEmulator, polls: int = 1) -> None:
    """Wait until the emulator holds the `polls`-th long poll (it counts each one it takes)."""
    await emu.wait_for(lambda: emu._poll_generation >= polls, description="a long poll")


@pytest.mark.asyncio
async def test_long_poll_wakes_immediately_and_offset_acknowledges(
    bot: Bot, emu: BotApiEmulator
) -> None:
    # a poll far longer than the test may last: only the wake-up can end it in time
    poll = asyncio.create_task(bot.get_updates(timeout=3600, read_timeout=3700))
    await _polling(emu)
    emu.send_message("ping", user_id=USER)
    async with asyncio.timeout(30):  # a guard against a hang, not a speed limit
        [update] = await poll
    assert update.message is not None and update.message.text == "ping"
    assert await bot.get_updates(timeout=0) != []  # not acknowledged yet
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
    assert emu.pending_updates == 0


@pytest.mark.asyncio
async def test_second_poller_conflicts_the_first(bot: Bot, emu: BotApiEmulator) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=3))
    await _polling(emu)
    async with Bot(TOKEN, base_url=emu.base_url) as second_instance:
        await second_instance.get_updates(timeout=0)
    with pytest.raises(Conflict):
        await first


@pytest.mark.asyncio
async def test_bad_token(emu: BotApiEmulator) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=emu.base_url):
            pass
    assert emu.calls[-1].status == 401


@pytest.mark.asyncio
async def test_unknown_method(bot: Bot, emu: BotApiEmulator) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("fooBar")
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{emu.base_url}{TOKEN}/fooBar") as response,
    ):
        assert response.status == 404
        assert await response.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found",
        }


@pytest.mark.asyncio
async def test_accepts_query_string_form_and_json(bot: Bot, emu: BotApiEmulator) -> None:
    url = f"{emu.base_url}{TOKEN}/sendMessage"
    async with aiohttp.ClientSession() as session:
        for kwargs in (
            {"params": {"chat_id": str(USER), "text": "q"}},
            {"data": {"chat_id": str(USER), "text": "f"}},
            {"json": {"chat_id": USER, "text": "j"}},
        ):
            async with session.post(url, **kwargs) as response:
                body = await response.json()
                assert body["ok"] is True, body
    assert [m.text for m in emu.messages(USER)] == ["q", "f", "j"]


# -- text and markup validation ------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<script>alert(1)</script>", 'Unsupported start tag "script" at byte offset 0'),
        ("fish & chips", 'Character "&" must be escaped'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("<b", "Unclosed start tag at byte offset 0"),
    ],
)
async def test_html_errors(bot: Bot, html: str, reason: str) -> None:
    with pytest.raises(BadRequest, match="Can't parse entities") as info:
        await bot.send_message(USER, html, parse_mode=ParseMode.HTML)
    assert reason.lower() in info.value.message.lower()  # PTB re-capitalizes messages


@pytest.mark.asyncio
async def test_html_is_parsed_into_text_and_entities(bot: Bot, emu: BotApiEmulator) -> None:
    html = '😀 <b>bold</b> &amp; <a href="https://example.org/?a=1&amp;b=2">link</a>'
    message = await bot.send_message(USER, html, parse_mode=ParseMode.HTML)
    assert message.text == "😀 bold & link"
    bold, link = message.entities
    assert (bold.type, bold.offset, bold.length) == ("bold", 3, 4)
    assert (link.type, link.url, link.offset) == ("text_link", "https://example.org/?a=1&b=2", 10)
    [stored] = emu.messages(USER)
    assert stored.html == html and stored.parse_mode == "HTML"


def test_parse_html_details() -> None:
    assert parse_html('<pre><code class="language-py">x</code></pre>') == (
        "x",
        [{"type": "pre", "offset": 0, "length": 1, "language": "py"}],
    )
    assert parse_html("&#60;&#x3E;&quot;") == ('<>"', [])
    assert parse_html("<blockquote expandable>q</blockquote>")[1][0]["type"] == (
        "expandable_blockquote"
    )


@pytest.mark.asyncio
async def test_message_length(bot: Bot) -> None:
    await bot.send_message(USER, "a" * 4096)
    await bot.send_message(USER, f"<b>{'a' * 4096}</b>", parse_mode=ParseMode.HTML)
    await bot.send_message(USER, "😀" * 2048)  # 4096 UTF-16 code units
    for text in ("a" * 4097, "😀" * 2048 + "a"):
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(USER, text)
    for text in ("", "   "):
        with pytest.raises(BadRequest, match="Message text is empty"):
            await bot.send_message(USER, text)


@pytest.mark.asyncio
async def test_inline_keyboard_validation(bot: Bot, emu: BotApiEmulator) -> None:
    def keyboard(**button: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("x", **button)]])

    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(USER, "t", reply_markup=keyboard(callback_data="a" * 65))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(USER, "t", reply_markup=keyboard(callback_data="é" * 33))
    with pytest.raises(BadRequest, match="Button_url_invalid"):
        await bot.send_message(USER, "t", reply_markup=keyboard(url="not a url"))
    await bot.send_message(USER, "t", reply_markup=keyboard(callback_data="a" * 64))
    assert emu.messages(USER)[0].buttons == [{"text": "x", "callback_data": "a" * 64}]


@pytest.mark.asyncio
async def test_unknown_chat(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(777, "hi")


# -- editing, deleting, callbacks ----------------------------------------------------------


@pytest.mark.asyncio
async def test_edit_and_delete_rules(bot: Bot, emu: BotApiEmulator) -> None:
    message = await bot.send_message(USER, "one")
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("one", USER, message.message_id)
    edited = await bot.edit_message_text("<i>two</i>", USER, message.message_id, parse_mode="HTML")
    assert edited.text == "two" and edited.edit_date is not None
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", USER, 999)
    [stored] = emu.messages(USER)
    assert (stored.edit_count, stored.history) == (1, ["one"])

    emu.clock_offset = 49 * 3600
    with pytest.raises(BadRequest, match="Message can't be deleted for everyone"):
        await bot.delete_message(USER, message.message_id)
    emu.clock_offset = 0
    assert await bot.delete_message(USER, message.message_id)
    assert emu.messages(USER) == []
    assert emu.all_messages()[0].deleted
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(USER, message.message_id)


@pytest.mark.asyncio
async def test_press_button_and_answer(emu: BotApiEmulator) -> None:
    async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        await query.answer(f"got {query.data}", show_alert=True)
        await query.edit_message_text(f"pressed {query.data}")

    async with running_app(emu, CallbackQueryHandler(on_press)) as app:
        emu.register_chat(USER, "private")
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
        message = await app.bot.send_message(USER, "choose", reply_markup=markup)
        query_id = emu.press_button(USER, message.message_id, "forged:1", USER)
        await emu.wait_for(lambda: emu.messages(USER)[0].edited)
        with pytest.raises(BadRequest, match="Query is too old"):
            await app.bot.answer_callback_query(query_id)
    [answer] = emu.callback_answers
    assert answer["callback_query_id"] == query_id
    assert (answer["text"], answer["show_alert"]) == ("got forged:1", True)
    [stored] = emu.messages(USER)
    assert stored.text == "pressed forged:1" and stored.reply_markup is None


# -- chats, members, commands --------------------------------------------------------------


@pytest.mark.asyncio
async def test_members_and_commands(bot: Bot, emu: BotApiEmulator) -> None:
    emu.send_message("hi", chat_id=GROUP, user_id=USER, chat_type="supergroup")
    emu.set_member_status(GROUP, 7, "creator")
    emu.set_member_status(GROUP, 8, "administrator")
    assert (await bot.get_chat_member(GROUP, USER)).status == "member"
    assert (await bot.get_chat_member(GROUP, 8)).status == "administrator"
    admins = await bot.get_chat_administrators(GROUP)
    assert sorted(a.user.id for a in admins) == [7, 8]
    assert (await bot.get_chat(GROUP)).type == "supergroup"
    await bot.set_my_commands([("start", "Start"), ("news", "Latest news")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "news"]
    assert emu.my_commands()[1] == {"command": "news", "description": "Latest news"}


@pytest.mark.asyncio
async def test_user_blocks_bot_via_my_chat_member(emu: BotApiEmulator) -> None:
    seen: list[str] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.my_chat_member is not None
        seen.append(update.my_chat_member.new_chat_member.status)

    async with running_app(emu, ChatMemberHandler(record)) as app:
        emu.send_my_chat_member(USER, USER, "member", "kicked")
        await emu.wait_for(lambda: seen)
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await app.bot.send_message(USER, "still there?")
    assert seen == ["kicked"]


# -- limits and faults ---------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_rate_limits(bot: Bot, emu: BotApiEmulator) -> None:
    emu.enforce_limits = True
    await bot.send_message(USER, "1")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(USER, "2")
    assert info.value._retry_after.total_seconds() == 1
    emu.register_chat(GROUP, "supergroup", "Group")
    emu.limits.group_limit = 2
    await bot.send_message(GROUP, "a")
    await bot.send_message(GROUP, "b")
    with pytest.raises(RetryAfter):
        await bot.send_message(GROUP, "c")
    assert emu.stats.too_many_requests == 2
    assert emu.stats.sent_messages == 3


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("inject", "error", "text"),
    [
        ("block", Forbidden, "bot was blocked by the user"),
        ("deactivate", Forbidden, "user is deactivated"),
        ("kick", Forbidden, "bot was kicked from the group chat"),
        ("chat_not_found", BadRequest, "Chat not found"),
    ],
)
async def test_chat_faults(
    bot: Bot, emu: BotApiEmulator, inject: str, error: type[Exception], text: str
) -> None:
    getattr(emu.faults, inject)(USER)
    with pytest.raises(error, match=text):
        await bot.send_message(USER, "hi")
    emu.faults.unblock(USER)
    await bot.send_message(USER, "hi")


@pytest.mark.asyncio
async def test_migrated_group(bot: Bot, emu: BotApiEmulator) -> None:
    emu.register_chat(-555, "group", "Old group")
    new_id = emu.faults.migrate(-555)
    with pytest.raises(ChatMigrated) as info:
        await bot.send_message(-555, "hi")
    assert info.value.new_chat_id == new_id
    await bot.send_message(new_id, "hi")
    assert emu.messages(new_id)[0].text == "hi"


@pytest.mark.asyncio
async def test_transient_faults(bot: Bot, emu: BotApiEmulator) -> None:
    emu.faults.server_error(count=1)
    emu.faults.server_error(USER, count=1, status=502)
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(USER, "hi")
    await bot.send_message(USER, "ok")

    emu.faults.drop_connection(count=1)
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "dropped")

    emu.faults.timeout(count=1, seconds=2, delivered=True)
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "slow but sent", read_timeout=0.2)
    emu.faults.timeout(count=1, seconds=2, delivered=False)
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "lost", read_timeout=0.2)
    assert [m.text for m in emu.messages(USER)] == ["ok", "slow but sent"]

    emu.faults.latency(0.1)
    started = time.monotonic()
    await bot.send_message(USER, "late")
    assert time.monotonic() - started >= 0.1
    emu.faults.clear()


@pytest.mark.asyncio
async def test_probabilistic_faults_are_reproducible(bot: Bot, emu: BotApiEmulator) -> None:
    async def outcomes() -> list[bool]:
        emu.faults.clear()
        emu.faults.seed(7)
        emu.faults.server_error(probability=0.5)
        result = []
        for _ in range(12):
            try:
                await bot.send_message(USER, "x")
                result.append(True)
            except NetworkError:
                result.append(False)
        return result

    first = await outcomes()
    assert first == await outcomes()
    assert True in first and False in first


@pytest.mark.asyncio
async def test_wait_for_timeout_message(emu: BotApiEmulator) -> None:
    with pytest.raises(TimeoutError, match="bot message"):
        await emu.wait_for_messages(USER, 1, timeout=0.05)
