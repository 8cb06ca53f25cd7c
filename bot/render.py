"""HTML for items and lists, with every piece of data escaped and Telegram's limits kept."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, tzinfo

from telegram import Bot, Message
from telegram.constants import MessageLimit

from bot import i18n, texts
from bot.delivery.content import CAPTION_MAX, ItemMessage, send_item_message
from bot.services.views import ItemView

MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH  # 4096, counted after entity parsing
SUMMARY_LINE_MAX = 200
# a shared title becomes the inline query `@bot <title>`: Telegram holds 256 characters, and a
# few whole words are enough for the search to find the item again
SHARE_QUERY_MAX = 64
_TAG = re.compile(r"<[^>]+>")
ELLIPSIS = "…"


def visible_length(markup: str) -> int:
    """Length Telegram counts: text after HTML parsing, in UTF-16 code units."""
    plain = html.unescape(_TAG.sub("", markup))
    return len(plain.encode("utf-16-le")) // 2


def one_line(text: str, limit: int = SUMMARY_LINE_MAX) -> str:
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1].rsplit(" ", 1)[0] or line[: limit - 1]
    return cut.rstrip(" ,.;:") + ELLIPSIS


def local_time(moment: datetime, tz: tzinfo, pattern: str) -> str:
    """A stored moment in the bot's zone `tz` (TIMEZONE), never in UTC, in a numeric
    `pattern` that reads the same in every language (the one /add's scheduling asks for).

    Dates in words ("28 nov. 2017") are `Translator.date`, which converts the same way. A
    naive datetime is refused rather than taken for the server's local time.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a naive datetime cannot be shown in a time zone: {moment!r}")
    return moment.astimezone(tz).strftime(pattern)


def item_card(
    item: ItemView, tz: tzinfo, tr: i18n.Translator | None = None, *, show_number: bool = False
) -> str:
    """One item as readers see it: bold linked title, date · category (its name in the
    reader's language), one-line summary. `tr`: the reader's language (by default, the
    current update's)."""
    tr = tr or i18n.current()
    title = html.escape(item.title)
    if item.url:
        title = f'<a href="{html.escape(item.url, quote=True)}">{title}</a>'
    category = html.escape(item.category_in(tr.language))
    meta = tr(texts.ITEM_META, date=tr.date(item.published_at, tz), category=category)
    if show_number:
        meta += tr(texts.ITEM_NUMBER, id=item.id)
    lines = [f"<b>{title}</b>", f"<i>{meta}</i>"]
    if item.summary:
        lines.append(html.escape(one_line(item.summary)))
    return "\n".join(lines)


def item_list(
    header: str,
    items: Sequence[ItemView],
    tz: tzinfo,
    tr: i18n.Translator | None = None,
    *,
    footer: str = "",
) -> tuple[str, int]:
    """The header and as many cards as fit one message; returns the text and how many fit.

    At least one card is always shown: a single card is far below the limit (a 256-char
    title, a 200-char summary line), whatever the data holds.
    """
    parts = [header]
    used = visible_length(header) + visible_length(footer) + 2
    shown = 0
    for item in items:
        card = item_card(item, tz, tr)
        cost = visible_length(card) + 2
        if shown and used + cost > MAX_TEXT:
            break
        parts.append(card)
        used += cost
        shown += 1
    if footer:
        parts.append(footer)
    return "\n\n".join(parts), shown


def delivered_item(
    item: ItemView, tz: tzinfo, tr: i18n.Translator | None = None, *, footer: str | None = None
) -> str:
    """An item as pushed to subscribers: the card of /latest and a footer to manage them,
    in the subscriber's language (`footer`: another one, e.g. for an item opened by link)."""
    tr = tr or i18n.current()
    return item_card(item, tz, tr) + "\n\n" + (footer or tr(texts.DELIVERY_FOOTER))


def share_query(item: ItemView) -> str:
    """What the "Share" button puts after the bot's name in the chat the reader picks: the
    title on one line, cut at a word boundary (no "…": it would be part of the query)."""
    return trimmed(item.title, SHARE_QUERY_MAX)


def trimmed(text: str, limit: int) -> str:
    """`text` on one line, cut at a word boundary to at most `limit` characters."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit + 1].rsplit(" ", 1)[0]
    return (cut if 0 < len(cut) <= limit else line[:limit]).rstrip(" ,.;:")


def delivered_caption(
    item: ItemView, tz: tzinfo, tr: i18n.Translator | None = None, *, footer: str | None = None
) -> str:
    """The item as a photo's caption: as pushed when that fits 1,024 characters; otherwise
    without its summary, and with its title cut if even that is too long."""
    tr = tr or i18n.current()
    full = delivered_item(item, tz, tr, footer=footer)
    if visible_length(full) <= CAPTION_MAX:
        return full
    short = replace(item, summary=None)
    caption = delivered_item(short, tz, tr, footer=footer)
    title = item.title
    while visible_length(caption) > CAPTION_MAX and len(title) > 1:
        title = one_line(title, max(1, len(title) * 3 // 4))
        caption = delivered_item(replace(short, title=title), tz, tr, footer=footer)
    return caption


def item_message(
    item: ItemView,
    tz: tzinfo,
    tr: i18n.Translator | None = None,
    *,
    share: bool = True,
    footer: str | None = None,
) -> ItemMessage:
    """The item as pushed, with its picture and a "Share" button, in `tr`'s language (see
    `bot.delivery.content` for how the picture goes out)."""
    tr = tr or i18n.current()
    text = delivered_item(item, tz, tr, footer=footer)
    caption = text  # rendered again only when the item has a picture and is too long for it
    if item.has_image and visible_length(text) > CAPTION_MAX:
        caption = delivered_caption(item, tz, tr, footer=footer)
    return ItemMessage(
        text=text,
        caption=caption,
        image_url=item.image_url,
        image_file_id=item.image_file_id,
        share_label=tr(texts.SHARE_BUTTON) if share else None,
        share_query=share_query(item) if share else None,
    )


async def send_item(
    bot: Bot,
    chat_id: int,
    item: ItemView,
    tz: tzinfo,
    tr: i18n.Translator | None = None,
    *,
    footer: str | None = None,
) -> Message:
    """Show one item in a chat (a deep link, for instance) as subscribers get it: with its
    picture as a photo when the item fits the caption, else with a large preview of the
    image; a picture Telegram refuses falls back to text. Lists stay text (`item_list`)."""
    return await send_item_message(bot, chat_id, item_message(item, tz, tr, footer=footer))
