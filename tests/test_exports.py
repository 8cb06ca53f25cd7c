"""Exports that carry everything (issue 21): `coopbot export` and `import` carry categories'
names, story versions and pictures' URLs; `coopbot feeds export` and `feeds import` carry the
feeds as OPML. Each is read back into a fresh store, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from xml.etree import ElementTree as ET

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli import main
from bot.db.engine import create_engine, create_session_factory
from bot.lifecycle import prepare_database
from bot.services.categories import CategoryService
from bot.services.corrections import CorrectionsService
from bot.services.feeds import FeedService
from bot.services.news import NewsService
from bot.services.opml import Outline, read_opml
from bot.services.transfer import TransferService
from bot.services.validation import ItemDraft
from bot.services.views import ItemView
from testbed.databases import scratch_postgres
from testbed.harness import ADMIN_ID
from testbed.harness import test_settings as settings_for


@contextlib.asynccontextmanager
async def fresh_store(
    database_url: str, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Another empty store on the same kind of database as `database_url`."""
    async with contextlib.AsyncExitStack() as stack:
        if database_url.startswith("sqlite"):
            url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        else:
            url = await stack.enter_async_context(scratch_postgres(os.environ["TEST_DATABASE_URL"]))
        await prepare_database(settings_for(url, "http://127.0.0.1:9/bot"))
        engine = create_engine(url)
        stack.push_async_callback(engine.dispose)
        yield create_session_factory(engine)


async def _stored(news: NewsService, draft: ItemDraft, version_of: int | None = None) -> ItemView:
    """An item stored without a broadcast (as an import stores them)."""
    published = await news.publish(draft, source="test", broadcast=False, version_of=version_of)
    return published.item


async def _exported(transfer: TransferService) -> list[dict]:
    out = io.StringIO()
    await transfer.export_items(out)
    return json.loads(out.getvalue())


async def test_an_export_carries_names_versions_and_pictures_into_a_fresh_store(
    sessions, news, database_url, tmp_path
):
    categories = CategoryService(sessions, news)
    original = await _stored(
        news,
        ItemDraft(
            "Decent work",
            "Co-ops and decent work",
            "https://coop.example/en",
            "The report.",
            image_url="https://coop.example/en.jpg",
        ),
    )
    await _stored(
        news,
        ItemDraft("Decent work", "Les coopératives", "https://coop.example/fr", None, "fr"),
        version_of=original.id,
    )
    # a photo an admin sent is Telegram's file_id, which means nothing to another bot
    await _stored(
        news,
        ItemDraft("News", "A photo", "https://coop.example/photo", None, image_file_id="AgAD"),
    )
    decent = (await news.find_category("decent work")).category
    assert decent is not None
    await categories.set_name(decent.id, "fr", "Travail décent", actor_id=ADMIN_ID)
    await categories.set_name(decent.id, "es", "Trabajo decente", actor_id=ADMIN_ID)

    records = await _exported(TransferService(sessions, news))
    assert [(r["title"], r["image"], r["version_of"], r["category_names"]) for r in records] == [
        (
            "Co-ops and decent work",
            "https://coop.example/en.jpg",
            None,
            {"es": "Trabajo decente", "fr": "Travail décent"},
        ),
        (
            "Les coopératives",
            None,
            "https://coop.example/en",
            {"es": "Trabajo decente", "fr": "Travail décent"},
        ),
        ("A photo", None, None, {}),
    ]
    exported = tmp_path / "export.json"
    exported.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")

    async with fresh_store(database_url, tmp_path) as other_sessions:
        other_news = NewsService(other_sessions)
        other = TransferService(other_sessions, other_news)
        report = await other.import_items(exported)
        assert (report.added, report.skipped, report.problems) == (3, 0, ())
        # the fresh store exports the very same file
        assert await _exported(other) == records
        french = await other_news.find_by_url("https://coop.example/fr")
        english = await other_news.find_by_url("https://coop.example/en")
        assert french is not None and english is not None
        assert french.story_id == english.id and english.story_id is None
        assert english.image_url == "https://coop.example/en.jpg"
        assert dict(french.category_names) == {"es": "Trabajo decente", "fr": "Travail décent"}
        # the French reader finds the category under its French name there too
        found = (await other_news.find_category("travail décent")).category
        assert found is not None and found.name == "Decent work"
        # read again: nothing twice, nothing reported
        again = await other.import_items(exported)
        assert (again.added, again.skipped, again.problems) == (0, 3, ())


