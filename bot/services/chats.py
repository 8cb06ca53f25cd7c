"""Remembering the chats the bot talks to (the delivery engine sends to them later)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import utcnow
from bot.db.models import Chat


@dataclass(frozen=True, slots=True)
class ChatInfo:
    id: int
    type: str
    title: str | None = None
    username: str | None = None


class ChatService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        # what was last written per chat, so a busy chat costs no write per message
        self._known: dict[int, ChatInfo] = {}

    async def remember(self, info: ChatInfo) -> None:
        if self._known.get(info.id) == info:
            return
        async with self._sessions.begin() as session:
            chat = await session.get(Chat, info.id)
            if chat is None:
                session.add(
                    Chat(id=info.id, type=info.type, title=info.title, username=info.username)
                )
            elif (chat.type, chat.title, chat.username) != (info.type, info.title, info.username):
                chat.type, chat.title, chat.username = info.type, info.title, info.username
                chat.updated_at = utcnow()
        if len(self._known) > 50_000:
            self._known.clear()
        self._known[info.id] = info

    def forget_cached(self, chat_id: int) -> None:
        self._known.pop(chat_id, None)

    async def is_active(self, chat_id: int) -> bool:
        async with self._sessions() as session:
            return bool(await session.scalar(select(Chat.active).where(Chat.id == chat_id)))
