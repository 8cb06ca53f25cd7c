"""The emulator's inline mode: inline_query updates, answerInlineQuery's limits and errors,
and chosen results posted "via" the bot, driven through python-telegram-bot itself."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultCachedPhoto,
    InlineQueryResultPhoto,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    ChosenInlineResultHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from emulator import ApiError, BotApiEmulator
from tests.test_emulator import running_app

TOKEN = "123456:TEST-TOKEN"
USER = 42
GROUP = -1001234567890

pytestmark = pytest.mark.asyncio
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN, bot_username="CoopNewsBot") as emulator:
        yield emulator


@pytest_asyncio.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emu.base_url) as client:
        client._emu = emu  # type: ignore[attr-defined]
        yield client


def article(result_id: str, text: str = "<b>Hello</b> world", **kwargs: object):
    return InlineQueryResultArticle(
        result_id,
        title=f"Title {result_id}",
        input_message_content=InputTextMessageContent(text, parse_mode=ParseMode.HTML),
        **kwargs,
    )


async def refused(bot: Bot, query_id: str, results: list, **kwargs: object) -> str:
    """Telegram's description of the refusal (PTB's exception message recases it)."""
    with pytest.raises(BadRequest) as caught:
        await bot.answer_inline_query(query_id, results, **kwargs)
    emu: BotApiEmulator = bot._emu  # type: ignore[attr-defined]
    description = emu.inline_errors[query_id].removeprefix("Bad Request: ")
    assert caught.value.message.casefold() == description.casefold()
    return description


async def test_get_me_reports_inline_mode(bot: Bot, emu: BotApiEmulator) -> None:
    assert (await bot.get_me()).supports_inline_queries is True
    emu.inline_mode = False
    assert (await bot.get_me()).supports_inline_queries is False
    with pytest.raises(RuntimeError):
        emu.send_inline_query("x", user_id=USER)


async def test_query_round_trip_through_an_application(emu: BotApiEmulator) -> None:
    seen: list[Update] = []

    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(update)
        query = update.inline_query
        await query.answer(
            [
                article("1"),
                article(
                    "2",
                    reply_markup=InlineKeyboardMarkup.from_button(
                        InlineKeyboardButton("Open", url="https://t.me/CoopNewsBot?start=item_2")
                    ),
                ),
            ],
            next_offset="page-2",
            cache_time=30,
            is_personal=True,
            button=InlineQueryResultsButton("Open the bot", start_parameter="inline"),
        )

    async with running_app(emu, InlineQueryHandler(answer)):
        result = await emu.inline_query(
            "housing", user_id=USER, offset="", chat_type="supergroup", language_code="fr"
        )
    [update] = seen
    query = update.inline_query
    assert (query.query, query.offset, query.chat_type) == ("housing", "", "supergroup")
    assert query.from_user.id == USER and query.from_user.language_code == "fr"
    assert result.ids == ["1", "2"] and result.next_offset == "page-2"
    assert (result.cache_time, result.is_personal) == (30, True)
    assert result.button == {"text": "Open the bot", "start_parameter": "inline"}
    first = result.result("1")
    assert first.title == "Title 1" and first.text == "Hello world"
    assert first.entities == [{"type": "bold", "offset": 0, "length": 5}]
    assert result.result("2").buttons[0]["url"].endswith("start=item_2")
    assert (result.query, result.offset) == ("housing", "")


async def test_fifty_results_and_a_64_byte_offset_are_the_limits(
    bot: Bot, emu: BotApiEmulator
) -> None:
    query_id = emu.send_inline_query("", user_id=USER)
    results = [article(str(n)) for n in range(51)]
    assert await refused(bot, query_id, results) == "RESULTS_TOO_MUCH"
    assert await refused(bot, query_id, results[:50], next_offset="x" * 65) == (
        "NEXT_OFFSET_INVALID"
    )
    # bytes, not characters: 33 two-byte letters are 66 bytes
    assert await refused(bot, query_id, results[:1], next_offset="é" * 33) == (
        "NEXT_OFFSET_INVALID"
    )
    assert emu.inline_errors[query_id] == "Bad Request: NEXT_OFFSET_INVALID"
    assert await bot.answer_inline_query(query_id, results[:50], next_offset="y" * 64)
    assert len(emu.inline_answers[query_id].results) == 50
    assert emu.inline_answers[query_id].next_offset == "y" * 64


async def test_result_ids_are_unique_and_1_to_64_bytes(bot: Bot, emu: BotApiEmulator) -> None:
    query_id = emu.send_inline_query("", user_id=USER)
    assert await refused(bot, query_id, [article("a"), article("a")]) == "RESULT_ID_DUPLICATE"
    assert await refused(bot, query_id, [article("x" * 65)]) == "RESULT_ID_INVALID"
    assert await refused(bot, query_id, [article("")]) == "RESULT_ID_INVALID"
    assert await bot.answer_inline_query(query_id, [article("x" * 64)])


async def test_unknown_answered_and_late_queries_are_too_old(bot: Bot, emu: BotApiEmulator) -> None:
    too_old = "query is too old and response timeout expired or query ID is invalid"
    assert await refused(bot, "123", []) == too_old
    query_id = emu.send_inline_query("", user_id=USER)
    assert await bot.answer_inline_query(query_id, [])
    assert await refused(bot, query_id, []) == too_old  # a query is answered once
    emu.inline_query_timeout = 0.0  # any answer now comes too late
    late = emu.send_inline_query("late", user_id=USER)
    assert await refused(bot, late, []) == too_old
    assert late not in emu.inline_answers


async def test_the_button_needs_text_and_a_valid_start_parameter(
    bot: Bot, emu: BotApiEmulator
) -> None:
    query_id = emu.send_inline_query("", user_id=USER)
    for parameter, error in (
        ("has space", "START_PARAM_INVALID"),
        ("x" * 65, "START_PARAM_INVALID"),
        ("item.1", "START_PARAM_INVALID"),
        ("", "START_PARAM_EMPTY"),
    ):
        button = InlineQueryResultsButton("Open", start_parameter=parameter)
        assert await refused(bot, query_id, [], button=button) == error, parameter
    button = InlineQueryResultsButton("  ", start_parameter="ok")
    assert await refused(bot, query_id, [], button=button) == "BUTTON_TEXT_INVALID"
    button = InlineQueryResultsButton("Open", start_parameter="A-z_0" + "9" * 59)
    assert await bot.answer_inline_query(query_id, [], button=button)
    assert emu.inline_answers[query_id].button["start_parameter"].startswith("A-z_0")


async def test_article_content_is_checked_like_a_message(bot: Bot, emu: BotApiEmulator) -> None:
    query_id = emu.send_inline_query("", user_id=USER)
    message = await refused(bot, query_id, [article("1", "<b>unclosed")])
    assert message.startswith("can't parse entities")
    assert await refused(bot, query_id, [article("1", "x" * 4097)]) == "message is too long"
    untitled = InlineQueryResultArticle("1", " ", InputTextMessageContent("text"))
    assert await refused(bot, query_id, [untitled]) == "RESULT_TITLE_EMPTY"
    bad_url = article(
        "1",
        reply_markup=InlineKeyboardMarkup.from_button(InlineKeyboardButton("x", url="nowhere")),
    )
    assert await refused(bot, query_id, [bad_url]) == "BUTTON_URL_INVALID"
    preview = LinkPreviewOptions(
        url="https://ilo.example/photo.jpg", prefer_large_media=True, show_above_text=True
    )
    with_preview = InlineQueryResultArticle(
        "1",
        "Title",
        InputTextMessageContent("<i>story</i>", parse_mode="HTML", link_preview_options=preview),
        description="28 Nov 2024 · Housing",
    )
    assert await bot.answer_inline_query(query_id, [with_preview])
    [accepted] = emu.inline_answers[query_id].results
    assert accepted.description == "28 Nov 2024 · Housing"
    assert accepted.link_preview_options == {
        "url": "https://ilo.example/photo.jpg",
        "prefer_large_media": True,
        "show_above_text": True,
    }


async def test_photo_results_by_url_and_by_file_id(bot: Bot, emu: BotApiEmulator) -> None:
    query_id = emu.send_inline_query("", user_id=USER)
    no_thumb = {"type": "photo", "id": "p", "photo_url": "https://ilo.example/a.jpg"}
    with pytest.raises(BadRequest, match=r"(?i)PHOTO_THUMB_URL_INVALID"):
        await bot._post(  # PTB itself would not build it: the raw request
            "answerInlineQuery", {"inline_query_id": query_id, "results": [no_thumb]}
        )
    long_caption = InlineQueryResultPhoto(
        "p", "https://ilo.example/a.jpg", "https://ilo.example/t.jpg", caption="c" * 1025
    )
    assert await refused(bot, query_id, [long_caption]) == "MEDIA_CAPTION_TOO_LONG"
    photos = [
        InlineQueryResultPhoto(
            "p",
            "https://ilo.example/a.jpg",
            "https://ilo.example/t.jpg",
            caption="<b>A</b>",
            parse_mode="HTML",
        ),
        InlineQueryResultCachedPhoto("c", "AgACAgIAAxkBAAIB"),
    ]
    assert await bot.answer_inline_query(query_id, photos)
    by_url, cached = emu.inline_answers[query_id].results
    assert (by_url.type, by_url.text) == ("photo", "A")
    assert cached.raw["photo_file_id"] == "AgACAgIAAxkBAAIB"
    post = emu.choose_inline_result(emu.inline_answers[query_id], "c", chat_id=GROUP)
    posted = emu.message_dict(GROUP, post.message_id)
    assert posted["photo"][0]["file_id"] == "AgACAgIAAxkBAAIB" and "text" not in posted
    bad_type = {"type": "hologram", "id": "h"}
    other = emu.send_inline_query("other", user_id=USER)
    with pytest.raises(BadRequest, match=r"(?i)RESULT_TYPE_INVALID"):
        await bot._post("answerInlineQuery", {"inline_query_id": other, "results": [bad_type]})


async def test_an_answer_the_bot_never_sends_times_out_and_a_refusal_is_raised(
    emu: BotApiEmulator,
) -> None:
    async def too_many(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.inline_query.answer([article(str(n)) for n in range(51)])

    async with running_app(emu, InlineQueryHandler(too_many)):
        with pytest.raises(ApiError, match="RESULTS_TOO_MUCH"):
            await emu.inline_query("", user_id=USER)
    with pytest.raises(TimeoutError):
        await emu.inline_query("", user_id=USER, timeout=0.05)


async def test_choosing_a_result_posts_it_via_the_bot_with_feedback_when_on(
    emu: BotApiEmulator,
) -> None:
    messages: list[Update] = []
    chosen: list[Update] = []

    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        markup = InlineKeyboardMarkup.from_button(
            InlineKeyboardButton("Open", url="https://t.me/CoopNewsBot?start=item_7")
        )
        await update.inline_query.answer(
            [article("item-7", "<b>Story</b> 7", reply_markup=markup), article("plain")]
        )

    async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        messages.append(update)

    async def on_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chosen.append(update)

    emu.register_chat(GROUP, "supergroup", "Co-op Hub")  # the bot is a member there
    async with running_app(
        emu,
        InlineQueryHandler(answer),
        MessageHandler(filters.ALL, on_message),
        ChosenInlineResultHandler(on_chosen),
    ):
        result = await emu.inline_query("story", user_id=USER)
        updates = emu.last_update_id
        post = emu.choose_inline_result(result, "item-7", chat_id=GROUP)
        await emu.wait_for(lambda: messages, description="the via-bot message")
        assert post.text == "Story 7" and post.html == "<b>Story</b> 7"
        assert post.buttons == [{"text": "Open", "url": "https://t.me/CoopNewsBot?start=item_7"}]
        assert post.user_id == USER and post.inline_message_id
        [update] = messages
        assert update.message.via_bot.username == "CoopNewsBot"
        assert update.message.from_user.id == USER and update.message.text == "Story 7"
        assert update.message.reply_markup.inline_keyboard[0][0].url.endswith("item_7")
        # feedback is off, as BotFather starts it: the via-bot message was the only update
        assert emu.last_update_id == updates + 1
        assert chosen == []

        emu.inline_feedback = True
        again = await emu.inline_query("story", user_id=USER)
        emu.choose_inline_result(again, "plain", chat_id=-100999)  # the bot is not there
        await emu.wait_for(lambda: chosen, description="chosen_inline_result")
        [feedback] = chosen
        assert feedback.chosen_inline_result.result_id == "plain"
        assert feedback.chosen_inline_result.query == "story"
        assert feedback.chosen_inline_result.inline_message_id is None  # no keyboard
        assert len(messages) == 1
    assert [p.chat_id for p in emu.inline_posts] == [GROUP, -100999]


async def test_answers_are_cached_for_cache_time_per_user_when_personal(
    bot: Bot, emu: BotApiEmulator
) -> None:
    shared = emu.send_inline_query("news", user_id=USER)
    await bot.answer_inline_query(shared, [article("1")], cache_time=30)
    updates = emu.last_update_id
    other = emu.send_inline_query("news", user_id=USER + 1)  # anyone gets a shared answer
    assert emu.last_update_id == updates  # the bot never heard of it
    assert emu.inline_answers[other].from_cache and emu.inline_answers[other].ids == ["1"]
    assert await refused(bot, other, [article("2")]) == QUERY_TOO_OLD
    # another offset, or another text, is another query
    emu.send_inline_query("news", user_id=USER, offset="10:x")
    emu.send_inline_query("new", user_id=USER)
    assert emu.last_update_id == updates + 2

    personal = emu.send_inline_query("mine", user_id=USER)
    await bot.answer_inline_query(personal, [article("1")], cache_time=30, is_personal=True)
    again = emu.send_inline_query("mine", user_id=USER)
    assert emu.inline_answers[again].from_cache
    updates = emu.last_update_id
    emu.send_inline_query("mine", user_id=USER + 1)  # not this user's answer
    assert emu.last_update_id == updates + 1

    fresh = emu.send_inline_query("fresh", user_id=USER)
    await bot.answer_inline_query(fresh, [article("1")], cache_time=0)
    updates = emu.last_update_id
    emu.send_inline_query("fresh", user_id=USER)
    assert emu.last_update_id == updates + 1  # cache_time 0: every query reaches the bot
    emu.inline_cache = False
    emu.send_inline_query("news", user_id=USER + 1)
    assert emu.last_update_id == updates + 2
