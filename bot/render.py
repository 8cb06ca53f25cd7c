"""HTML for items and lists, with every piece of data escaped and Telegram's limits kept."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import datetime, tzinfo

from telegram.constants import MessageLimit

from bot import texts
from bot.services.views import ItemView

MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH  # 4096, counted after entity parsing
SUMMARY_LINE_MAX = 200
_TAG = re.compile(r"<[^>]+>")


def visible_length(markup: str) -> int:
    """Length Telegram counts: text after HTML parsing, in UTF-16 code units."""
    plain = html.unescape(_TAG.sub("", markup))
    return len(plain.encode("utf-16-le")) // 2


def one_line(text: str, limit: int = SUMMARY_LINE_MAX) -> str:
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1].rsplit(" ", 1)[0] or line[: limit - 1]
    return cut.rstrip(" ,.;:") + texts.ELLIPSIS


def local_time(moment: datetime, tz: tzinfo, pattern: str = texts.DATE_FORMAT) -> str:
    """A stored moment as people read it: in the bot's zone `tz` (TIMEZONE), never in UTC.

    Every date or time the bot shows goes through here, so a zone far from UTC cannot show
    one date in a list and another in a preview. A naive datetime is refused rather than
    taken for the server's local time.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a naive datetime cannot be shown in a time zone: {moment!r}")
    return moment.astimezone(tz).strftime(pattern)


def item_card(item: ItemView, tz: tzinfo, *, show_number: bool = False) -> str:
    """One item as readers see it: bold linked title, date · category, one-line summary."""
    title = html.escape(item.title)
    if item.url:
        title = f'<a href="{html.escape(item.url, quote=True)}">{title}</a>'
    meta = texts.ITEM_META.format(
        date=local_time(item.published_at, tz),
        category=html.escape(item.category),
    )
    if show_number:
        meta += texts.ITEM_NUMBER.format(id=item.id)
    lines = [f"<b>{title}</b>", f"<i>{meta}</i>"]
    if item.summary:
        lines.append(html.escape(one_line(item.summary)))
    return "\n".join(lines)


def item_list(
    header: str, items: Sequence[ItemView], tz: tzinfo, *, footer: str = ""
) -> tuple[str, int]:
    """The header and as many cards as fit one message; returns the text and how many fit.

    At least one card is always shown: a single card is far below the limit (a 256-char
    title, a 200-char summary line), whatever the data holds.
    """
    parts = [header]
    used = visible_length(header) + visible_length(footer) + 2
    shown = 0
    for item in items:
        card = item_card(item, tz)
        cost = visible_length(card) + 2
        if shown and used + cost > MAX_TEXT:
            break
        parts.append(card)
        used += cost
        shown += 1
    if footer:
        parts.append(footer)
    return "\n\n".join(parts), shown


def delivered_item(item: ItemView, tz: tzinfo) -> str:
    """An item as pushed to subscribers: the card of /latest and a footer to manage them."""
    return item_card(item, tz) + "\n\n" + texts.DELIVERY_FOOTER