async def test_a_version_whose_original_was_deleted_reads_back_as_a_story_of_its_own(
    sessions, news, database_url, tmp_path
):
    original = await _stored(news, ItemDraft("News", "Original", "https://coop.example/o", None))
    await _stored(
        news,
        ItemDraft("News", "Version", "https://coop.example/v", None, "fr"),
        version_of=original.id,
    )
    await CorrectionsService(sessions, news).delete(ADMIN_ID, original.id)
    records = await _exported(TransferService(sessions, news))
    assert [(r["title"], r["version_of"]) for r in records] == [("Version", None)]
    exported = tmp_path / "export.json"
    exported.write_text(json.dumps(records), encoding="utf-8")
    async with fresh_store(database_url, tmp_path) as other_sessions:
        other = TransferService(other_sessions, NewsService(other_sessions))
        report = await other.import_items(exported)
        assert (report.added, report.problems) == (1, ())


def _feed_set(feeds) -> set[tuple[str, str | None, str | None]]:
    return {(f.url, f.category, f.language) for f in feeds}


async def _subscribe_some(feeds: FeedService) -> None:
    await feeds.subscribe("https://ica.coop/en/rss.xml")
    await feeds.subscribe("https://ica.coop/fr/rss.xml", "Actualités", language="fr")
    await feeds.subscribe("https://copac.coop/feed.rdf", "Research")
    await feeds.subscribe("https://aciamericas.coop/feed", "Research", language="es")
    await feeds.subscribe("https://example.org/a&b?x=<1>", 'Quotes "and" <tags>', language="en")


async def test_feeds_export_reads_back_to_the_same_feeds(sessions, news, database_url, tmp_path):
    feeds = FeedService(sessions, news)
    await _subscribe_some(feeds)
    await feeds.subscribe("https://ica.coop/titled.xml", "Research", title="ICA  \n research")
    out = io.StringIO()
    assert await TransferService(sessions, news, feeds).export_opml(out) == 6
    document = out.getvalue()
    assert document.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    root = ET.fromstring(document)
    body = root.find("body")
    assert body is not None
    # a folder per category, feeds without one at the top
    tops = [(o.get("text"), o.get("xmlUrl")) for o in body.findall("outline")]
    assert tops == [
        ("https://ica.coop/en/rss.xml", "https://ica.coop/en/rss.xml"),
        ("Actualités", None),
        ("Research", None),
        ('Quotes "and" <tags>', None),
    ]
    research = body.findall("outline")[2].findall("outline")
    assert [
        (o.get("type"), o.get("xmlUrl"), o.get("language"), o.get("title")) for o in research
    ] == [
        ("rss", "https://copac.coop/feed.rdf", None, None),
        ("rss", "https://aciamericas.coop/feed", "es", None),
        ("rss", "https://ica.coop/titled.xml", None, "ICA research"),
    ]
    path = tmp_path / "feeds.opml"
    path.write_text(document, encoding="utf-8")

    async with fresh_store(database_url, tmp_path) as other_sessions:
        other_news = NewsService(other_sessions)
        other_feeds = FeedService(other_sessions, other_news)
        other = TransferService(other_sessions, other_news, other_feeds)
        report = await other.import_opml(path)
        assert (report.added, report.skipped, report.problems) == (6, 0, ())
        mine, theirs = await feeds.feeds(), await other_feeds.feeds()
        assert _feed_set(theirs) == _feed_set(mine)
        assert {(f.url, f.title) for f in theirs} == {(f.url, f.title) for f in mine}
        # and the fresh store writes the same feeds again
        again = io.StringIO()
        await other.export_opml(again)
        assert _without_date(again.getvalue()) == _without_date(document)
    # read back into the store it came from: every feed is there already
    report = await TransferService(sessions, news, feeds).import_opml(path)
    assert (report.added, report.skipped, report.problems) == (0, 6, ())


def _without_date(document: str) -> str:
    return "\n".join(line for line in document.splitlines() if "dateCreated" not in line)


async def test_feeds_import_reads_what_other_feed_readers_write(sessions, news, tmp_path):
    path = tmp_path / "reader.opml"
    path.write_text(
        """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>From a feed reader</title></head>
  <body>
    <outline title="Co-ops">
      <outline text="Europe">
        <outline text="Coops Europe" type="rss" xmlUrl="https://coopseurope.coop/rss"
                 htmlUrl="https://coopseurope.coop" language="fr-FR"/>
      </outline>
      <outline text="ICA" type="atom" xmlUrl="https://ica.coop/atom" language="EN"/>
    </outline>
    <outline text="Klingon" type="rss" xmlUrl="https://example.org/tlh" language="tlh"/>
  </body>
</opml>
""",
        encoding="utf-8",
    )
    feeds = FeedService(sessions, news)
    report = await TransferService(sessions, news, feeds).import_opml(path)
    assert (report.added, [(p.line, p.problem) for p in report.problems]) == (
        2,
        [(12, "bad_feed_language")],
    )
    assert report.problems[0].details == {"url": "https://example.org/tlh", "code": "tlh"}
    assert [(f.url, f.category, f.language, f.title) for f in await feeds.feeds()] == [
        ("https://coopseurope.coop/rss", "Europe", "fr", "Coops Europe"),  # the innermost folder
        ("https://ica.coop/atom", "Co-ops", "en", "ICA"),
    ]


