"""Items with pictures, the way in: the guided /add's picture step, a photo captioned with the
one-line /add, /edit changing or removing the picture, feeds (enclosure, media:content,
media:thumbnail), the import/export `image` column, and every bad input refused with a clear
reply and nothing published. End to end through the Bot API emulator and the real database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC

import pytest
from sqlalchemy import select

from bot import i18n, texts
from bot.cli import main
from bot.context import Services
from bot.db.base import utcnow
from bot.db.models import Correction, Item
from bot.feeds.parser import parse_feed
from bot.render import delivered_item
from bot.services.feeds import FeedService
from bot.services.transfer import TransferService
from bot.services.views import ItemView
from emulator.files import HostedFile, make_png
from emulator.models import SentMessage
from testbed.feed_server import FeedServer, serving_feeds
from testbed.harness import Chatter, Harness

MEDIA = 'xmlns:media="http://search.yahoo.com/mrss/"'


def _services(harness: Harness) -> Services:
    return harness.application.bot_data["services"]


async def _items(harness: Harness) -> list[Item]:
    async with _services(harness).news._sessions() as session:
        return list(await session.scalars(select(Item).order_by(Item.id)))


async def _press(chat: Chatter, message: SentMessage, label: str) -> list[SentMessage]:
    sent, answers = await chat.press(message, label)
    assert [a["text"] for a in answers] == [None], answers
    return sent


def _again(problem: str, **details: object) -> str:
    return texts.ADD_ASK_AGAIN.format(problem=texts.PROBLEMS[problem].format(**details))


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    async with serving_feeds() as server:
        yield server


def _rss(*items: str) -> bytes:
    body = "".join(items)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" {MEDIA}><channel>'
        f"<title>Pictures</title><link>https://ica.coop/</link>{body}</channel></rss>"
    ).encode()


def _entry(n: int, day: int, media: str) -> str:
    return (
        f"<item><title>Story {n}</title><link>https://ica.coop/story-{n}</link>"
        f"<guid>story-{n}</guid><pubDate>{day:02d} Nov 2026 10:00:00 GMT</pubDate>"
        f"{media}</item>"
    )


ENCLOSURE = _entry(
    1, 25, '<enclosure url="https://ica.coop/img/1.jpg" type="image/jpeg" length="1234"/>'
)
# a sound file is no picture; the media:content with medium="image" is
MEDIA_CONTENT = _entry(
    2,
    24,
    '<enclosure url="https://ica.coop/talk.mp3" type="audio/mpeg" length="99"/>'
    '<media:content url="https://ica.coop/img/2.png" medium="image"/>',
)
THUMBNAIL = _entry(3, 23, '<media:thumbnail url="https://ica.coop/img/3-thumb.jpg"/>')
PLAIN_HTTP = _entry(
    4, 26, '<enclosure url="http://ica.coop/img/4.jpg" type="image/jpeg" length="1"/>'
)


# -- feeds ---------------------------------------------------------------------------------------


def test_the_parser_finds_the_picture_in_enclosure_media_content_or_thumbnail() -> None:
    http_then_https = _entry(
        5,
        20,
        '<enclosure url="http://ica.coop/5.jpg" type="image/jpeg"/>'
        '<media:content url="https://ica.coop/5.webp" type="image/webp"/>',
    )
    video = _entry(6, 19, '<media:content url="https://ica.coop/6.mp4" medium="video"/>')
    parsed = parse_feed(
        _rss(ENCLOSURE, MEDIA_CONTENT, THUMBNAIL, PLAIN_HTTP, http_then_https, video),
        "https://ica.coop/rss",
    )
    assert [e.image for e in parsed.entries] == [
        "https://ica.coop/img/1.jpg",
        "https://ica.coop/img/2.png",
        "https://ica.coop/img/3-thumb.jpg",
        None,  # only http: ignored, not an error
        "https://ica.coop/5.webp",  # the http enclosure is passed over
        None,  # a video is no picture
    ]
    atom = parse_feed(
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        b"<id>urn:a</id><updated>2026-11-25T10:00:00Z</updated><entry><title>One</title>"
        b'<id>urn:1</id><updated>2026-11-25T10:00:00Z</updated><link href="https://a.org/1"/>'
        b'<link rel="enclosure" type="image/png" href="https://a.org/1.png"/></entry></feed>',
        "https://a.org/feed",
    )
    assert [e.image for e in atom.entries] == ["https://a.org/1.png"]


async def test_feed_entries_become_items_with_their_pictures(
    harness: Harness, feed_server: FeedServer
) -> None:
    admin = harness.admin()
    feed_server.docs["pictures.xml"] = _rss(ENCLOSURE, MEDIA_CONTENT, THUMBNAIL)
    harness.emu.send_message(f"/feeds add {feed_server.url('pictures.xml')}", user_id=admin.user_id)
    await harness.emu.wait_for(lambda: len(harness.emu.messages(admin.chat_id)) >= 1, 10)
    await harness.settle()
    items = await _items(harness)
    assert [(i.title, i.image_url, i.image_file_id) for i in items] == [
        ("Story 3", "https://ica.coop/img/3-thumb.jpg", None),
        ("Story 2", "https://ica.coop/img/2.png", None),
        ("Story 1", "https://ica.coop/img/1.jpg", None),
    ]
    # a later entry whose only picture is plain http is published, without a picture
    feed_server.docs["pictures.xml"] = _rss(PLAIN_HTTP, ENCLOSURE, MEDIA_CONTENT, THUMBNAIL)
    feeds: FeedService = _services(harness).feeds
    assert (await feeds.poll_once(every_feed=True)).imported == 1
    [*_, story4] = await _items(harness)
    assert (story4.title, story4.image_url, story4.image_file_id) == ("Story 4", None, None)


# -- import and export -------------------------------------------------------------------------


async def test_import_and_export_carry_the_image_column(harness: Harness, tmp_path) -> None:
    services = _services(harness)
    transfer = TransferService(services.news._sessions, services.news)
    source = tmp_path / "items.csv"
    long_image = "https://ica.coop/" + "i" * 2040
    source.write_text(
        "category,title,url,image\n"
        "News,With a picture,https://ica.coop/a,https://ica.coop/a.jpg\n"
        "News,Without one,https://ica.coop/b,\n"
        "News,Plain http picture,https://ica.coop/c,http://ica.coop/c.jpg\n"
        "News,A file picture,https://ica.coop/d,file:///etc/passwd\n"
        f"News,Too long,https://ica.coop/e,{long_image}\n",
        encoding="utf-8",
    )
    report = await transfer.import_items(source)
    assert report.added == 2
    assert [(p.line, p.problem) for p in report.problems] == [
        (4, "bad_image_url"),
        (5, "bad_image_url"),
        (6, "image_url_too_long"),
    ]
    exported = tmp_path / "export.json"
    with exported.open("w", encoding="utf-8") as out:
        assert await transfer.export_items(out) == 2
    records = json.loads(exported.read_text(encoding="utf-8"))
    assert [(r["title"], r["image"]) for r in records] == [
        ("With a picture", "https://ica.coop/a.jpg"),
        ("Without one", None),
    ]
    # the export reads back as the same items, pictures included, in a fresh store
    async with services.news._sessions.begin() as session:
        for item in await session.scalars(select(Item)):
            await session.delete(item)
    report = await transfer.import_items(exported)
    assert (report.added, report.problems) == (2, ())
    assert [(i.title, i.image_url) for i in await _items(harness)] == [
        ("With a picture", "https://ica.coop/a.jpg"),
        ("Without one", None),
    ]


def test_the_cli_reports_a_bad_image_as_file_line_reason(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    source = tmp_path / "items.json"
    source.write_text(
        '[{"category": "News", "title": "T", "url": "https://a.org/t",'
        ' "image": "http://a.org/t.jpg"}]',
        encoding="utf-8",
    )
    assert main(["import", str(source)]) == 1
    err = capsys.readouterr().err
    assert (
        f"{source}:1: the picture's address must be a full web address starting with https://"
        in err
    )


# -- the guided /add ---------------------------------------------------------------------------

PICTURE_URL = "https://images.example.org/coop.png"


def _host(harness: Harness, url: str = PICTURE_URL) -> str:
    """The picture behind `url`, as the emulated Telegram fetches it."""
    harness.emu.files.hosted[url] = HostedFile(make_png(640, 480), "image/png")
    return url


async def _to_photo_step(admin: Chatter, title: str = "With a picture") -> SentMessage:
    await admin.send("/add")
    await admin.send(title)
    await admin.send("Events")
    await admin.send(f"https://coop.example/{title.replace(' ', '-').lower()}")
    [ask_photo] = await admin.send("A summary")
    assert ask_photo.html == texts.ADD_ASK_PHOTO
    assert [b["text"] for b in ask_photo.buttons] == [texts.BUTTON_SKIP]
    return ask_photo


def _preview_card(title: str, url: str, **image: str | None) -> str:
    view = ItemView(0, title, "A summary", url, 0, "Events", utcnow(), **image)
    return delivered_item(view, UTC)


async def test_guided_add_with_a_photo_publishes_its_file_id(harness: Harness) -> None:
    admin = harness.admin()
    await _to_photo_step(admin)
    # a photo at an earlier step is not taken for the picture
    await admin.send("/add")
    assert [m.html for m in await admin.send_photo()] == [texts.ADD_PHOTO_NOT_NOW]
    await admin.send("/cancel")

    await _to_photo_step(admin)
    intro, preview = await admin.send_photo(width=2000, height=1500)
    sent_file_id = admin.last_sent["photo"][-1]["file_id"]
    # the largest of the sizes Telegram made is the one kept
    assert admin.last_sent["photo"][-1]["width"] == 2000
    assert intro.html.startswith(texts.ADD_PREVIEW)
    # the preview is the photo itself, with the item as its caption
    assert preview.is_photo and preview.file_unique_id is not None
    assert preview.html == _preview_card(
        "With a picture", "https://coop.example/with-a-picture", image_file_id=sent_file_id
    )
    assert texts.BUTTON_PUBLISH in [b["text"] for b in preview.buttons]
    [done] = await _press(admin, preview, texts.BUTTON_PUBLISH)
    assert done.html == texts.ADD_PUBLISHED_NEW_CATEGORY.format(id=1, category="Events")
    [item] = await _items(harness)
    assert (item.title, item.image_file_id, item.image_url) == (
        "With a picture",
        sent_file_id,
        None,
    )


async def test_guided_add_with_skip_or_a_typed_address(harness: Harness) -> None:
    admin = harness.admin()
    ask_photo = await _to_photo_step(admin, "No picture")
    _, preview = await _press(admin, ask_photo, texts.BUTTON_SKIP)
    assert not preview.is_photo
    await _press(admin, preview, texts.BUTTON_PUBLISH)

    await _to_photo_step(admin, "By address")
    # not https: asked again, nothing published
    for bad in ("http://images.example.org/coop.png", "ftp://images.example.org/a.png", "a cat"):
        assert (await admin.reply(bad)).html == _again("bad_image_url"), bad
    long_url = "https://images.example.org/" + "a" * 2030
    assert (await admin.reply(long_url)).html == _again(
        "image_url_too_long", length=len(long_url), max=2048
    )
    _, preview = await admin.send(_host(harness))
    assert preview.is_photo and preview.photo_url == PICTURE_URL
    # "Edit" offers the picture too: another photo replaces the address
    [which] = await _press(admin, preview, texts.BUTTON_EDIT)
    assert "Picture" in [b["text"] for b in which.buttons]
    [ask] = await _press(admin, which, "Picture")
    assert ask.html == texts.ADD_ASK_NEW["image"]
    _, preview = await admin.send_photo()
    file_id = admin.last_sent["photo"][-1]["file_id"]
    assert preview.is_photo and preview.photo_url is None
    # and back to the address
    [which] = await _press(admin, preview, texts.BUTTON_EDIT)
    await _press(admin, which, "Picture")
    _, preview = await admin.send(PICTURE_URL)
    [done] = await _press(admin, preview, texts.BUTTON_PUBLISH)
    assert done.html == texts.ADD_PUBLISHED.format(id=2)
    items = await _items(harness)
    assert [(i.title, i.image_url, i.image_file_id) for i in items] == [
        ("No picture", None, None),
        ("By address", PICTURE_URL, None),
    ]
    assert file_id not in {i.image_file_id for i in items}


async def test_a_preview_too_long_for_a_caption_goes_as_text_with_the_picture_above(
    harness: Harness,
) -> None:
    # astral characters count twice against Telegram's 1,024: this card is over it
    admin = harness.admin()
    await admin.send("/add")
    await admin.send("🌱" * 256)
    await admin.send("🌻" * 64)
    await admin.send("https://coop.example/long")
    await admin.send("🌾" * 300)
    _, preview = await admin.send(_host(harness))
    assert not preview.is_photo
    assert preview.link_preview_options == {
        "is_disabled": False,
        "url": PICTURE_URL,
        "prefer_large_media": True,
        "show_above_text": True,
    }
    # a photo known only by file_id cannot be a link preview: as delivery does, it is the
    # photo with a shorter caption (no summary)
    [which] = await _press(admin, preview, texts.BUTTON_EDIT)
    await _press(admin, which, "Picture")
    _, preview = await admin.send_photo()
    assert preview.is_photo
    assert "🌱" in preview.caption and "🌾" not in preview.caption
    [done] = await _press(admin, preview, texts.BUTTON_PUBLISH)
    assert done.html.startswith("✅")
    [item] = await _items(harness)
    assert item.image_file_id == admin.last_sent["photo"][-1]["file_id"]


async def test_a_picture_telegram_cannot_fetch_is_shown_as_a_warning(harness: Harness) -> None:
    admin = harness.admin()
    await _to_photo_step(admin, "Broken picture")
    _, preview = await admin.send("https://images.example.org/missing.png")  # not hosted
    assert not preview.is_photo
    # (PTB capitalises Telegram's "failed to get HTTP URL content")
    assert preview.html.startswith(
        texts.ADD_PICTURE_REFUSED.format(error="Failed to get http url content")
    )
    # the admin can still change it, or publish
    [which] = await _press(admin, preview, texts.BUTTON_EDIT)
    await _press(admin, which, "Picture")
    _, preview = await admin.send(_host(harness))
    assert preview.is_photo
    await _press(admin, preview, texts.BUTTON_PUBLISH)
    [item] = await _items(harness)
    assert item.image_url == PICTURE_URL


async def test_a_scheduled_item_keeps_its_picture(harness: Harness) -> None:
    admin = harness.admin()
    await _to_photo_step(admin, "Later with a picture")
    _, preview = await admin.send_photo()
    file_id = admin.last_sent["photo"][-1]["file_id"]
    await _press(admin, preview, texts.BUTTON_SCHEDULE)
    done = await admin.reply("2099-01-10 09:00")
    assert done.html.startswith("🕒")
    [pending] = await _services(harness).scheduling.pending()
    assert (pending.draft.title, pending.draft.image_file_id) == ("Later with a picture", file_id)
    assert await _items(harness) == []


async def test_a_photo_too_big_at_the_picture_step_is_asked_again(harness: Harness) -> None:
    admin = harness.admin()
    await _to_photo_step(admin)
    [again] = await admin.send_photo(size_bytes=20 * 1024 * 1024)
    assert again.html == _again("photo_too_big", size=20, max=10)
    assert await _items(harness) == []
    _, preview = await admin.send_photo(size_bytes=9 * 1024 * 1024)
    assert preview.is_photo


async def test_the_photo_step_speaks_the_admins_language(harness: Harness) -> None:
    tr = i18n.translator("fr")
    admin = harness.admin(language_code="fr")
    await admin.send("/add")
    await admin.send("Un titre")
    await admin.send("Événements")
    await admin.send("https://coop.example/fr")
    [ask_photo] = await admin.send("Un résumé")
    assert ask_photo.html == tr(texts.ADD_ASK_PHOTO)
    [again] = await admin.send_photo(size_bytes=int(12.5 * 1024 * 1024))
    problem = tr(texts.PROBLEMS["photo_too_big"], size="12,5", max=10)
    assert again.html == tr(texts.ADD_ASK_AGAIN, problem=problem)
    assert "12,5\u202fMo" in again.html
    [again] = await admin.send("http://images.example.org/a.png")
    assert tr(texts.PROBLEMS["bad_image_url"]) in again.html


# -- a photo with the one-line /add as its caption ---------------------------------------------


async def test_a_photo_captioned_with_the_one_line_add_publishes_with_it(
    harness: Harness,
) -> None:
    admin = harness.admin()
    intro, card = await admin.send_photo(
        "/add News | Co-op solar farm opens | https://coop.example/solar | 400 members own it"
    )
    file_id = admin.last_sent["photo"][-1]["file_id"]
    assert intro.html == texts.ADD_DONE_NEW_CATEGORY.format(id=1, category="News")
    assert card.is_photo and "Co-op solar farm opens" in card.html
    [item] = await _items(harness)
    assert (item.title, item.url, item.summary, item.image_file_id, item.image_url) == (
        "Co-op solar farm opens",
        "https://coop.example/solar",
        "400 members own it",
        file_id,
        None,
    )
    # the same problems as the text form: nothing published
    [problem] = await admin.send_photo("/add News | No link")
    assert problem.html.startswith(
        texts.ADD_PROBLEM.format(problem=texts.PROBLEMS["missing_parts"])
    )
    [usage] = await admin.send_photo("/add")
    assert usage.html == texts.ADD_USAGE.format(language="English")
    assert len(await _items(harness)) == 1


async def test_a_captioned_photo_mid_flow_publishes_and_the_flow_goes_on(
    harness: Harness,
) -> None:
    admin = harness.admin()
    await admin.send("/add")
    intro, _card = await admin.send_photo("/add News | Aside | https://coop.example/aside")
    assert intro.html == texts.ADD_DONE_NEW_CATEGORY.format(id=1, category="News")
    assert (await admin.reply("Flow title")).html == texts.ADD_ASK_CATEGORY
    assert [i.title for i in await _items(harness)] == ["Aside"]


async def test_bad_photo_input_gets_a_clear_reply_and_publishes_nothing(
    harness: Harness,
) -> None:
    admin = harness.admin()
    line = "/add News | Title | https://coop.example/t | "
    # a caption over Telegram's 1,024 characters
    caption = line + "s" * (1025 - len(line))
    [reply] = await admin.send_photo(caption)
    assert reply.html == texts.ADD_PROBLEM.format(
        problem=texts.PROBLEMS["caption_too_long"].format(length=1025, max=1024)
    )
    # a 20 MB photo
    [reply] = await admin.send_photo(line + "big", size_bytes=20 * 1024 * 1024)
    assert "20 MB" in reply.html
    assert reply.html == texts.ADD_PROBLEM.format(
        problem=texts.PROBLEMS["photo_too_big"].format(size=20, max=10)
    )
    # a photo from a reader, captioned (told how to suggest it) or not
    reader = harness.private(first_name="Reader")
    assert (await reader.send_photo(line + "mine"))[0].html == texts.SUGGEST_HOW
    assert (await reader.send_photo())[0].html == texts.PLAIN_TEXT_HINT
    group = harness.in_group(reader.user_id)
    assert (await group.send_photo(line + "group"))[0].html == texts.SUGGEST_HOW
    # an admin's photo without the caption, outside a flow: how to publish it
    assert [m.html for m in await admin.send_photo("Look at this")] == [texts.PHOTO_HINT]
    assert [m.html for m in await admin.send_photo()] == [texts.PHOTO_HINT]
    # a caption of exactly 1,024 is fine
    [intro, _card] = await admin.send_photo(line + "s" * (1024 - len(line)))
    assert intro.html == texts.ADD_DONE_NEW_CATEGORY.format(id=1, category="News")
    assert len(await _items(harness)) == 1


# -- /edit -------------------------------------------------------------------------------------


async def _revision(harness: Harness, item_id: int) -> tuple[int, str | None, str | None]:
    async with _services(harness).news._sessions() as session:
        item = await session.get(Item, item_id)
        return item.revision, item.image_url, item.image_file_id


async def _edit_picture(admin: Chatter, item_id: int) -> SentMessage:
    which = await admin.reply(f"/edit {item_id}")
    assert texts.FIELD_NAMES["image"] in [b["text"] for b in which.buttons]
    [ask] = await _press(admin, which, texts.FIELD_NAMES["image"])
    assert ask.html == texts.ADD_ASK_NEW["image"]
    return ask


async def test_edit_changes_and_removes_the_picture(harness: Harness) -> None:
    admin = harness.admin()
    await admin.send("/add News | Plain | https://coop.example/plain")
    start, _url, _file = await _revision(harness, 1)

    # a photo gives it a picture
    ask = await _edit_picture(admin, 1)
    assert ask.buttons == []  # nothing to remove yet
    intro, preview = await admin.send_photo()
    file_id = admin.last_sent["photo"][-1]["file_id"]
    assert intro.html == texts.EDIT_PREVIEW.format(id=1)
    assert preview.is_photo
    await _press(admin, preview, texts.BUTTON_SAVE)
    assert await _revision(harness, 1) == (start + 1, None, file_id)

    # an https address replaces it; plain http is refused
    await _edit_picture(admin, 1)
    assert (await admin.reply("http://images.example.org/x.png")).html == _again("bad_image_url")
    _, preview = await admin.send(_host(harness))
    await _press(admin, preview, texts.BUTTON_SAVE)
    assert await _revision(harness, 1) == (start + 2, PICTURE_URL, None)

    # the same picture again changes nothing
    await _edit_picture(admin, 1)
    assert (await admin.reply(PICTURE_URL)).html == texts.EDIT_NOTHING
    await admin.send("/cancel")

    # "Remove picture"
    ask = await _edit_picture(admin, 1)
    intro, preview = await _press(admin, ask, texts.BUTTON_REMOVE_PICTURE)
    assert intro.html == texts.EDIT_PREVIEW.format(id=1) + "\n" + texts.EDIT_PICTURE_REMOVED
    assert not preview.is_photo
    await _press(admin, preview, texts.BUTTON_SAVE)
    assert await _revision(harness, 1) == (start + 3, None, None)
    audit = await _services(harness).audit.recent()
    assert [a.action for a in audit[:3]] == ["edit", "edit", "edit"]
    # a photo while /edit waits for something else is not taken
    which = await admin.reply("/edit 1")
    assert [m.html for m in await admin.send_photo()] == [texts.ADD_USE_BUTTONS]
    await _press(admin, which, texts.BUTTON_CANCEL)
    assert (await _revision(harness, 1))[0] == start + 3


async def test_a_picture_edit_corrects_the_messages_already_sent(harness: Harness) -> None:
    reader = harness.private(first_name="Reader")
    await reader.send("/subscribe all")
    admin = harness.admin()
    await admin.send("/add News | Sent out | https://coop.example/sent")
    await harness.emu.wait_for_messages(reader.chat_id, 2)
    ask = await _edit_picture(admin, 1)
    assert ask.buttons == []  # no picture yet: nothing to remove
    _, preview = await admin.send(_host(harness))
    await _press(admin, preview, texts.BUTTON_SAVE)
    async with _services(harness).news._sessions() as session:
        corrections = list(await session.scalars(select(Correction)))
    assert [(c.item_id, c.chat_id, c.action) for c in corrections] == [(1, reader.chat_id, "edit")]
    # the delivery side carries it out: the reader's text message gains a large preview of it
    delivered = harness.emu.messages(reader.chat_id)[-1]

    def previewed() -> bool:
        options = harness.emu.bot_message(reader.chat_id, delivered.message_id).link_preview_options
        return (options or {}).get("url") == PICTURE_URL

    await harness.emu.wait_for(previewed, 10)
    options = harness.emu.bot_message(reader.chat_id, delivered.message_id).link_preview_options
    assert not options.get("is_disabled"), options


async def test_help_tells_admins_about_pictures(harness: Harness) -> None:
    admin_help = await harness.admin().reply("/help")
    assert texts.HELP_ADMIN_PICTURES in admin_help.html
    reader_help = await harness.private(first_name="Reader").reply("/help")
    assert texts.HELP_ADMIN_PICTURES not in reader_help.html
