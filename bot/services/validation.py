"""Checks for item fields, shared by every way an item comes in (one-line /add, the guided
flow, imports, feeds). Problems are codes; `bot.texts` words them for people."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from telegram.constants import MessageLimit

from bot.db.models.news import CATEGORY_NAME_MAX, SUMMARY_MAX, TITLE_MAX, URL_MAX
from bot.i18n import is_language_code

IMAGE_URL_MAX = URL_MAX  # 2048, as for links
# a photo's largest size, as Telegram reports it: larger ones are refused (Telegram's own limit
# for photos is 10 MB, and a picture that big would be slow in every subscriber's chat)
PHOTO_BYTES_MAX = 10 * 1024 * 1024
CAPTION_MAX = MessageLimit.CAPTION_LENGTH  # 1024: Telegram's limit for a photo's caption

__all__ = [
    "CAPTION_MAX",
    "CATEGORY_NAME_MAX",
    "FIELDS",
    "IMAGE_URL_MAX",
    "PHOTO_BYTES_MAX",
    "SUMMARY_MAX",
    "TITLE_MAX",
    "URL_MAX",
    "ItemDraft",
    "Problem",
    "ValidationFailed",
    "check_caption",
    "check_photo_size",
    "clean_category",
    "clean_field",
    "clean_image_url",
    "clean_item",
    "clean_language",
    "clean_summary",
    "clean_title",
    "clean_url",
    "parse_add_line",
]


class Problem(enum.Enum):
    """A code (`value`, which `bot.texts` words) and, for a length, its `limit`."""

    limit: int | None

    def __new__(cls, code: str, limit: int | None = None) -> Problem:
        problem = object.__new__(cls)
        problem._value_ = code
        problem.limit = limit
        return problem

    MISSING_PARTS = "missing_parts"
    EMPTY_CATEGORY = "empty_category"
    CATEGORY_TOO_LONG = "category_too_long", CATEGORY_NAME_MAX
    EMPTY_TITLE = "empty_title"
    TITLE_TOO_LONG = "title_too_long", TITLE_MAX
    SUMMARY_TOO_LONG = "summary_too_long", SUMMARY_MAX
    BAD_URL = "bad_url"
    URL_TOO_LONG = "url_too_long", URL_MAX
    DUPLICATE_URL = "duplicate_url"
    BAD_LANGUAGE = "bad_language"
    BAD_IMAGE_URL = "bad_image_url"
    IMAGE_URL_TOO_LONG = "image_url_too_long", IMAGE_URL_MAX
    PHOTO_TOO_BIG = "photo_too_big", PHOTO_BYTES_MAX // (1024 * 1024)  # in MB
    CAPTION_TOO_LONG = "caption_too_long", CAPTION_MAX


class ValidationFailed(Exception):
    """`details` fill the problem's text; a length problem's limit is there as `max`."""

    def __init__(self, problem: Problem, **details: object) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.details = details if problem.limit is None else {"max": problem.limit, **details}


@dataclass(frozen=True, slots=True)
class ItemDraft:
    category: str
    title: str
    url: str | None
    summary: str | None
    language: str = "en"  # ISO 639-1: the language the item is written in
    image_url: str | None = None  # an https URL
    image_file_id: str | None = None  # a photo an admin sent: Telegram's file_id


def _squash(text: str) -> str:
    """Collapse runs of white space (newlines included) to single spaces."""
    return " ".join(text.split())


def clean_category(raw: str) -> str:
    name = _squash(raw)
    if not name:
        raise ValidationFailed(Problem.EMPTY_CATEGORY)
    if len(name) > CATEGORY_NAME_MAX:
        raise ValidationFailed(Problem.CATEGORY_TOO_LONG, length=len(name))
    return name


def clean_title(raw: str) -> str:
    title = _squash(raw)
    if not title:
        raise ValidationFailed(Problem.EMPTY_TITLE)
    if len(title) > TITLE_MAX:
        raise ValidationFailed(Problem.TITLE_TOO_LONG, length=len(title))
    return title


def clean_summary(raw: str | None) -> str | None:
    if raw is None:
        return None
    summary = raw.strip()
    if not summary:
        return None
    if len(summary) > SUMMARY_MAX:
        raise ValidationFailed(Problem.SUMMARY_TOO_LONG, length=len(summary))
    return summary


def clean_url(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    url = raw.strip()
    if len(url) > URL_MAX:
        raise ValidationFailed(Problem.URL_TOO_LONG, length=len(url))
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise ValidationFailed(Problem.BAD_URL) from None
    if (
        parts.scheme.lower() not in {"http", "https"}
        or not host
        or ("." not in host.strip(".") and host != "localhost")
        or any(ch.isspace() for ch in url)
    ):
        raise ValidationFailed(Problem.BAD_URL)
    return url


def clean_image_url(raw: str | None) -> str | None:
    """An item's picture by address: https only (Telegram fetches it itself, and a picture
    from a plain-http address could be swapped on the way); empty → None."""
    if raw is None or not raw.strip():
        return None
    url = raw.strip()
    if len(url) > IMAGE_URL_MAX:
        raise ValidationFailed(Problem.IMAGE_URL_TOO_LONG, length=len(url))
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise ValidationFailed(Problem.BAD_IMAGE_URL) from None
    if (
        parts.scheme.lower() != "https"
        or not host
        or ("." not in host.strip(".") and host != "localhost")
        or any(ch.isspace() for ch in url)
    ):
        raise ValidationFailed(Problem.BAD_IMAGE_URL)
    return url


def check_photo_size(file_size: int | None) -> None:
    """A photo an admin sent, by the size of its largest version (unknown counts as fine)."""
    if file_size is not None and file_size > PHOTO_BYTES_MAX:
        raise ValidationFailed(Problem.PHOTO_TOO_BIG, size=round(file_size / (1024 * 1024), 1))


def check_caption(caption: str) -> None:
    """A photo's caption as sent: Telegram cuts longer ones, so a longer one-line /add would
    arrive cut short; it is refused rather than published truncated."""
    if len(caption) > CAPTION_MAX:
        raise ValidationFailed(Problem.CAPTION_TOO_LONG, length=len(caption))


FIELDS = ("title", "category", "url", "summary")


def clean_field(field: str, raw: str | None, *, required: bool = False) -> str | None:
    """One field of an item, as typed: white space tidied, length and link checked.

    A link or summary may be empty (None) unless `required`; an empty link that is required
    is a bad link (the one-line /add, an answer in a guided flow).
    """
    if field == "category":
        return clean_category(raw or "")
    if field == "title":
        return clean_title(raw or "")
    if field == "url":
        url = clean_url(raw)
        if url is None and required:
            raise ValidationFailed(Problem.BAD_URL)
        return url
    if field == "summary":
        return clean_summary(raw)
    raise KeyError(field)


def clean_item(
    category: str | None,
    title: str | None,
    url: str | None,
    summary: str | None,
    *,
    url_required: bool = False,
) -> ItemDraft:
    """Every field of an item, the same way for each way in (/add, the guided flow, import);
    the first problem raises ValidationFailed."""
    return ItemDraft(
        category=clean_category(category or ""),
        title=clean_title(title or ""),
        url=clean_field("url", url, required=url_required),
        summary=clean_summary(summary),
    )


def clean_language(raw: str | None, default: str = "en") -> str:
    """An item language: a two-letter ISO 639-1 code ("FR" → "fr"); empty → `default`."""
    code = (raw or "").strip().lower()
    if not code:
        return default
    if not is_language_code(code):
        raise ValidationFailed(Problem.BAD_LANGUAGE, code=code[:16])
    return code


_LANGUAGE_PREFIX = re.compile(r"^\s*\[([^\]]{0,16})\]\s*")


def parse_add_line(args: str, language: str = "en") -> ItemDraft:
    """Parse `[xx] Category | Title | https://link | optional summary`, where the optional
    `[xx]` is the item's language (else `language`, the admin's interface language)."""
    if prefix := _LANGUAGE_PREFIX.match(args):
        language = clean_language(prefix.group(1), language)
        args = args[prefix.end() :]
    parts = [part.strip() for part in args.split("|")]
    if len(parts) < 3 or not args.strip():
        raise ValidationFailed(Problem.MISSING_PARTS, count=len(parts) if args.strip() else 0)
    if len(parts) > 4:
        # a summary may itself hold "|": everything after the third bar is the summary
        parts = [*parts[:3], " | ".join(parts[3:])]
    category, title, url, *rest = parts
    draft = clean_item(category, title, url, rest[0] if rest else None, url_required=True)
    return replace(draft, language=language)
