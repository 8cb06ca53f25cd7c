"""Plain records the emulator exposes for inspection."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CallRecord", "SentMessage", "Stats"]


@dataclass(slots=True)
class SentMessage:
    """A message the bot sent, as it currently looks in the chat."""

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

    @property
    def edited(self) -> bool:
        return self.edit_count > 0

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
    sent_messages: int = 0
    edited_messages: int = 0
    deleted_messages: int = 0
    too_many_requests: int = 0
    errors: int = 0
    per_method: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        self.requests = self.sent_messages = self.edited_messages = 0
        self.deleted_messages = self.too_many_requests = self.errors = 0
        self.per_method.clear()
