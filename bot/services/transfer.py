"""Bulk import and export of items (JSON or CSV), and of feed subscriptions (OPML).

Every row is checked like `/add` (`bot.services.validation`); a bad row is reported with
its line number and the good rows still load. Export writes what import reads back.

Columns (CSV header, or JSON object keys): category, title, url, summary, published, language,
image.
category and title are required; url and summary may be empty; published is an ISO 8601
date or date-time (without an offset it is in the bot's TIMEZONE; empty means now); language
is the item's ISO 639-1 code (fr, es…), and English when empty or absent, so files written
before items had languages still load. image is the item's picture as an https URL (may be
empty); export writes it for items that have one by URL (a photo an admin sent is known only by
Telegram's file_id, which means nothing to another bot, so it is left out).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, tzinfo
from pathlib import Path
from typing import Any, TextIO
from xml.parsers import expat

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Category, Item
from bot.services.feeds import AddProblem, FeedNotAdded, FeedService
from bot.services.news import NewsService
from bot.services.validation import (
    CATEGORY_NAME_MAX,
    ItemDraft,
    Problem,
    ValidationFailed,
    clean_image_url,
    clean_item,
    clean_language,
)

COLUMNS = ("category", "title", "url", "summary", "published", "language", "image")
REQUIRED = ("category", "title")
EXPORT_BATCH = 500

# problems of the file itself, beside the validation codes of `Problem`
BAD_JSON = "bad_json"
BAD_CSV_HEADER = "bad_csv_header"
NOT_AN_OBJECT = "not_an_object"
BAD_DATE = "bad_date"
BAD_FIELD = "bad_field"
BAD_OPML = "bad_opml"
NO_FEED_URL = "no_feed_url"
BAD_FEED_URL = "bad_feed_url"
BAD_FEED_CATEGORY = "bad_feed_category"
_FEED_PROBLEMS = {
    AddProblem.BAD_URL: BAD_FEED_URL,
    AddProblem.BAD_CATEGORY: BAD_FEED_CATEGORY,
    None: BAD_FEED_URL,  # the feed itself failed; cannot happen without a fetch
}


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    problem: str  # a `Problem` value or one of the codes above
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TransferReport:
    added: int
    skipped: int  # already stored (same link, or same title and date)
    problems: tuple[RowProblem, ...]


class TransferService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        news: NewsService,
        feeds: FeedService | None = None,
        *,
        tz: tzinfo = UTC,
    ) -> None:
        self._sessions = sessions
        self._news = news
        self._feeds = feeds
        self._tz = tz

    # -- items -----------------------------------------------------------------------------

    async def import_items(self, path: Path, *, broadcast: bool = False) -> TransferReport:
        """Load items from a JSON or CSV file. They are not sent to subscribers unless
        `broadcast` (an archive is old news)."""
        added = skipped = 0
        problems: list[RowProblem] = []
        for line, row in read_rows(path):
            if isinstance(row, RowProblem):
                problems.append(row)
                continue
            try:
                draft, published = self._draft(row)
            except ValidationFailed as failure:
                problems.append(RowProblem(line, failure.problem.value, dict(failure.details)))
                continue
            except _RowError as error:
                problems.append(RowProblem(line, error.code, error.details))
                continue
            if (
                published is not None
                and draft.url is None
                and await self._news.has_item(draft.title, published)
            ):
                skipped += 1  # no link to know it by: the same title and date is the same item
                continue
            try:
                await self._news.publish(
                    draft, source="import", published_at=published, broadcast=broadcast
                )
            except ValidationFailed as failure:
                if failure.problem is Problem.DUPLICATE_URL:
                    skipped += 1
                    continue
                raise
            added += 1
        return TransferReport(added, skipped, tuple(problems))

    def _draft(self, row: dict[str, Any]) -> tuple[ItemDraft, datetime | None]:
        values: dict[str, str | None] = {}
        for column in COLUMNS:
            value = row.get(column)
            if value is not None and not isinstance(value, str):
                raise _RowError(BAD_FIELD, column=column)
            values[column] = value
        draft = clean_item(values["category"], values["title"], values["url"], values["summary"])
        language = clean_language(values["language"])
        image_url = clean_image_url(values["image"])
        draft = replace(draft, language=language, image_url=image_url)
        return draft, self._date(values["published"])

    def _date(self, raw: str | None) -> datetime | None:
        if raw is None or not raw.strip():
            return None
        text = raw.strip()
        try:
            if len(text) == 10:
                parsed = datetime.combine(date.fromisoformat(text), time())
            else:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise _RowError(BAD_DATE, value=text) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=self._tz)
        return parsed.astimezone(UTC)

    async def export_items(self, out: TextIO) -> int:
        """Write every item as a JSON array, one item a line, oldest first."""
        count = 0
        last_id = 0
        out.write("[")
        while True:
            async with self._sessions() as session:
                rows = (
                    await session.execute(
                        select(Item, Category.name)
                        .join(Category, Item.category_id == Category.id)
                        .where(Item.id > last_id, Item.deleted_at.is_(None))
                        .order_by(Item.id)
                        .limit(EXPORT_BATCH)
                    )
                ).all()
            if not rows:
                break
            for item, category in rows:
                record = {
                    "category": category,
                    "title": item.title,
                    "url": item.url,
                    "summary": item.summary,
                    "published": item.published_at.isoformat(),
                    "language": item.language,
                    "image": item.image_url,
                }
                out.write(("\n" if count == 0 else ",\n") + json.dumps(record, ensure_ascii=False))
                count += 1
            last_id = rows[-1][0].id
        out.write("\n]\n")
        return count

    # -- feeds -----------------------------------------------------------------------------

    async def import_opml(self, path: Path) -> TransferReport:
        """Subscribe to the feeds of an OPML file; an outline's folder is its category.
        The poller reads them at its next run."""
        if self._feeds is None:
            raise RuntimeError("TransferService was built without a FeedService")
        added = skipped = 0
        problems: list[RowProblem] = []
        for line, found in read_opml(path):
            if isinstance(found, RowProblem):
                problems.append(found)
                continue
            url, category = found
            try:
                await self._feeds.subscribe(url, category)
            except FeedNotAdded as failure:
                if failure.problem is AddProblem.ALREADY_SUBSCRIBED:
                    skipped += 1
                else:
                    details = {"url": url, "max": CATEGORY_NAME_MAX}  # the folder name's limit
                    problems.append(RowProblem(line, _FEED_PROBLEMS[failure.problem], details))
                continue
            added += 1
        return TransferReport(added, skipped, tuple(problems))


class _RowError(Exception):
    def __init__(self, code: str, **details: Any) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | RowProblem]]:
    """(line, row) pairs from a CSV or JSON file (an array, or one object a line)."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        yield from _csv_rows(text)
    elif path.suffix.lower() in {".json", ".jsonl", ".ndjson"} or text.lstrip()[:1] in "[{":
        yield from _json_rows(text)
    else:
        yield from _csv_rows(text)


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any] | RowProblem]]:
    reader = csv.DictReader(text.splitlines(keepends=True))
    header = [name.strip().casefold() for name in reader.fieldnames or ()]
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        yield 1, RowProblem(1, BAD_CSV_HEADER, {"missing": ", ".join(missing)})
        return
    reader.fieldnames = header
    line = 1
    try:
        for record in reader:
            start = line + 1
            line = reader.line_num
            row = {k: v for k, v in record.items() if k is not None}
            yield start, row
    except csv.Error as exc:
        yield line + 1, RowProblem(line + 1, BAD_FIELD, {"column": str(exc)})


