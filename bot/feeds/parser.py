"""Turn a fetched RSS 2.0, RSS 1.0 or Atom document into plain entries.

Titles and summaries come out as plain text (markup stripped, entities decoded); nothing
here decides about categories or validation: `bot.services.feed_poller` does.

An entry's language is what the document says, the entry's own word first (`xml:lang` on it
or its title, `<dc:language>`), else the feed's (RSS `<language>`, `xml:lang` on the feed),
cut to its ISO 639-1 primary subtag ("fr-FR" → "fr"); a tag we do not know counts as silence.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from bot.feeds.fetcher import FeedError, FeedErrorCode
from bot.i18n import is_language_code

_BLOCKS = {
    "p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "section", "article", "header", "footer", "hr", "figure",
}  # fmt: skip
_SKIPPED = {"script", "style", "head", "title", "noscript", "template"}
_LEFTOVER_ENTITY = re.compile(r"&(#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});")
_HTML_TYPES = {"text/html", "application/xhtml+xml"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Plain text from HTML: tags dropped, entities decoded, one line per paragraph."""
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    return _tidy("".join(extractor.parts))


def _tidy(text: str) -> str:
    # feeds often escape twice ("&amp;amp;"): decode what is left once more
    if _LEFTOVER_ENTITY.search(text):
        text = html.unescape(text)
    lines = (" ".join(line.split()) for line in text.replace("\xa0", " ").splitlines())
    return "\n".join(line for line in lines if line)


def _text(value: str | None, detail: dict[str, Any] | None) -> str:
    if not value:
        return ""
    if detail is None or detail.get("type") in _HTML_TYPES:
        return html_to_text(value)
    return _tidy(value)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    key: str  # hash of the guid, else the link, else the title: what "seen" remembers
    title: str
    link: str | None
    summary: str | None
    published: datetime | None
    categories: tuple[str, ...]
    language: str | None = None  # ISO 639-1, from the entry or else the feed; None: unsaid
    image: str | None = None  # the entry's picture, as the feed gives it (any scheme)
    # the same story in other languages: <link rel="alternate" hreflang="fr" href="…">
    alternates: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    version: str  # "rss20", "rss10", "atom10"...
    entries: tuple[FeedEntry, ...]
    language: str | None = None  # the feed's own (ISO 639-1), if it says a known one


def language_code(tag: object) -> str | None:
    """The ISO 639-1 code of a language tag ("fr-FR", "pt_BR", "ES" → "fr", "pt", "es");
    None for anything else (empty, "x-klingon", "fra", a code CLDR does not know)."""
    if not isinstance(tag, str):
        return None
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if len(primary) == 2 and is_language_code(primary) else None


def _entry_language(entry: dict[str, Any]) -> str | None:
    # feedparser gives xml:lang in each text's detail (inherited from the feed when the
    # entry says nothing) and <dc:language> as `language`
    tags = [entry.get("language")]
    tags += [(entry.get(name) or {}).get("language") for name in ("title_detail", "summary_detail")]
    tags += [content.get("language") for content in entry.get("content") or ()]
    return next((code for tag in tags if (code := language_code(tag))), None)


def _links(entry: dict[str, Any], language: str | None) -> tuple[str | None, tuple[str, ...]]:
    """The entry's own link, and its links in other languages (alternates with a hreflang).

    feedparser's `link` is the last alternate, which may be another language's: the own
    link is the first alternate without a hreflang, or with the entry's own language."""
    own, others = None, []
    for link in entry.get("links") or ():
        href = (link.get("href") or "").strip()
        if link.get("rel") != "alternate" or not href:
            continue
        hreflang = language_code(link.get("hreflang"))
        if hreflang is None or hreflang == language:
            own = own or href
        else:
            others.append(href)
    own = own or (entry.get("link") or "").strip() or None
    return own, tuple(href for href in others if href != own)


def entry_key(guid: str | None, link: str | None, title: str) -> str:
    if guid and guid.strip():
        raw = "guid:" + guid.strip()
    elif link and link.strip():
        raw = "link:" + link.strip()
    else:
        raw = "title:" + title
    return hashlib.sha256(raw.encode()).hexdigest()


def _date(entry: dict[str, Any]) -> datetime | None:
    for field in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(field)
        if parsed:
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _summary(entry: dict[str, Any]) -> str | None:
    summary = _text(entry.get("summary"), entry.get("summary_detail"))
    if not summary:
        for content in entry.get("content") or ():
            summary = _text(content.get("value"), content)
            if summary:
                break
    return summary or None


def _is_image(media: dict[str, Any]) -> bool:
    return str(media.get("type") or "").lower().startswith("image/")


def _entry_image(entry: dict[str, Any]) -> str | None:
    """The entry's picture: an `enclosure` of an image type, else a `media:content` that is an
    image (medium="image" or an image type), else the first `media:thumbnail`. The first with
    an https address wins; `bot.services.feed_poller` checks it like any image URL."""
    candidates = [e.get("href") for e in entry.get("enclosures") or () if _is_image(e)]
    candidates += [
        m.get("url")
        for m in entry.get("media_content") or ()
        if str(m.get("medium") or "").lower() == "image" or _is_image(m)
    ]
    candidates += [t.get("url") for t in entry.get("media_thumbnail") or ()]
    urls = [url.strip() for url in candidates if isinstance(url, str) and url.strip()]
    return next((url for url in urls if url.lower().startswith("https://")), None)


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse bytes we fetched ourselves; raises FeedError(NOT_A_FEED) for anything else."""
    headers = {"content-location": url}  # relative links resolve against the feed's URL
    if content_type:
        headers["content-type"] = content_type
    # imported at the first feed, not at start: a bot without feeds never needs its ~1 MB
    import feedparser

    document = feedparser.parse(body, response_headers=headers, sanitize_html=True)
    if not document.get("version"):
        reason = document.get("bozo_exception")
        detail = reason.__class__.__name__ if reason is not None else "no RSS or Atom"
        raise FeedError(FeedErrorCode.NOT_A_FEED, detail)
    feed_language = language_code(document.feed.get("language")) or language_code(
        (document.feed.get("title_detail") or {}).get("language")
    )
    entries = []
    for raw in document.entries:
        title = _text(raw.get("title"), raw.get("title_detail"))
        language = _entry_language(raw) or feed_language
        link, alternates = _links(raw, language)
        entries.append(
            FeedEntry(
                key=entry_key(raw.get("id"), link, title),
                title=title,
                link=link,
                summary=_summary(raw),
                published=_date(raw),
                categories=tuple(
                    term.strip()
                    for tag in raw.get("tags") or ()
                    if (term := tag.get("term") or tag.get("label")) and term.strip()
                ),
                language=language,
                image=_entry_image(raw),
                alternates=alternates,
            )
        )
    feed_title = _text(document.feed.get("title"), document.feed.get("title_detail"))
    return ParsedFeed(
        title=feed_title or None,
        version=document.version,
        entries=tuple(entries),
        language=feed_language,
    )
