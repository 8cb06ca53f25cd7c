"""Items with pictures, end to end through the emulator and the real database: sent as photos
(Telegram fetches the image once, its file_id serves every other chat), long items as text
with a large preview, edits of captions and pictures, deletion, and the broken-picture
fallback (text, and the admin told once)."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC

import pytest
from sqlalchemy import insert, select

from bot import i18n, texts
from bot.db.base import utcnow
from bot.db.models import Delivery, Item
from bot.delivery.content import CAPTION_MAX
from bot.render import delivered_item, send_item, share_query, visible_length
from bot.services.validation import ItemDraft
from bot.services.views import ItemView
from emulator import HostedFile, make_png
from emulator.models import SentMessage
from testbed.delivery_kit import (
    FAST,
    add_subscribers,
    delivery_harness,
    drain,
    engine,
    register_chats,
    services,
    sessions,
)
from testbed.harness import ADMIN_ID, Harness
from testbed.image_server import ImageServer, serving_images

CHATS = 12
PREVIEW = {"is_disabled": False, "prefer_large_media": True, "show_above_text": True}
_links = itertools.count(1)


@pytest.fixture
async def images() -> AsyncIterator[ImageServer]:
    async with serving_images() as server:
        yield server


async def _publish(
    harness: Harness,
    *,
    image_url: str | None = None,
    image_file_id: str | None = None,
    title: str = "Housing co-ops <&> the city",
    summary: str = "Tenants buy their building together.",
    source: str = f"admin:{ADMIN_ID}",
    category: str = "Housing",
) -> ItemView:
    published = await services(harness).news.publish(
        ItemDraft(
            category,
            title,
            f"https://example.org/{next(_links)}",
            summary,
            image_url=image_url,
            image_file_id=image_file_id,
        ),
        source=source,
    )
    return published.item


async def _chats(harness: Harness, first: int, count: int = CHATS) -> list[int]:
    chats = list(range(first, first + count))
    register_chats(harness.emu, chats)
    await add_subscribers(sessions(harness), chats)
    return chats


async def _item_row(harness: Harness, item_id: int) -> Item:
    async with sessions(harness)() as session:
        item = await session.get(Item, item_id)
        assert item is not None
        return item


async def _photo_flags(harness: Harness, item_id: int) -> Counter[tuple[str, bool]]:
    async with sessions(harness)() as session:
        rows = await session.execute(
            select(Delivery.status, Delivery.photo).where(Delivery.item_id == item_id)
        )
        return Counter((status, bool(photo)) for status, photo in rows)


def _only(harness: Harness, chat_id: int) -> SentMessage:
    messages = harness.emu.messages(chat_id)
    assert len(messages) == 1, [m.body for m in messages]
    return messages[0]


def _calls(harness: Harness, method: str) -> list[dict]:
    return [c.params for c in harness.emu.calls if c.method == method and c.status == 200]


def _share(message: SentMessage) -> str:
    [button] = message.buttons
    assert button["text"] == texts.SHARE_BUTTON
    return button["switch_inline_query"]


async def test_a_photo_item_is_fetched_once_and_its_file_id_serves_every_chat(
    database_url: str, images: ImageServer
) -> None:
    # a loaded machine can hold one send past FAST's half-second timeout, and a timed-out send
    # is sent again: exactly-once counts below are about pictures, not about that
    options = replace(FAST, concurrency=8, send_timeout=10.0)
    async with delivery_harness(database_url, options) as harness:
        url = images.serve("coop.png", make_png(1200, 800))
        chats = await _chats(harness, 710_001, 40)
        item = await _publish(harness, image_url=url)
        await drain(harness)

        assert images.requests["coop.png"] == 1  # one fetch for 40 chats
        assert harness.emu.files.downloads[url] == 1 and harness.emu.files.uploads == 0
        caption = delivered_item(item, UTC)
        sent = [_only(harness, chat) for chat in chats]
        assert all(m.is_photo and m.html == caption for m in sent)
        assert all(_share(m) == share_query(item) == item.title for m in sent)
        assert len({m.file_unique_id for m in sent}) == 1
        row = await _item_row(harness, item.id)
        assert row.image_file_id == sent[0].file_id
        assert row.image_error is None and row.revision == 1  # learning it is no edit
        by_url = [p for p in _calls(harness, "sendPhoto") if p["photo"] == url]
        by_id = [p for p in _calls(harness, "sendPhoto") if p["photo"] == row.image_file_id]
        assert (len(by_url), len(by_id)) == (1, len(chats) - 1)
        assert not _calls(harness, "sendMessage")
        assert await _photo_flags(harness, item.id) == {("sent", True): len(chats)}
        assert engine(harness).stats.photos == len(chats)

        # subscribers who join later get the stored file_id: nothing fetched again
        late = await _chats(harness, 720_001, 3)
        again = await _publish(harness, image_url=url, title="Second story")
        await drain(harness)
        assert all(_only(harness, chat).is_photo for chat in late)
        assert images.requests["coop.png"] == 2  # a new item: its own first fetch
        assert (await _item_row(harness, again.id)).image_file_id is not None


async def test_a_photo_an_admin_sent_goes_by_its_file_id(database_url: str) -> None:
    async with delivery_harness(database_url) as harness:
        admin = harness.admin()
        await admin.send_photo(width=900, height=600)  # whatever the bot answers, it has it
        file_id = admin.last_sent["photo"][-1]["file_id"]
        chats = await _chats(harness, 730_001, 5)
        item = await _publish(harness, image_file_id=file_id)
        await drain(harness)
        sent = [_only(harness, chat) for chat in chats]
        assert all(m.is_photo and m.file_id == file_id for m in sent)
        assert all(m.html == delivered_item(item, UTC) for m in sent)
        assert harness.emu.files.fetches == 0


async def test_an_item_too_long_for_a_caption_goes_as_text_with_a_large_preview(
    database_url: str, images: ImageServer
) -> None:
    async with delivery_harness(database_url) as harness:
        url = images.serve("wide.png", make_png(1600, 900))
        chats = await _chats(harness, 740_001, 4)
        # emoji count twice in Telegram's UTF-16 count: this passes 1,024 as pushed
        item = await _publish(
            harness, image_url=url, title="🏠" * 256, summary="🌍" * 300, category="🏘" * 60
        )
        text = delivered_item(item, UTC)
        assert visible_length(text) > CAPTION_MAX
        await drain(harness)
        for chat in chats:
            message = _only(harness, chat)
            assert not message.is_photo and message.html == text
            assert message.link_preview_options == {"url": url, **PREVIEW}
            assert _share(message) == share_query(item)
        assert images.requests["wide.png"] == 0  # a preview: the bot hands over the link only
        assert await _photo_flags(harness, item.id) == {("sent", False): len(chats)}

        # known only by its file_id, there is no link to preview: a photo, shortened caption
        photo = await harness.emu.files.from_url(images.serve("p.png"))
        short = await _publish(
            harness,
            image_file_id=photo.largest["file_id"],
            title="Long " + "🏠" * 250,
            summary="🌍" * 300,
            category="🏘" * 60,
        )
        await drain(harness)
        for chat in chats:
            message = harness.emu.messages(chat)[-1]
            assert message.is_photo and message.file_id == photo.largest["file_id"]
            assert len(message.caption.encode("utf-16-le")) // 2 <= CAPTION_MAX
            assert "🌍" not in message.caption  # the summary went; title, date, footer stay
            assert message.caption.startswith("Long")
        assert await _photo_flags(harness, short.id) == {("sent", True): len(chats)}


async def test_items_without_pictures_are_unchanged_text(database_url: str) -> None:
    async with delivery_harness(database_url) as harness:
        chats = await _chats(harness, 750_001, 3)
        item = await _publish(harness)
        await drain(harness)
        for chat in chats:
            message = _only(harness, chat)
            assert not message.is_photo and message.html == delivered_item(item, UTC)
            assert message.link_preview_options == {"is_disabled": True}
            assert _share(message) == item.title
        assert not _calls(harness, "sendPhoto")


async def test_edits_follow_captions_pictures_and_previews_then_deletion(
    database_url: str, images: ImageServer
) -> None:
    async with delivery_harness(database_url, schedule_poll_seconds=0.05) as harness:
        emu = harness.emu
        emu.register_chat(ADMIN_ID)
        first = images.serve("first.png", make_png(800, 600))
        second = images.serve("second.png", make_png(640, 640))
        chats = await _chats(harness, 760_001, 8)
        item = await _publish(harness, image_url=first)
        plain = await _publish(harness, title="No picture yet")
        await drain(harness)
        photos = {chat: [m for m in emu.messages(chat) if m.is_photo] for chat in chats}
        texts_sent = {chat: [m for m in emu.messages(chat) if not m.is_photo] for chat in chats}
        assert all(len(photos[c]) == len(texts_sent[c]) == 1 for c in chats)
        photos = {chat: sent[0] for chat, sent in photos.items()}
        texts_sent = {chat: sent[0] for chat, sent in texts_sent.items()}
        corrections = services(harness).corrections

        # the text only: captions are edited, the picture stays (nothing fetched)
        edited = await corrections.edit(ADMIN_ID, item.id, "title", "Renamed <co-op>")
        assert edited.messages == len(chats)
        engine(harness).corrected(item.id)
        await drain(harness)
        now = await services(harness).news.get_item(item.id)
        assert now is not None
        for message in photos.values():
            assert message.html == delivered_item(now, UTC) and message.edit_count == 1
            assert _share(message) == "Renamed <co-op>"  # the button stays, renamed
        assert len(_calls(harness, "editMessageCaption")) == len(chats)
        assert not _calls(harness, "editMessageMedia")
        assert images.requests["first.png"] == 1

        # a new picture: every photo gets it, and Telegram fetches it once
        changed = await corrections.set_image(
            item.id, image_url=second, image_file_id=None, actor_id=ADMIN_ID
        )
        assert changed.messages == len(chats) and changed.item.image_url == second
        engine(harness).corrected(item.id)
        await drain(harness)
        row = await _item_row(harness, item.id)
        assert row.revision == 3 and row.image_file_id is not None
        for message in photos.values():
            assert message.photo_url in (second, None)  # the first by URL, then by file_id
            assert message.file_id == row.image_file_id and message.edit_count == 2
            assert message.html == delivered_item(now, UTC)
        assert images.requests["second.png"] == 1
        assert len(_calls(harness, "editMessageMedia")) == len(chats)

        # a text message whose item gains a picture gets a large preview of it
        await corrections.set_image(plain.id, image_url=first, image_file_id=None, actor_id=1)
        engine(harness).corrected(plain.id)
        await drain(harness)
        for message in texts_sent.values():
            assert not message.is_photo and message.edit_count == 1
            assert message.link_preview_options == {"url": first, **PREVIEW}

        # deletion: photos and texts go alike
        for target in (item, plain):
            await corrections.delete(ADMIN_ID, target.id)
            engine(harness).corrected(target.id)
        await drain(harness)
        assert all(emu.messages(chat) == [] for chat in chats)


@pytest.mark.parametrize("broken", ["missing", "not an image type", "wrong file id", "garbage"])
async def test_a_broken_picture_goes_out_as_text_and_the_admin_is_told_once(
    database_url: str, images: ImageServer, broken: str
) -> None:
    # a loaded machine can hold one send past FAST's half-second timeout, and a timed-out send
    # is sent again: exactly-once counts below are about pictures, not about that
    options = replace(FAST, concurrency=8, send_timeout=10.0)
    async with delivery_harness(database_url, options, schedule_poll_seconds=0.05) as harness:
        emu = harness.emu
        publisher = 4242  # told about their own item
        emu.register_chat(publisher)
        emu.register_chat(ADMIN_ID)
        url, file_id = None, None
        if broken == "missing":
            url = images.url("gone.png")
        elif broken == "not an image type":
            url = images.serve("page.html", b"<html>a page</html>", content_type="text/html")
        elif broken == "garbage":
            url = images.serve("garbage.png", b"\x00 not a picture" * 100)
        else:
            file_id = "AgACAgIAAxkBAAIBrokenFileIdThatTelegramNeverGave"
        chats = await _chats(harness, 770_001, 30)
        item = await _publish(
            harness, image_url=url, image_file_id=file_id, source=f"admin:{publisher}"
        )
        await drain(harness)

        text = delivered_item(item, UTC)
        for chat in chats:
            message = _only(harness, chat)
            assert not message.is_photo and message.html == text
            assert message.link_preview_options == {"is_disabled": True}
        assert await _photo_flags(harness, item.id) == {("sent", False): len(chats)}
        if url is not None:
            assert emu.files.downloads[url] == 1  # refused once: the rest went straight to text
        to_readers = [p for p in _calls(harness, "sendMessage") if int(p["chat_id"]) in chats]
        assert len(to_readers) == len(chats)
        row = await _item_row(harness, item.id)
        assert row.image_error is not None

        refused = f"#{item.id} could not be sent"
        delivered = f"#{item.id} delivered"  # the broadcast report: later reports ran too
        await emu.wait_for(
            lambda: (
                {refused, delivered}
                <= {
                    part
                    for m in emu.messages(publisher)
                    for part in (refused, delivered)
                    if part in m.body
                }
            ),
            10,
            "the publisher told of the refused picture and of the broadcast",
        )
        report = [m for m in emu.messages(publisher) if refused in m.body]
        assert len(report) == 1
        assert item.title in report[0].body
        # reported once: no later run reports it again, and the owners were not bothered
        assert await services(harness).reports.take_refused_pictures() == []
        assert not [m for m in emu.messages(ADMIN_ID) if "could not be sent" in m.body]
        # refused once in this process too: every other chat went straight to text
        assert engine(harness).pictures.refusals == 1


async def test_a_feed_item_with_a_broken_picture_is_reported_to_the_owners(
    database_url: str,
) -> None:
    async with delivery_harness(database_url, schedule_poll_seconds=0.05) as harness:
        emu = harness.emu
        emu.register_chat(ADMIN_ID)
        url = "https://images.example.org/feed.jpg"
        emu.files.hosted[url] = HostedFile(b"", status=404)
        chats = await _chats(harness, 780_001, 5)
        item = await _publish(harness, image_url=url, source="feed:1")
        await drain(harness)
        assert all(not _only(harness, chat).is_photo for chat in chats)
        report = await emu.wait_for(
            lambda: [m for m in emu.messages(ADMIN_ID) if f"#{item.id}" in m.body],
            10,
            "the owner told of the refused picture",
        )
        assert len(report) == 1
        assert emu.files.downloads[url] == 1

        # a new picture is tried again, and works
        emu.files.hosted["https://images.example.org/fixed.jpg"] = HostedFile(make_png(300, 200))
        await services(harness).corrections.set_image(
            item.id,
            image_url="https://images.example.org/fixed.jpg",
            image_file_id=None,
            actor_id=ADMIN_ID,
        )
        row = await _item_row(harness, item.id)
        assert row.image_error is None and row.image_error_reported_at is None


async def test_429s_and_server_errors_lose_no_photo_and_fetch_once(
    database_url: str, images: ImageServer
) -> None:
    options = replace(FAST, concurrency=8, max_attempts=10, backoff_seconds=0.02)
    async with delivery_harness(database_url, options) as harness:
        emu = harness.emu
        url = images.serve("busy.png")
        chats = await _chats(harness, 790_001, 25)
        # a strict emulator (5 a second overall) and no pacing in the bot: a storm of 429s
        emu.enforce_limits = True
        emu.limits.global_limit = 5
        emu.faults.server_error(count=2, status=502)  # the first sends fail, before any fetch
        emu.faults.timeout(chats[3], count=1, seconds=1.0, delivered=False)
        item = await _publish(harness, image_url=url)
        await drain(harness, timeout=60)
        assert all(_only(harness, chat).is_photo for chat in chats)
        assert await _photo_flags(harness, item.id) == {("sent", True): len(chats)}
        refused = [c for c in emu.calls if c.method == "sendPhoto" and c.status == 429]
        assert refused and engine(harness).stats.flood_waits == len(refused)
        assert images.requests["busy.png"] == 1


async def test_a_process_that_did_not_send_the_picture_reuses_the_stored_file_id(
    database_url: str, images: ImageServer
) -> None:
    async with delivery_harness(database_url) as harness:
        url = images.serve("shared.png", make_png(500, 400))
        await _chats(harness, 810_001, 3)
        item = await _publish(harness, image_url=url)
        await drain(harness)
        stored = (await _item_row(harness, item.id)).image_file_id
        assert stored is not None and images.requests["shared.png"] == 1

        # as another process (or this one after a restart): only the database knows the file_id
        engine(harness).pictures.forget(item.id)
        late = await _chats(harness, 811_001, 3)
        async with sessions(harness).begin() as session:
            await session.execute(
                insert(Delivery),
                [{"item_id": item.id, "chat_id": chat, "created_at": utcnow()} for chat in late],
            )
        engine(harness).wake()
        await drain(harness)
        assert all(_only(harness, chat).file_id == stored for chat in late)
        assert images.requests["shared.png"] == 1
        assert [p["photo"] for p in _calls(harness, "sendPhoto")][-3:] == [stored] * 3


async def test_a_single_item_view_sends_the_picture_the_same_way(
    database_url: str, images: ImageServer
) -> None:
    async with delivery_harness(database_url) as harness:
        reader = 820_001
        harness.emu.register_chat(reader)
        bot = harness.application.bot
        url = images.serve("one.png", make_png(640, 480))
        short = await _publish(harness, image_url=url, title="Fits a caption")
        long = await _publish(
            harness, image_url=url, title="🏠" * 256, summary="🌍" * 300, category="🏘" * 60
        )
        broken = await _publish(harness, image_url=images.url("nothing-here.png"), title="Gone")
        plain = await _publish(harness, title="No picture")
        french = i18n.translator("fr")
        for item in (short, long, broken, plain):
            await send_item(bot, reader, item, UTC, french)
        photo, preview, fallback, text = harness.emu.messages(reader)
        assert photo.is_photo and photo.html == delivered_item(short, UTC, french)
        assert _share_label(photo) == "↗️ Partager"
        assert not preview.is_photo and preview.link_preview_options == {"url": url, **PREVIEW}
        assert not fallback.is_photo and fallback.html == delivered_item(broken, UTC, french)
        assert not text.is_photo and text.link_preview_options == {"is_disabled": True}


def _share_label(message: SentMessage) -> str:
    [button] = message.buttons
    return button["text"]
