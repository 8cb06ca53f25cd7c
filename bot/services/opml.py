"""Feed subscriptions as OPML 2.0: what `coopbot feeds export` writes and `feeds import` reads.

Each feed is an outline with type="rss", text (its title, else its address), title (when
known), xmlUrl and, when the feed has one, language (OPML 2.0's attribute for it: the
language of entries that do not give theirs). A feed with a category sits in a folder outline
named after it, the way feed readers group feeds; a feed without one sits at the top. There is
no htmlUrl: the bot does not keep a feed's web page.

`read_opml` reads that back, and what other feed readers write: in nested folders the
innermost names the category, and a language tag such as "fr-FR" is "fr". A file that is not
well-formed XML, or whose root is not <opml>, is refused whole, with one problem and no feed,
so an import of it changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import TextIO
from xml.etree import ElementTree as ET
from xml.parsers import expat

from bot.db.base import utcnow
from bot.feeds.parser import language_code
from bot.services.views import FeedView, RowProblem

# problems of an OPML file (worded in `bot.texts.IMPORT_PROBLEMS`)
BAD_OPML = "bad_opml"  # not well-formed XML: nothing read
NOT_OPML = "not_opml"  # XML, but its root is not <opml>: nothing read
NO_FEED_URL = "no_feed_url"
BAD_FEED_LANGUAGE = "bad_feed_language"

# characters XML 1.0 cannot hold, even escaped (a feed's title may bring them)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class Outline:
    """A feed as an OPML file gives it."""

    url: str
    category: str | None  # its innermost folder's name
    language: str | None  # an ISO 639-1 code
    title: str | None


def read_opml(path: Path) -> list[tuple[int, Outline | RowProblem]]:
    """(line, feed or problem) for each feed outline, in the file's order; for a file that
    is not OPML, its one problem alone."""
    found: list[tuple[int, Outline | RowProblem]] = []
    folders: list[str | None] = []
    rooted = False
    parser = expat.ParserCreate()

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal rooted
        line = parser.CurrentLineNumber
        if not rooted:  # the root element: OPML's, or the reading stops
            if name != "opml":
                raise _NotOpml(line, name[:40])
            rooted = True
        elif name == "outline":
            url = (attrs.get("xmlUrl") or attrs.get("xmlurl") or "").strip()
            label = (attrs.get("text") or attrs.get("title") or "").strip() or None
            if url:
                category = next((f for f in reversed(folders) if f), None)
                found.append((line, _feed(line, url, category, attrs)))
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
        error = expat.ErrorString(exc.code) or "not XML"
        return [(exc.lineno, RowProblem(exc.lineno, BAD_OPML, {"error": error}))]
    except _NotOpml as refused:
        return [(refused.line, RowProblem(refused.line, NOT_OPML, {"element": refused.name}))]
    return found


class _NotOpml(Exception):
    def __init__(self, line: int, name: str) -> None:
        super().__init__(name)
        self.line = line
        self.name = name


def _feed(line: int, url: str, category: str | None, attrs: dict[str, str]) -> Outline | RowProblem:
    tag = (attrs.get("language") or "").strip()
    language = language_code(tag) if tag else None
    if tag and language is None:
        return RowProblem(line, BAD_FEED_LANGUAGE, {"url": url, "code": tag[:16]})
    title = (attrs.get("title") or attrs.get("text") or "").strip()
    return Outline(url, category, language, title if title and title != url else None)


def write_opml(out: TextIO, feeds: Sequence[FeedView], *, now: datetime | None = None) -> int:
    """Write `feeds` as an OPML 2.0 document (see the module); returns how many."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = "Co-op News Bot feeds"
    ET.SubElement(head, "dateCreated").text = format_datetime(now or utcnow(), usegmt=True)
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for feed in feeds:
        parent = body
        if feed.category:
            if feed.category not in folders:
                folders[feed.category] = ET.SubElement(body, "outline", text=_xml(feed.category))
            parent = folders[feed.category]
        attrs = {"type": "rss", "text": _xml(feed.title or feed.url)}
        if feed.title:
            attrs["title"] = _xml(feed.title)
        attrs["xmlUrl"] = _xml(feed.url)
        if feed.language:
            attrs["language"] = feed.language
        ET.SubElement(parent, "outline", attrs)
    ET.indent(root)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(root, encoding="unicode"))
    out.write("\n")
    return len(feeds)


def _xml(text: str) -> str:
    return _NOT_XML.sub("", text)