MALFORMED = {
    # well-formed until line 6: the feed on line 4 must not be taken either
    "truncated.opml": (
        '<?xml version="1.0"?>\n<opml version="2.0">\n<body>\n'
        '<outline text="A" type="rss" xmlUrl="https://a.example/feed"/>\n'
        '<outline text="B" type="rss" xmlUrl="https://b.example/feed">\n'
        "</body>\n</opml>\n",
        6,
        "bad_opml",
    ),
    "feed.opml": (  # an RSS feed given where its OPML was meant
        '<?xml version="1.0"?>\n<rss version="2.0"><channel><title>T</title>\n'
        "<item><link>https://a.example/1</link></item></channel></rss>\n",
        2,
        "not_opml",
    ),
    "empty.opml": ("", 1, "bad_opml"),
    "page.opml": ("<html><body><p>Moved<br></body></html>", 1, "not_opml"),
    "binary.opml": ("\x00\x01PK\x03\x04", 1, "bad_opml"),
}


async def test_a_malformed_opml_is_refused_whole_and_changes_nothing(sessions, news, tmp_path):
    feeds = FeedService(sessions, news)
    await feeds.subscribe("https://kept.example/feed", "Kept", language="fr")
    before = await feeds.feeds()
    transfer = TransferService(sessions, news, feeds)
    for name, (content, line, problem) in MALFORMED.items():
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        report = await transfer.import_opml(path)
        assert (report.added, report.skipped) == (0, 0), name
        assert [(p.line, p.problem) for p in report.problems] == [(line, problem)], name
        assert await feeds.feeds() == before, name
    assert report.problems  # the last one


def test_cli_feeds_export_and_a_malformed_import(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    fixture = Path(__file__).parent / "fixtures" / "feeds" / "subscriptions.opml"
    assert main(["feeds", "import", str(fixture)]) == 1  # two bad outlines
    capsys.readouterr()

    exported = tmp_path / "feeds.opml"
    assert main(["feeds", "export", str(exported)]) == 0
    assert "Exported 2 feeds to" in capsys.readouterr().err
    assert main(["feeds", "export"]) == 0
    out, err = capsys.readouterr()
    assert _without_date(out) == _without_date(exported.read_text(encoding="utf-8"))
    assert "Exported 2 feeds to standard output." in err
    assert main(["feeds", "import", str(exported)]) == 0
    assert "Loaded 0 feeds" in capsys.readouterr().out

    # the items' export says where the feeds went
    assert main(["export", str(tmp_path / "items.json")]) == 0
    err = capsys.readouterr().err
    assert "Exported 0 items to" in err
    assert "Feeds (2) are not in this file: coopbot feeds export FILE.opml writes them." in err

    truncated = tmp_path / "truncated.opml"
    truncated.write_text(MALFORMED["truncated.opml"][0], encoding="utf-8")
    assert main(["feeds", "import", str(truncated)]) == 1
    out, err = capsys.readouterr()
    assert err.strip() == (
        f"{truncated}:6: not well-formed XML here (mismatched tag), so not OPML: "
        "nothing was imported."
    )
    assert "Loaded 0 feeds" in out
    feed = tmp_path / "feed.opml"
    feed.write_text(MALFORMED["feed.opml"][0], encoding="utf-8")
    assert main(["feeds", "import", str(feed)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"{feed}:2: this is not an OPML file (its first element is “rss”, not “opml”): "
        "nothing was imported."
    )
    assert main(["feeds", "export", str(exported)]) == 0  # still the same two
    assert exported.read_text(encoding="utf-8").count("xmlUrl=") == 2


def test_an_export_that_cannot_be_written_leaves_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")  # only what the command itself says
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    for command in (["export"], ["feeds", "export"]):
        target = tmp_path / "missing" / "out.json"
        assert main([*command, str(target)]) == 1
        err = capsys.readouterr().err
        assert err.splitlines() == [
            f"coopbot: cannot write {target}: the folder {target.parent} does not exist."
        ]
        assert main([*command, str(tmp_path)]) == 1
        assert capsys.readouterr().err.strip() == (
            f"coopbot: cannot write {tmp_path}: that is a folder; name a file in it."
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cli.db"]


async def test_a_title_with_characters_xml_cannot_hold_still_exports(sessions, news, tmp_path):
    feeds = FeedService(sessions, news)
    # a feed's own title can bring a control character; XML 1.0 cannot hold one, even escaped
    await feeds.subscribe("https://bell.example/feed", title="Ring\x07 the bell")
    path = tmp_path / "feeds.opml"
    with path.open("w", encoding="utf-8") as out:
        await TransferService(sessions, news, feeds).export_opml(out)
    [(line, outline)] = read_opml(path)
    assert (line, outline) == (8, Outline("https://bell.example/feed", None, None, "Ring the bell"))
