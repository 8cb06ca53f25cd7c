"""Bulk import and export of items (JSON or CSV), and of feed subscriptions (OPML).

Every row is checked like `/add` (`bot.services.validation`); a bad row is reported with
its line number and the good rows still load. Export writes what import reads back.

Columns (CSV header, or JSON object keys): category, title, url, summary, published, language,
image, category_names, version_of.
category and title are required; url and summary may be empty; published is an ISO 8601
date or date-time (without an offset it is in the bot's TIMEZONE; empty means now); language
is the item's ISO 639-1 code (fr, es…), and English when empty or absent, so files written
before items had languages still load. image is the item's picture as an https URL (may be
empty); export writes it for items that have one by URL (a photo an admin sent is known only by
Telegram's file_id, which means nothing to another bot, so it is left out). category may be
any of the category's names, in any language. category_names is the category's names in the
bot's languages, a JSON object ({"fr": "Travail décent", "es": "Trabajo decente"}; in a CSV
cell, the same JSON text); import gives the category those it has no name for yet, and never
renames it; empty or absent, nothing changes, so older files still load. version_of, for a
version of a story in another language, is the link of the story's original, which comes
earlier in the file (or is stored already); the version takes the original's category and date.

Feeds are not in these files: they travel as OPML (`export_opml`, `import_opml`; the format
is in `bot.services.opml`), which every feed reader speaks, beside the items' file.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, tzinfo
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.db.models import Category, Item
from bot.services.categories import CategoryService, NameRefused, category_key, checked_names
from bot.services.feeds import AddProblem, FeedNotAdded, FeedService
from bot.services.news import NewsService
from bot.services.opml import BAD_FEED_LANGUAGE, read_opml, write_opml
from bot.services.stories import StoryProblem, VersionRefused
from bot.services.validation import (
    CATEGORY_NAME_MAX,
    ItemDraft,
    Problem,
    ValidationFailed,
    clean_image_url,
    clean_item,
    clean_language,
)
from bot.services.views import RowProblem, TransferReport

__all__ = ["RowProblem", "TransferReport", "TransferService", "read_rows"]

COLUMNS = ("category", "title", "url", "summary", "published", "language", "image", "version_of")
NAMES = "category_names"  # an object, not text: beside the COLUMNS
REQUIRED = ("category", "title")
EXPORT_BATCH = 500

# problems of the file itself, beside the validation codes of `Problem`
BAD_JSON = "bad_json"
BAD_CSV_HEADER = "bad_csv_header"
NOT_AN_OBJECT = "not_an_object"
BAD_DATE = "bad_date"
BAD_FIELD = "bad_field"
BAD_CATEGORY_NAMES = "bad_category_names"
CATEGORY_NAME_TAKEN = "category_name_taken"  # the item loaded; that one name did not
BAD_FEED_URL = "bad_feed_url"
BAD_FEED_CATEGORY = "bad_feed_category"
UNKNOWN_STORY = "unknown_story"
_FEED_PROBLEMS = {
    AddProblem.BAD_URL: BAD_FEED_URL,
    AddProblem.BAD_CATEGORY: BAD_FEED_CATEGORY,
    AddProblem.BAD_LANGUAGE: BAD_FEED_LANGUAGE,
    None: BAD_FEED_URL,  # the feed itself failed; cannot happen without a fetch
}


class TransferService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        news: NewsService,
        feeds: FeedService | None = None,
        *,
        tz: tzinfo = UTC,
        categories: CategoryService | None = None,
    ) -> None:
        self._sessions = sessions
        self._news = news
        self._feeds = feeds
        self._tz = tz
        self._categories = categories or CategoryService(sessions, news)

    # -- items -----------------------------------------------------------------------------

    async def import_items(self, path: Path, *, broadcast: bool = False) -> TransferReport:
        """Load items from a JSON or CSV file. They are not sent to subscribers unless
        `broadcast` (an archive is old news)."""
        added = skipped = 0
        problems: list[RowProblem] = []
        named: set[tuple[str, frozenset[tuple[str, str]]]] = set()  # given once per import
        for line, row in read_rows(path):
            if isinstance(row, RowProblem):
                problems.append(row)
                continue
            try:
                draft, published = self._draft(row)
                names = _names(row.get(NAMES))
                version_of = await self._story(row)
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
            elif await self._publish_row(
                draft, published, broadcast, version_of, row, line, problems
            ):
                added += 1
            else:
                skipped += 1
            given = (category_key(draft.category), frozenset(names.items()))
            if names and given not in named:  # an item already there still names its category
                named.add(given)
                for name in await self._categories.fill_names(draft.category, names):
                    details = {"name": name, "category": draft.category}
                    problems.append(RowProblem(line, CATEGORY_NAME_TAKEN, details))
        return TransferReport(added, skipped, tuple(problems))

    async def _publish_row(
        self,
        draft: ItemDraft,
        published: datetime | None,
        broadcast: bool,
        version_of: int | None,
        row: dict[str, Any],
        line: int,
        problems: list[RowProblem],
    ) -> bool:
        """Store the item; False when it is there already (its link, or its story's version
        in that language); a story gone since is one of the `problems`."""
        try:
            await self._news.publish(
                draft,
                source="import",
                published_at=published,
                broadcast=broadcast,
                version_of=version_of,
            )
        except ValidationFailed as failure:
            if failure.problem is Problem.DUPLICATE_URL:
                return False
            raise
        except VersionRefused as refused:
            if refused.problem is StoryProblem.UNKNOWN_ITEM:
                problems.append(RowProblem(line, UNKNOWN_STORY, {"url": row.get("version_of")}))
            return False
        return True

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

    async def _story(self, row: dict[str, Any]) -> int | None:
        """The stored item a row's version_of names (by its link); None for an original."""
        raw = row.get("version_of")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if not isinstance(raw, str):
            raise _RowError(BAD_FIELD, column="version_of")
        url = raw.strip()
        original = await self._news.find_by_url(url)
        if original is None:
            raise _RowError(UNKNOWN_STORY, url=url)
        return original.id

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
                original = aliased(Item)
                rows = (
                    await session.execute(
                        select(Item, Category.name, Category.names, original.url)
                        .join(Category, Item.category_id == Category.id)
                        .outerjoin(original, Item.story_id == original.id)
                        .where(Item.id > last_id, Item.deleted_at.is_(None))
                        .order_by(Item.id)
                        .limit(EXPORT_BATCH)
                    )
                ).all()
            if not rows:
                break
            for item, category, names, original_url in rows:
                record = {
                    "category": category,
                    "title": item.title,
                    "url": item.url,
                    "summary": item.summary,
                    "published": item.published_at.isoformat(),
                    "language": item.language,
                    "image": item.image_url,
                    NAMES: dict(sorted(names.items())),
                    # an original without a link cannot be named: its versions go alone
                    "version_of": original_url,
                }
                out.write(("\n" if count == 0 else ",\n") + json.dumps(record, ensure_ascii=False))
                count += 1
            last_id = rows[-1][0].id
        out.write("\n]\n")
        return count

    # -- feeds -----------------------------------------------------------------------------

    async def import_opml(self, path: Path) -> TransferReport:
        """Subscribe to the feeds of an OPML file (`bot.services.opml`): a folder is its
        feeds' category, a feed's language and title come with it. A file that is not OPML
        changes nothing. The poller reads the new feeds at its next run."""
        feeds = self._feed_service()
        added = skipped = 0
        problems: list[RowProblem] = []
        for line, found in read_opml(path):
            if isinstance(found, RowProblem):
                problems.append(found)
                continue
            try:
                await feeds.subscribe(
                    found.url, found.category, language=found.language, title=found.title
                )
            except FeedNotAdded as failure:
                if failure.problem is AddProblem.ALREADY_SUBSCRIBED:
                    skipped += 1
                else:
                    details = {"url": found.url, "code": failure.code, "max": CATEGORY_NAME_MAX}
                    problems.append(RowProblem(line, _FEED_PROBLEMS[failure.problem], details))
                continue
            added += 1
        return TransferReport(added, skipped, tuple(problems))

    async def export_opml(self, out: TextIO) -> int:
        """Write every feed as OPML 2.0, which `import_opml` reads back to the same feeds
        (addresses, categories, languages, titles); returns how many."""
        return write_opml(out, await self._feed_service().feeds())

    def _feed_service(self) -> FeedService:
        if self._feeds is None:
            raise RuntimeError("TransferService was built without a FeedService")
        return self._feeds


class _RowError(Exception):
    def __init__(self, code: str, **details: Any) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


def _names(raw: Any) -> dict[str, str]:
    """A row's category_names: an object (JSON), or its JSON text (a CSV cell); none: {}."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    try:
        return checked_names(json.loads(raw) if isinstance(raw, str) else raw)
    except (ValueError, NameRefused, ValidationFailed):  # JSONDecodeError is a ValueError
        raise _RowError(BAD_CATEGORY_NAMES, max=CATEGORY_NAME_MAX) from None


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
