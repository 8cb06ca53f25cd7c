"""Quiet hours (/quiet): a window of the day, in the chat's time zone, when pushes arrive
without a sound. Stored on the chat (chats.quiet_start/quiet_end, minutes after local
midnight); the sender reads them with each claimed batch and decides at each send."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import utcnow
from bot.db.models import Chat

# "22:00-07:00", "7:30 - 8:15", "22.00–07.00" (an en dash, as phones type it)
_WINDOW = re.compile(r"\s*(\d{1,2})[:.h](\d{2})\s*[-–—]\s*(\d{1,2})[:.h](\d{2})\s*", re.IGNORECASE)


class BadWindow(ValueError):
    """Not a window of the day: a time that does not exist, or no time at all."""


class EmptyWindow(ValueError):
    """The window starts and ends at the same minute: no quiet hours at all."""


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A chat's quiet hours (None: none) and the time zone they are in."""

    start: int | None
    end: int | None
    timezone: str

    @property
    def on(self) -> bool:
        return self.start is not None and self.end is not None

    @staticmethod
    def clock(minutes: int) -> str:
        return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_window(text: str) -> tuple[int, int]:
    """ "22:00-07:00" → (1320, 420), minutes after midnight."""
    match = _WINDOW.fullmatch(text)
    if match is None:
        raise BadWindow(text)
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise BadWindow(text)
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end:
        raise EmptyWindow(text)
    return start, end


class QuietHoursService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], default_timezone: str) -> None:
        self._sessions = sessions
        self._default_timezone = default_timezone  # a chat without its own zone uses this

    async def get(self, chat_id: int) -> QuietHours:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Chat.quiet_start, Chat.quiet_end, Chat.timezone).where(
                        Chat.id == chat_id
                    )
                )
            ).first()
        if row is None:
            return QuietHours(None, None, self._default_timezone)
        return QuietHours(row.quiet_start, row.quiet_end, row.timezone or self._default_timezone)

    async def set(self, chat_id: int, start: int | None, end: int | None) -> QuietHours:
        """Quiet from `start` to `end` (minutes after local midnight); None, None: off."""
        if (start is None) != (end is None) or (start is not None and start == end):
            raise EmptyWindow(f"{start}-{end}")
        async with self._sessions.begin() as session:
            chat = await session.get(Chat, chat_id, with_for_update=True)
            if chat is None:  # a chat seen for the first time by this very update
                chat = Chat(id=chat_id, type="private")
                session.add(chat)
            chat.quiet_start, chat.quiet_end = start, end
            chat.updated_at = utcnow()
            return QuietHours(start, end, chat.timezone or self._default_timezone)
