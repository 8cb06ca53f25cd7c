"""The emulator's photos, driven through python-telegram-bot: sendPhoto by URL, upload and
file_id, Telegram's errors, editMessageMedia / editMessageCaption, and photos users send."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from telegram import Bot, InputMediaPhoto, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import ContextTypes, MessageHandler, filters

from emulator import BotApiEmulator
from emulator.files import MAX_PHOTO_UPLOAD_BYTES, MAX_PHOTO_URL_BYTES, HostedFile, make_png
from testbed.image_server import ImageServer, serving_images
from tests.test_emulator import running_app

TOKEN = "123456:TEST-TOKEN"
USER = 42


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN, bot_username="CoopNewsBot") as emulator:
        yield emulator


@pytest_asyncio.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    emu.register_chat(USER, "private", first_name="Ada")
    async with Bot(TOKEN, base_url=emu.base_url) as client:
        yield client


@pytest_asyncio.fixture
async def images() -> AsyncIterator[ImageServer]:
    async with serving_images() as server:
        yield server


@pytest.mark.asyncio
async def test_send_photo_by_url_fetches_once_then_file_id(
    bot: Bot, emu: BotApiEmulator, images: ImageServer
) -> None:
    url = images.serve("coop.png", make_png(1600, 1200))
    message = await bot.send_photo(
        USER, url, caption="<b>Housing</b> co-ops &amp; more", parse_mode=ParseMode.HTML
    )
    assert message.caption == "Housing co-ops & more"
    assert message.caption_entities[0].type == "bold"
    sizes = message.photo
    assert len(sizes) >= 3  # thumbnails up to the original
    assert (sizes[-1].width, sizes[-1].height) == (1600, 1200)
    assert sizes[0].width < sizes[-1].width
    assert len({size.file_id for size in sizes}) == len(sizes)
    assert len({size.file_unique_id for size in sizes}) == len(sizes)
    assert all(size.file_size for size in sizes)
    assert images.requests["coop.png"] == 1
    assert emu.files.downloads[url] == 1

    file_id = sizes[-1].file_id
    again = await bot.send_photo(USER, file_id, caption="again")
    assert again.photo[-1].file_unique_id == sizes[-1].file_unique_id
    assert images.requests["coop.png"] == 1  # by file_id: nothing fetched
    assert emu.files.fetches == 1

    sent = emu.messages(USER)
    assert [m.is_photo for m in sent] == [True, True]
    assert sent[0].photo_url == url and sent[1].photo_url is None
    assert sent[0].caption == "Housing co-ops & more" and sent[0].text == ""
    assert sent[0].html == "<b>Housing</b> co-ops &amp; more"
    assert sent[1].file_id == file_id
    assert emu.stats.sent_photos == 2 and emu.stats.sent_messages == 2


@pytest.mark.asyncio
async def test_send_photo_by_upload(bot: Bot, emu: BotApiEmulator) -> None:
    message = await bot.send_photo(USER, make_png(300, 200), caption="uploaded")
    assert (message.photo[-1].width, message.photo[-1].height) == (300, 200)
    assert emu.files.uploads == 1 and not emu.files.downloads
    reused = await bot.send_photo(USER, message.photo[-1].file_id)
    assert reused.photo[-1].file_id == message.photo[-1].file_id
    assert emu.files.uploads == 1

    with pytest.raises(BadRequest, match="Photo_save_file_invalid"):
        await bot.send_photo(USER, make_png(64, 64, padding=MAX_PHOTO_UPLOAD_BYTES))
    with pytest.raises(BadRequest, match="Image_process_failed"):
        await bot.send_photo(USER, b"not an image at all")


@pytest.mark.asyncio
async def test_send_photo_errors(bot: Bot, emu: BotApiEmulator, images: ImageServer) -> None:
    with pytest.raises(BadRequest, match="Failed to get http url content"):
        await bot.send_photo(USER, images.url("missing.png"))
    assert emu.files.downloads[images.url("missing.png")] == 1
    page = images.serve("page.html", b"<html></html>", content_type="text/html")
    with pytest.raises(BadRequest, match="Wrong type of the web page content"):
        await bot.send_photo(USER, page)
    garbage = images.serve("garbage.png", b"\x00garbage" * 50)
    with pytest.raises(BadRequest, match="Image_process_failed"):
        await bot.send_photo(USER, garbage)
    huge = images.serve("huge.png", make_png(64, 64, padding=MAX_PHOTO_URL_BYTES))
    with pytest.raises(BadRequest, match="Failed to get http url content"):
        await bot.send_photo(USER, huge)
    with pytest.raises(BadRequest, match="Wrong file identifier/http url specified"):
        await bot.send_photo(USER, "AgACAgIAAxkBAAIBnotarealfileid")
    # no internet: anything but loopback fails, unless a test hosts it
    with pytest.raises(BadRequest, match="Failed to get http url content"):
        await bot.send_photo(USER, "https://images.example.org/a.jpg")
    emu.files.hosted["https://images.example.org/a.jpg"] = HostedFile(make_png(50, 40))
    message = await bot.send_photo(USER, "https://images.example.org/a.jpg")
    assert message.photo[-1].width == 50
    with pytest.raises(BadRequest, match="Photo_invalid_dimensions"):
        await bot.send_photo(USER, make_png(2000, 50))
    with pytest.raises(BadRequest, match="There is no photo in the request"):
        await bot.send_photo(USER, "")
    assert len(emu.messages(USER)) == 1


@pytest.mark.asyncio
async def test_caption_limit_counts_after_entity_parsing(
    bot: Bot, emu: BotApiEmulator, images: ImageServer
) -> None:
    url = images.serve("a.png")
    fits = "<b>" + "é" * 1024 + "</b>"  # 1,024 characters once the tags are gone
    message = await bot.send_photo(USER, url, caption=fits, parse_mode=ParseMode.HTML)
    assert len(message.caption) == 1024
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_photo(USER, url, caption="x" * 1025)
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.edit_message_caption(USER, message.message_id, caption="y" * 1025)
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_photo(USER, url, caption="<b>open", parse_mode=ParseMode.HTML)


@pytest.mark.asyncio
async def test_edit_caption_and_media(bot: Bot, emu: BotApiEmulator, images: ImageServer) -> None:
    first = images.serve("first.png", make_png(800, 600))
    second = images.serve("second.png", make_png(640, 640))
    photo = await bot.send_photo(USER, first, caption="old", parse_mode=ParseMode.HTML)
    text = await bot.send_message(USER, "a text message")

    with pytest.raises(BadRequest, match="There is no text in the message to edit"):
        await bot.edit_message_text("new", chat_id=USER, message_id=photo.message_id)
    with pytest.raises(BadRequest, match="There is no caption in the message to edit"):
        await bot.edit_message_caption(USER, text.message_id, caption="new")
    with pytest.raises(BadRequest, match="There is no media in the message to edit"):
        await bot.edit_message_media(
            InputMediaPhoto(second), chat_id=USER, message_id=text.message_id
        )

    await bot.edit_message_caption(
        USER, photo.message_id, caption="<i>new</i>", parse_mode=ParseMode.HTML
    )
    shown = emu.bot_message(USER, photo.message_id)
    assert shown is not None
    assert shown.caption == "new" and shown.caption_entities[0]["type"] == "italic"
    assert shown.edit_count == 1 and shown.history == ["old"]
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_caption(
            USER, photo.message_id, caption="<i>new</i>", parse_mode=ParseMode.HTML
        )

    edited = await bot.edit_message_media(
        InputMediaPhoto(second, caption="<b>moved</b>", parse_mode=ParseMode.HTML),
        chat_id=USER,
        message_id=photo.message_id,
    )
    assert edited.photo[-1].width == 640
    assert shown.caption == "moved" and shown.photo_url == second and shown.edit_count == 2
    assert images.requests["second.png"] == 1
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_media(
            InputMediaPhoto(shown.file_id, caption="<b>moved</b>", parse_mode=ParseMode.HTML),
            chat_id=USER,
            message_id=photo.message_id,
        )
    # by file_id and by upload too
    uploaded = await bot.edit_message_media(
        InputMediaPhoto(make_png(100, 100), caption="up"), chat_id=USER, message_id=photo.message_id
    )
    assert uploaded.photo[-1].width == 100 and emu.files.uploads == 1
    with pytest.raises(BadRequest, match="Wrong file identifier/http url specified"):
        await bot.edit_message_media(
            InputMediaPhoto("AgACnope"), chat_id=USER, message_id=photo.message_id
        )
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_caption(USER, 999, caption="x")
    await bot.delete_message(USER, photo.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_media(InputMediaPhoto(second), chat_id=USER, message_id=999)


@pytest.mark.asyncio
async def test_photos_share_the_rate_limits_and_faults(
    bot: Bot, emu: BotApiEmulator, images: ImageServer
) -> None:
    url = images.serve("a.png")
    emu.enforce_limits = True
    await bot.send_message(USER, "1")
    with pytest.raises(RetryAfter):
        await bot.send_photo(USER, url)
    assert images.requests["a.png"] == 0  # refused before fetching
    emu.enforce_limits = False

    emu.faults.server_error(count=1)
    with pytest.raises(NetworkError):
        await bot.send_photo(USER, url)
    photo = await bot.send_photo(USER, url)
    emu.faults.server_error(count=1)
    with pytest.raises(NetworkError):
        await bot.edit_message_caption(USER, photo.message_id, caption="x")
    emu.faults.block(USER)
    with pytest.raises(Exception, match="blocked"):
        await bot.send_photo(USER, url)


@pytest.mark.asyncio
async def test_concurrent_sends_by_url_each_fetch(
    bot: Bot, emu: BotApiEmulator, images: ImageServer
) -> None:
    url = images.serve("a.png")
    for chat in range(100, 105):
        emu.register_chat(chat, "private")
    await asyncio.gather(*(bot.send_photo(chat, url) for chat in range(100, 105)))
    assert emu.files.downloads[url] == 5 == images.requests["a.png"]
    ids = {emu.messages(chat)[0].file_unique_id for chat in range(100, 105)}
    assert len(ids) == 1  # the same bytes: the same file_unique_id


@pytest.mark.asyncio
async def test_user_sends_photo_and_bot_resends_it(emu: BotApiEmulator) -> None:
    seen: list[Update] = []

    async def echo_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(update)
        message = update.effective_message
        assert message is not None
        await message.reply_photo(message.photo[-1].file_id, caption=message.caption)

    async with running_app(emu, MessageHandler(filters.PHOTO, echo_photo)):
        sent = emu.send_photo(
            user_id=USER, caption="Category | Title", width=2000, height=1500, size_bytes=900_000
        )
        await emu.wait_for_messages(USER, 1)
    message = seen[0].effective_message
    assert message is not None and message.caption == "Category | Title"
    largest = message.photo[-1]
    assert (largest.width, largest.height, largest.file_size) == (2000, 1500, 900_000)
    assert largest.file_id == sent["photo"][-1]["file_id"]
    reply = emu.messages(USER)[0]
    assert reply.file_id == largest.file_id and reply.caption == "Category | Title"
    assert emu.files.fetches == 0


@pytest.mark.asyncio
async def test_a_new_link_preview_is_a_change_of_a_text_message(
    bot: Bot, emu: BotApiEmulator
) -> None:
    sent = await bot.send_message(
        USER, "news", link_preview_options=LinkPreviewOptions(is_disabled=True)
    )
    large = LinkPreviewOptions(
        url="https://images.example.org/a.jpg", prefer_large_media=True, show_above_text=True
    )
    await bot.edit_message_text(
        "news", chat_id=USER, message_id=sent.message_id, link_preview_options=large
    )
    shown = emu.bot_message(USER, sent.message_id)
    assert shown is not None and shown.link_preview_options == large.to_dict()
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "news", chat_id=USER, message_id=sent.message_id, link_preview_options=large
        )