def _json_rows(text: str) -> Iterator[tuple[int, dict[str, Any] | RowProblem]]:
    decoder = json.JSONDecoder()
    position = _skip_space(text, 0)
    if text[position : position + 1] != "[":  # JSON Lines: one object a line
        for number, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                yield number, RowProblem(number, BAD_JSON)
                continue
            yield number, _object(number, value)
        return
    position += 1
    while True:
        position = _skip_space(text, position)
        if text[position : position + 1] == "]":
            return
        line = text.count("\n", 0, position) + 1
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            # past a syntax error the rest cannot be read reliably: report it and stop
            yield exc.lineno, RowProblem(exc.lineno, BAD_JSON)
            return
        yield line, _object(line, value)
        position = _skip_space(text, position)
        following = text[position : position + 1]
        if following == ",":
            position += 1
        elif following != "]":
            where = text.count("\n", 0, position) + 1
            yield where, RowProblem(where, BAD_JSON)
            return


def _object(line: int, value: Any) -> dict[str, Any] | RowProblem:
    if not isinstance(value, dict):
        return RowProblem(line, NOT_AN_OBJECT)
    return {str(k).strip().casefold(): v for k, v in value.items()}


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def read_opml(path: Path) -> Iterator[tuple[int, tuple[str, str | None] | RowProblem]]:
    """(line, (feed url, category)) for each feed outline; its folder names the category."""
    found: list[tuple[int, tuple[str, str | None] | RowProblem]] = []
    folders: list[str | None] = []
    parser = expat.ParserCreate()

    def start(name: str, attrs: dict[str, str]) -> None:
        if name != "outline":
            return
        line = parser.CurrentLineNumber
        url = (attrs.get("xmlUrl") or attrs.get("xmlurl") or "").strip()
        label = (attrs.get("text") or attrs.get("title") or "").strip() or None
        if url:
            category = next((f for f in reversed(folders) if f), None)
            found.append((line, (url, category)))
        elif (attrs.get("type") or "").lower() in {"rss", "atom"}:
            found.append((line, RowProblem(line, NO_FEED_URL, {"name": label or ""})))
        folders.append(None if url else label)

    def end(name: str) -> None:
        if name == "outline" and folders:
            folders.pop()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(path.read_bytes(), True)
    except expat.ExpatError as exc:
        found.append((exc.lineno, RowProblem(exc.lineno, BAD_OPML)))
    yield from found
