"""A digest as Telegram messages: one message, or several when it would pass 4,096 characters
(counted as Telegram counts them, after HTML parsing); items grouped by category, titles
linked, in the chat's language."""

from __future__ import annotations

import html

from bot import i18n, texts
from bot.render import MAX_TEXT, visible_length
from bot.services.digests import DigestContent

# markup only, no words: the same in every language
CATEGORY = "<b>{name}</b>"
LINK_LINE = '• <a href="{url}">{title}</a>'
PLAIN_LINE = "• {title}"


def _line(title: str, url: str | None) -> str:
    if url:
        return LINK_LINE.format(url=html.escape(url, quote=True), title=html.escape(title))
    return PLAIN_LINE.format(title=html.escape(title))


def digest_pages(content: DigestContent, tr: i18n.Translator, limit: int = MAX_TEXT) -> list[str]:
    """The pages of `content` ([] when it lists nothing)."""
    if not content.count:
        return []
    pages: list[str] = []
    page = tr.plural(texts.DIGEST_HEADER, content.count)
    length = visible_length(page)

    def add(block: str, heading: str | None) -> None:
        nonlocal page, length
        size = visible_length(block) + 1
        if length + size > limit:
            pages.append(page)
            page = tr(texts.DIGEST_CONTINUED)
            if heading is not None:
                page += "\n" + heading
            length = visible_length(page)
        page += "\n" + block
        length += size

    for name, items in content.groups:
        heading = CATEGORY.format(name=html.escape(name))
        add("\n" + heading, None)
        for item in items:
            add(_line(item.title, item.url), heading)
    pages.append(page)
    return pages
