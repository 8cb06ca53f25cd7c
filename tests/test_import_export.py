"""`coopbot import`, `coopbot export` and `coopbot feeds import`: bad rows are reported with
their line number, good rows still load, and an export reads back as the same items."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.db.engine import create_engine, create_session_factory
from bot.db.models import BroadcastQueue
from bot.lifecycle import prepare_database
from bot.services.feeds import FeedService
from bot.services.news import NewsService
from bot.services.transfer import TransferService, read_rows
from bot.services.validation import TITLE_MAX, ItemDraft
from testbed.harness import test_settings as settings_for

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"

CSV = """category,title,url,summary,published
News,ICA elects a new board,https://ica.coop/board,Delegates met in Seville.,2026-11-25T10:00:00Z
Research,,https://copac.coop/empty-title,,2026-11-20
Research,"Co-ops and the SDGs","https://copac.coop/sdg","A brief
over two lines, with a comma",2026-11-20
Events,Co-op week,not a link,,2026-11-24
Events,Co-op week opens,https://ica.coop/week,,24/11/2026
News,ICA elects a new board (again),https://ica.coop/board,,2026-11-26
Decent Work,No link at all,,Stored without a link,2026-11-22T08:30:00+01:00
,Orphan,https://example.org/orphan,,
"""

LANGUAGES_CSV = """category,title,url,summary,published,language
News,Co-ops in the news,https://example.org/en,,2026-11-20,en
Nouvelles,Les coopératives à la une,https://example.org/fr,,2026-11-21,FR
News,Nobody speaks this,https://example.org/xx,,2026-11-22,xx
Noticias,Sin idioma,https://example.org/none,,2026-11-23,
"""


def _problems(report) -> list[tuple[int, str]]:
    return [(p.line, p.problem) for p in report.problems]


@pytest.fixture
def transfer(sessions, news) -> TransferService:
    return TransferService(sessions, news, FeedService(sessions, news))


async def _count(sessions, model) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)))


async def test_csv_import_reports_bad_rows_by_line_and_loads_the_rest(
    transfer, tmp_path, sessions, news
):
    path = tmp_path / "items.csv"
    path.write_text(CSV, encoding="utf-8")
    report = await transfer.import_items(path)
    assert _problems(report) == [
        (3, "empty_title"),
        (6, "bad_url"),
        (7, "bad_date"),
        (10, "empty_category"),
    ]
    assert report.problems[2].details == {"value": "24/11/2026"}
    assert (report.added, report.skipped) == (3, 1)  # line 8 repeats line 2's link
    sdg = await news.find_by_url("https://copac.coop/sdg")
    assert sdg.summary == "A brief\nover two lines, with a comma"
    assert sdg.category == "Research" and sdg.source == "import"
    assert sdg.language == "en"  # a file without a language column: English
    page = await news.page(10)
    no_link = next(item for item in page.items if item.title == "No link at all")
    assert no_link.url is None
    assert no_link.published_at.isoformat() == "2026-11-22T07:30:00+00:00"
    assert await _count(sessions, BroadcastQueue) == 0  # an archive is not pushed

    again = await transfer.import_items(path)  # nothing twice, also without a link
    assert (again.added, again.skipped) == (0, 4)


async def test_import_can_broadcast_when_asked(transfer, tmp_path, sessions):
    path = tmp_path / "one.csv"
    path.write_text("title,category,url\nNew today,News,https://example.org/today\n")
    report = await transfer.import_items(path, broadcast=True)
    assert (report.added, report.problems) == (1, ())
    assert await _count(sessions, BroadcastQueue) == 1


async def test_json_import_reports_bad_rows_by_line(sessions, tmp_path, news):
    # a zone far from UTC, so a date without an offset visibly lands in it
    transfer = TransferService(sessions, news, tz=ZoneInfo("Pacific/Kiritimati"))
    path = tmp_path / "items.json"
    path.write_text(
        """[
  {"category": "News", "title": "First", "url": "https://example.org/1",
   "summary": null, "published": "2026-11-01"},
  42,
  {"category": "News",
   "title": "Second",
   "url": 17},
  {"category": "News", "title": "%s"},
  {"category": "Events", "title": "Third", "published": "2026-11-03T09:00:00"}
]
"""
        % ("x" * 300),
        encoding="utf-8",
    )
    report = await transfer.import_items(path)
    assert _problems(report) == [(4, "not_an_object"), (5, "bad_field"), (8, "title_too_long")]
    assert report.problems[2].details == {"length": 300, "max": TITLE_MAX}  # the limit travels
    assert report.added == 2
    third, first = (await news.page(2)).items
    # no offset: in the bot's timezone, here UTC+14
    assert third.title == "Third"
    assert third.published_at.isoformat() == "2026-11-02T19:00:00+00:00"
    assert first.published_at.isoformat() == "2026-10-31T10:00:00+00:00"


async def test_json_syntax_error_keeps_the_rows_before_it(transfer, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text(
        '[\n{"category": "News", "title": "Fine", "url": "https://example.org/fine"},\n'
        '{"category": "News", "title": "Broken" "url": "x"},\n'
        '{"category": "News", "title": "Never read"}\n]\n'
    )
    report = await transfer.import_items(path)
    assert (report.added, _problems(report)) == (1, [(3, "bad_json")])


async def test_json_lines_are_read_too(transfer, tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_text(
        '{"category": "News", "title": "One"}\nnot json\n\n{"category": "News", "title": "Two"}\n'
    )
    report = await transfer.import_items(path)
    assert (report.added, _problems(report)) == (2, [(2, "bad_json")])


async def test_csv_without_the_required_columns_is_refused(transfer, tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("name,link\nA,https://example.org\n")
    report = await transfer.import_items(path)
    assert (report.added, _problems(report)) == (0, [(1, "bad_csv_header")])


async def test_export_reads_back_as_the_same_items(transfer, tmp_path, sessions, news):
    source = tmp_path / "items.csv"
    source.write_text(CSV, encoding="utf-8")
    await transfer.import_items(source)
    exported = tmp_path / "export.json"
    with exported.open("w", encoding="utf-8") as out:
        assert await transfer.export_items(out) == 3
    records = json.loads(exported.read_text(encoding="utf-8"))
    assert [r["title"] for r in records] == [
        "ICA elects a new board",
        "Co-ops and the SDGs",
        "No link at all",
    ]
    assert list(records[0]) == [
        "category",
        "title",
        "url",
        "summary",
        "published",
        "language",
        "image",
        "category_names",
        "version_of",
    ]
    assert records[0]["category_names"] == {}  # no names yet: an empty object
    # one item a line, so a problem in an edited export points at the right line
    assert [line for line, _row in read_rows(exported)] == [2, 3, 4]

    # into an empty store: the same items come back
    other_url = f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
    await prepare_database(settings_for(other_url, "http://127.0.0.1:9/bot"))
    engine = create_engine(other_url)
    try:
        other_sessions = create_session_factory(engine)
        other_news = NewsService(other_sessions)
        report = await TransferService(other_sessions, other_news).import_items(exported)
        assert (report.added, report.skipped, report.problems) == (3, 0, ())
        mine = [
            (i.title, i.url, i.summary, i.category, i.published_at, i.language)
            for i in (await news.page(10)).items
        ]
        theirs = [
            (i.title, i.url, i.summary, i.category, i.published_at, i.language)
            for i in (await other_news.page(10)).items
        ]
        assert mine == theirs
    finally:
        await engine.dispose()
    # and into the same store: all already there
    again = await transfer.import_items(exported)
    assert (again.added, again.skipped) == (0, 3)


async def test_import_reads_each_items_language_and_refuses_unknown_codes(transfer, tmp_path, news):
    path = tmp_path / "languages.csv"
    path.write_text(LANGUAGES_CSV, encoding="utf-8")
    report = await transfer.import_items(path)
    assert (report.added, _problems(report)) == (3, [(4, "bad_language")])
    assert report.problems[0].details == {"code": "xx"}
    languages = {item.title: item.language for item in (await news.page(10)).items}
    assert languages == {
        "Co-ops in the news": "en",
        "Les coopératives à la une": "fr",
        "Sin idioma": "en",  # empty: English
    }

    lines = tmp_path / "languages.jsonl"
    lines.write_text(
        '{"category": "Noticias", "title": "Uno", "language": "es"}\n'
        '{"category": "News", "title": "Two", "language": null}\n'
        '{"category": "News", "title": "Three", "language": 3}\n'
    )
    report = await transfer.import_items(lines)
    assert (report.added, _problems(report)) == (2, [(3, "bad_field")])
    assert report.problems[0].details == {"column": "language"}
    languages = {item.title: item.language for item in (await news.page(10)).items}
    assert (languages["Uno"], languages["Two"]) == ("es", "en")


async def test_export_keeps_each_items_language(transfer, tmp_path, news):
    source = tmp_path / "languages.csv"
    source.write_text(LANGUAGES_CSV, encoding="utf-8")
    await transfer.import_items(source)
    exported = tmp_path / "export.json"
    with exported.open("w", encoding="utf-8") as out:
        assert await transfer.export_items(out) == 3
    records = json.loads(exported.read_text(encoding="utf-8"))
    assert [r["language"] for r in records] == ["en", "fr", "en"]

    other_url = f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
    await prepare_database(settings_for(other_url, "http://127.0.0.1:9/bot"))
    engine = create_engine(other_url)
    try:
        other_news = NewsService(create_session_factory(engine))
        report = await TransferService(create_session_factory(engine), other_news).import_items(
            exported
        )
        assert (report.added, report.problems) == (3, ())

        def rows(page):
            return [(i.title, i.url, i.category, i.published_at, i.language) for i in page.items]

        assert rows(await other_news.page(10)) == rows(await news.page(10))
    finally:
        await engine.dispose()


async def test_export_and_import_carry_which_story_a_version_belongs_to(transfer, tmp_path, news):
    original = (
        await news.publish(
            ItemDraft("News", "Co-ops and decent work", "https://coop.example/en", None),
            source="test",
        )
    ).item
    await news.publish(
        ItemDraft("News", "Les coopératives", "https://coop.example/fr", None, "fr"),
        source="test",
        version_of=original.id,
    )
    exported = tmp_path / "export.json"
    with exported.open("w", encoding="utf-8") as out:
        assert await transfer.export_items(out) == 2
    records = json.loads(exported.read_text(encoding="utf-8"))
    assert [r["version_of"] for r in records] == [None, "https://coop.example/en"]

    other_url = f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
    await prepare_database(settings_for(other_url, "http://127.0.0.1:9/bot"))
    engine = create_engine(other_url)
    try:
        other_news = NewsService(create_session_factory(engine))
        other = TransferService(create_session_factory(engine), other_news)
        # a version before its original: reported, and loaded once the original is in
        versions_only = tmp_path / "versions.json"
        versions_only.write_text(json.dumps(records[1:]), encoding="utf-8")
        report = await other.import_items(versions_only)
        assert (report.added, _problems(report)) == (0, [(1, "unknown_story")])
        report = await other.import_items(exported)
        assert (report.added, report.problems) == (2, ())
        french = await other_news.find_by_url("https://coop.example/fr")
        english = await other_news.find_by_url("https://coop.example/en")
        assert french is not None and english is not None
        assert (french.story_id, french.published_at) == (english.id, english.published_at)
        # read again: nothing twice
        assert (await other.import_items(exported)).skipped == 2
    finally:
        await engine.dispose()


async def test_opml_import_subscribes_and_reports_bad_outlines(transfer, sessions, news):
    report = await transfer.import_opml(FIXTURES / "subscriptions.opml")
    assert (report.added, report.skipped) == (2, 1)
    assert _problems(report) == [(8, "bad_feed_url"), (10, "no_feed_url")]
    feeds = await FeedService(sessions, news).feeds()
    assert [(f.url, f.category, f.language, f.last_ok_at) for f in feeds] == [
        ("https://ica.coop/en/rss.xml", None, None, None),
        ("https://copac.coop/feed.rdf", "Research", None, None),
    ]


def test_cli_import_export_and_feeds_import(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    source = tmp_path / "items.csv"
    source.write_text(CSV, encoding="utf-8")

    assert main(["import", str(source)]) == 1  # some rows were bad
    out, err = capsys.readouterr()
    assert "Loaded 3 items" in out and "1 already there, 4 bad rows" in out
    assert f"{source}:3: the title is empty." in err
    assert f"{source}:7: “24/11/2026” is not an ISO 8601 date" in err
    assert f"{source}:6: the link must be a full web address" in err

    exported = tmp_path / "out.json"
    assert main(["export", str(exported)]) == 0
    assert len(json.loads(exported.read_text(encoding="utf-8"))) == 3
    assert main(["export"]) == 0
    out, err = capsys.readouterr()
    assert len(json.loads(out)) == 3 and "Exported 3 items to standard output" in err
    assert main(["import", str(exported)]) == 0
    assert "Loaded 0 items" in capsys.readouterr().out

    assert main(["feeds", "import", str(FIXTURES / "subscriptions.opml")]) == 1
    out, err = capsys.readouterr()
    assert "Loaded 2 feeds" in out
    assert "subscriptions.opml:10: the feed “No address at all” has no xmlUrl address." in err

    languages = tmp_path / "languages.csv"
    languages.write_text(LANGUAGES_CSV, encoding="utf-8")
    assert main(["import", str(languages)]) == 1
    out, err = capsys.readouterr()
    assert "Loaded 3 items" in out
    assert err.strip() == (
        f"{languages}:4: “xx” is not a language code. Use two letters, such as en, fr, es or pt."
    )
    assert main(["export", str(exported)]) == 0
    records = json.loads(exported.read_text(encoding="utf-8"))
    assert [r["language"] for r in records] == ["en", "en", "en", "en", "fr", "en"]

    assert main(["import", str(tmp_path / "missing.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err
