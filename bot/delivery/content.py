"""An item's message, and how its picture goes out.

    item ─render─▶ ItemMessage ─how()─▶ a photo with the item as caption   (fits 1,024)
                                      ▶ text with a large preview of the image URL
                                      ▶ a photo with a shortened caption   (only a file_id)
                                      ▶ text, previews off                 (no picture, or broken)

The sender, corrections and single-item views all decide the same way, here. The picture is
handed to Telegram as its URL or file_id: the bot never downloads it.
"""

from __future__ import annotations

import enum
import functools
import json
from dataclasses import dataclass

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
)
from telegram.constants import MessageLimit, ParseMode

from bot.delivery.telegram_errors import Next, Verdict, answered

CAPTION_MAX = MessageLimit.CAPTION_LENGTH  # 1,024, counted after entity parsing
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def large_preview(url: str) -> LinkPreviewOptions:
    """A large preview of `url` above the text. `is_disabled=False` is spelled out: PTB fills
    the fields left unset from its Defaults, which turn previews off in this bot."""
    return LinkPreviewOptions(
        is_disabled=False, url=url, prefer_large_media=True, show_above_text=True
    )


class Shape(enum.Enum):
    TEXT = "text"  # previews off
    PREVIEW = "preview"  # text with a large preview of the image above it
    PHOTO = "photo"  # the picture with the item (or a shortened version) as caption


@dataclass(frozen=True, slots=True)
class ItemMessage:
    """What a reader gets for an item, in one language.

    `caption` is `text` itself when it fits a caption, else a shortened version (for a picture
    known only by its file_id, which has no URL to preview). `image_broken`: Telegram refused
    the picture once, so the item goes out as text from then on.
    """

    text: str
    caption: str
    image_url: str | None = None
    image_file_id: str | None = None
    image_broken: bool = False
    share_label: str | None = None  # the "Share" button: its label and the inline query
    share_query: str | None = None

    @property
    def has_picture(self) -> bool:
        return bool(self.image_url or self.image_file_id) and not self.image_broken

    @property
    def shape(self) -> Shape:
        if not self.has_picture:
            return Shape.TEXT
        if self.caption == self.text or not self.image_url:
            return Shape.PHOTO
        return Shape.PREVIEW

    @property
    def picture(self) -> str | None:
        """What to hand Telegram: the file_id once known, else the URL."""
        return self.image_file_id or self.image_url

    @property
    def picture_preview(self) -> LinkPreviewOptions:
        """A large preview of the picture's URL above the text (previews off without one)."""
        if self.has_picture and self.image_url:
            return large_preview(self.image_url)
        return NO_PREVIEW

    @property
    def markup(self) -> InlineKeyboardMarkup | None:
        if not self.share_label or self.share_query is None:
            return None
        button = InlineKeyboardButton(self.share_label, switch_inline_query=self.share_query)
        return InlineKeyboardMarkup([[button]])

    @property
    def markup_json(self) -> str | None:
        """`reply_markup` as JSON, for the sender's ready-made request bodies."""
        return _markup_json(self.share_label, self.share_query)


@functools.lru_cache(maxsize=256)
def _markup_json(label: str | None, query: str | None) -> str | None:
    if not label or query is None:
        return None
    button = {"text": label, "switch_inline_query": query}
    return json.dumps({"inline_keyboard": [[button]]}, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Rendered:
    """An item's message as the sender read it, and the item revision it is at least as new
    as (pushes send it, corrections edit messages into it)."""

    revision: int
    message: ItemMessage


async def send_item_message(bot: Bot, chat_id: int, message: ItemMessage) -> Message:
    """Send one item to one chat the way the sender does (for single-item views such as a
    deep link): a photo when the item fits its caption, else text with a large preview of
    the image; a picture Telegram refuses falls back to text."""
    if message.shape is Shape.PHOTO:
        sent = await answered(
            bot.send_photo(
                chat_id,
                message.picture or "",
                caption=message.caption,
                parse_mode=ParseMode.HTML,
                reply_markup=message.markup,
            )
        )
        if not isinstance(sent, Verdict):
            return sent
        if sent.next is not Next.PICTURE_REFUSED:
            sent.raise_again()
    preview = message.picture_preview if message.shape is Shape.PREVIEW else NO_PREVIEW
    return await bot.send_message(
        chat_id,
        message.text,
        parse_mode=ParseMode.HTML,
        link_preview_options=preview,
        reply_markup=message.markup,
    )
