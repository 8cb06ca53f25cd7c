"""Unfinished guided flows (/add, /edit), kept in the database by (chat, user).

The bot may restart in the middle of a flow; the next message picks it up where it was.
A draft left alone for longer than `DRAFT_TTL` expires, and the user is told so once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import utcnow
from bot.db.models import Draft
from bot.db.results import rowcount

DRAFT_TTL = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class DraftState:
    kind: str  # "add" or "edit"
    step: str
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    expired: bool = False

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]


class DraftService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        now: Callable[[], datetime] = utcnow,
        ttl: timedelta = DRAFT_TTL,
    ) -> None:
        self._sessions = sessions
        self.now = now  # swapped by tests for a controllable clock
        self.ttl = ttl

    async def load(self, chat_id: int, user_id: int) -> DraftState | None:
        """The draft, or None; an expired one is removed and returned once with expired=True."""
        async with self._sessions.begin() as session:
            row = await session.get(Draft, (chat_id, user_id))
            if row is None:
                return None
            state = DraftState(row.kind, row.step, MappingProxyType(dict(row.data)))
            if self.now() - row.updated_at > self.ttl:
                await session.delete(row)
                return DraftState(row.kind, row.step, state.data, expired=True)
            return state

    async def save(
        self, chat_id: int, user_id: int, kind: str, step: str, data: Mapping[str, Any]
    ) -> DraftState:
        async with self._sessions.begin() as session:
            row = await session.get(Draft, (chat_id, user_id))
            if row is None:
                row = Draft(chat_id=chat_id, user_id=user_id)
                session.add(row)
            row.kind, row.step, row.data = kind, step, dict(data)
            row.updated_at = self.now()
        return DraftState(kind, step, MappingProxyType(dict(data)))

    async def discard(self, chat_id: int, user_id: int) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(Draft).where(Draft.chat_id == chat_id, Draft.user_id == user_id)
            )
            return rowcount(result) > 0
