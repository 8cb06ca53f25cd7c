"""Plain records the emulator exposes for inspection."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CallRecord", "SentMessage", "Stats"]


@dataclass(slots=True)
class SentMessage:
    """A message the bot sent, as it currently looks in the chat.

    A photo message has `photo` (its PhotoSize dicts, smallest first), `caption` and
    `caption_entities`, and an empty `text`; `html` is the HTML source of the text or caption.
    """

    message_id: int
    chat_id: int
    text: str
    entities: list[dict[str, Any]]
    html: str | None
    parse_mode: str | None
    reply_markup: list[list[dict[str, Any]]] | None
    date: int
    received_at: float
    reply_to_message_id: int | None = None
    message_thread_id: int | None = None
    link_preview_options: dict[str, Any] | None = None
    disable_notification: bool = False
    edit_count: int = 0
    edit_date: int | None = None
    edited_at: float | None = None
    deleted: bool = False
    history: list[str] = field(default_factory=list)
    photo: list[dict[str, Any]] | None = None
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    photo_url: str | None = None  # the URL the photo was fetched from, if sent by URL

    @property
    def edited(self) -> bool:
        return self.edit_count > 0

    @property
    def is_photo(self) -> bool:
        return self.photo is not None

    @property
    def file_id(self) -> str | None:
        """The file_id of the photo's largest size (None for a text message)."""
        return self.photo[-1]["file_id"] if self.photo else None

    @property
    def file_unique_id(self) -> str | None:
        return self.photo[-1]["file_unique_id"] if self.photo else None

    @property
    def body(self) -> str:
        """What the reader reads: the text, or a photo's caption."""
        return (self.caption or "") if self.photo is not None else self.text

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """All inline buttons, flattened row by row."""
        return [button for row in self.reply_markup or () for button in row]


@dataclass(slots=True)
class CallRecord:
    """One Bot API request as the emulator received it."""

    method: str
    params: dict[str, Any]
    status: int
    received_at: float


@dataclass
class Stats:
    """Counters since start (or the last :meth:`reset`)."""

    requests: int = 0
    sent_messages: int = 0  # photos included
    sent_photos: int = 0
    edited_messages: int = 0
    deleted_messages: int = 0
    too_many_requests: int = 0
    errors: int = 0
    per_method: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        self.requests = self.sent_messages = self.sent_photos = self.edited_messages = 0
        self.deleted_messages = self.too_many_requests = self.errors = 0
        self.per_method.clear()
