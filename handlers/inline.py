"""Inline mode: `@CoopNewsBot housing` in any chat lists matching items as the user types.

Empty text lists the latest items. Each result shows the title and "date · category" in the
reader's language; choosing one posts the item's card, with its link and a button that opens
the item in the bot (`t.me/<bot>?start=item_<id>`, handled by /start).

Text is matched by the search service, with /search's syntax (words, "a phrase", -word,
or). Paging is Telegram's: the answer carries `next_offset`, and Telegram asks again with it
as the query's `offset` when the user scrolls. Our offset is `<results shown so far>:<position>`
(the keyset cursor of the last item shown: the latest items' or the search's), 10 results a
page and at most 50 in all. An
offset this module did not make (forged, or from an older release) gets an empty answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import InlineQueryLimit

from bot import i18n, texts
from bot.context import BotContext
from bot.render import item_card
from bot.services.search import SearchCursor
from bot.services.stories import Reader
from bot.services.views import Cursor, ItemView
from handlers.updates import inline_query_of

PAGE_SIZE = 10
MAX_RESULTS = 50  # what we offer in all; Telegram's own limit is 50 per answer
# answers depend on the user's language (and their "News in"), so they are personal; items
# change rarely, and a short cache keeps a correction visible within half a minute
CACHE_SECONDS = 30
NEXT_OFFSET_MAX = InlineQueryLimit.MAX_OFFSET_LENGTH  # 64 bytes
OPEN_BOT_PARAMETER = "inline"  # /start inline: the welcome


@dataclass(frozen=True, slots=True)
class _Found:
    items: tuple[ItemView, ...]
    next_position: str | None  # where the next page starts; None: nothing follows


# -- offsets ---------------------------------------------------------------------------------


def _encode_offset(shown: int, position: str) -> str:
    offset = f"{shown}:{position}"
    return offset if len(offset.encode()) <= NEXT_OFFSET_MAX else ""


def _decode_offset(offset: str) -> tuple[int, str] | None:
    """(results shown so far, position) of an offset we made; None when forged."""
    shown, colon, position = offset.partition(":")
    if not colon or not shown.isascii() or not shown.isdigit() or len(shown) > 2:
        return None
    count = int(shown)
    if not 0 < count < MAX_RESULTS or not position:
        return None
    return count, position


def _encode_cursor(cursor: Cursor) -> str:
    return f"{cursor.published_us}.{cursor.item_id}"


def _decode_cursor(position: str) -> Cursor | None:
    published, dot, item_id = position.partition(".")
    if not dot or not published.lstrip("-").isdigit() or not item_id.isdigit():
        return None
    if len(published) > 20 or len(item_id) > 19 or not published.isascii():
        return None
    published_us, number = int(published), int(item_id)
    if abs(published_us) > 2**62 or not 0 < number < 2**63:
        return None
    return Cursor(published_us, number)


# -- finding items -----------------------------------------------------------------------------


async def _latest(
    context: BotContext, limit: int, position: str | None, reader: Reader
) -> _Found | None:
    after = None
    if position is not None:
        after = _decode_cursor(position)
        if after is None:
            return None
    page = await context.services.news.page(limit, after=after, reader=reader)
    following = _encode_cursor(page.items[-1].cursor) if page.more and page.items else None
    return _Found(page.items, following)


async def _matching(
    context: BotContext,
    text: str,
    limit: int,
    position: str | None,
    reader: Reader,
) -> _Found | None:
    """The best matches for `text` (the /search syntax), after the search cursor `position`."""
    after = None
    if position is not None:
        try:
            after = SearchCursor.decode(position)
        except ValueError:
            return None
    page = await context.services.search.search(text, limit=limit, after=after, reader=reader)
    following = page.cursor.encode() if page.more and page.cursor is not None else None
    return _Found(page.items, following)


# -- rendering -----------------------------------------------------------------------------


def open_item_url(bot_username: str, item_id: int) -> str:
    """The deep link that shows an item in a private chat with the bot (/start item_<id>)."""
    return f"https://t.me/{bot_username}?start=item_{item_id}"


def _result(item: ItemView, tr: i18n.Translator, context: BotContext) -> InlineQueryResultArticle:
    tz = context.services.settings.tz
    preview = (
        LinkPreviewOptions(
            is_disabled=False,  # explicit: PTB would merge in the bot's default (disabled)
            url=item.image_url,
            prefer_large_media=True,
            show_above_text=True,
        )
        if item.image_url
        else LinkPreviewOptions(is_disabled=True)
    )
    button = InlineKeyboardButton(
        tr(texts.INLINE_OPEN_ITEM_BUTTON), url=open_item_url(context.bot.username, item.id)
    )
    return InlineQueryResultArticle(
        id=f"item_{item.id}",
        title=item.title,
        description=tr(
            texts.ITEM_META,
            date=tr.date(item.published_at, tz),
            category=item.category_in(tr.language),
        ),
        input_message_content=InputTextMessageContent(
            item_card(item, tz, tr), link_preview_options=preview
        ),
        reply_markup=InlineKeyboardMarkup([[button]]),
        thumbnail_url=item.image_url,
    )


async def _reader(update: Update, context: BotContext) -> tuple[i18n.Translator, Reader]:
    """The user's language and "News in": those of their private chat with the bot when they
    chose them there (/language), else their Telegram app's language and every item."""
    user = inline_query_of(update).from_user
    languages = await context.services.chats.languages(user.id)
    language = languages.interface if languages.chosen else i18n.negotiate(user.language_code)
    return i18n.translator(language), Reader(language, languages.news)


async def on_inline_query(update: Update, context: BotContext) -> None:
    query = inline_query_of(update)
    text = " ".join(query.query.split())
    shown, position = 0, None
    if query.offset:
        decoded = _decode_offset(query.offset)
        if decoded is None:  # forged: answered before anything is read
            await query.answer([], cache_time=CACHE_SECONDS, is_personal=True)
            return
        shown, position = decoded
    tr, reader = await _reader(update, context)
    limit = min(PAGE_SIZE, MAX_RESULTS - shown)
    if text:
        found = await _matching(context, text, limit, position, reader)
    else:
        found = await _latest(context, limit, position, reader)
    if found is None:  # a position we did not make
        await query.answer([], cache_time=CACHE_SECONDS, is_personal=True)
        return
    results = [_result(item, tr, context) for item in found.items]
    total = shown + len(results)
    # None, not "", when nothing follows: PTB 22.8's ExtBot with Defaults takes a top-level ""
    # for an empty list of poll options and sends next_offset "[]" (_insert_defaults, step 6)
    next_offset = None
    if found.next_position is not None and results and total < MAX_RESULTS:
        next_offset = _encode_offset(total, found.next_position) or None
    button = None
    if not results and not query.offset:
        button = InlineQueryResultsButton(
            text=tr(texts.INLINE_OPEN_BOT), start_parameter=OPEN_BOT_PARAMETER
        )
    await query.answer(
        results,
        next_offset=next_offset,
        cache_time=CACHE_SECONDS,
        is_personal=True,
        button=button,
    )
