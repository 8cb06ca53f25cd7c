"""Remembering the chats the bot talks to (the delivery engine sends to them later), and
the languages each one speaks and reads."""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import i18n
from bot.db.base import utcnow
from bot.db.models import Chat
from bot.services.invalidation import announce, chat_changed


@dataclass(frozen=True, slots=True)
class ChatInfo:
    id: int
    type: str
    title: str | None = None
    username: str | None = None
    # the interface language of the user's app, negotiated ("fr-CA" → "fr"); None: no user
    app_language: str | None = None


@dataclass(frozen=True, slots=True)
class ChatLanguages:
    interface: str  # the language the bot speaks in this chat
    chosen: bool  # set with /language (else a private chat follows its user's app)
    news: frozenset[str] | None  # the "News in" choices; None: every language

    def receives(self, item_language: str) -> bool:
        return self.receives_choice(i18n.news_choice(item_language))

    def receives_choice(self, choice: str) -> bool:
        """Whether a "News in" choice ("en", …, "other") is on for this chat."""
        return self.news is None or choice in self.news


def _languages(chat: Chat) -> ChatLanguages:
    return ChatLanguages(
        i18n.supported(chat.language),
        chat.language_chosen,
        i18n.decode_news_choices(chat.news_languages),
    )


ENGLISH_EVERYTHING = ChatLanguages(i18n.ENGLISH, False, None)


class ChatService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        # what was last written per chat, so a busy chat costs no write (or read) per message;
        # on PostgreSQL a change by any process drops the chat's entry (its notification, see
        # `bot.services.invalidation`), and nothing is kept while notifications may be missed
        self._known: dict[int, tuple[ChatInfo, ChatLanguages]] = {}
        self._caching = True
        # bumped whenever entries are dropped: what was read before must not be kept then
        self._generation = 0

    @staticmethod
    def _cache_key(info: ChatInfo) -> ChatInfo:
        # a group keeps the language of the member who came first: who speaks now is no news
        return (
            info
            if info.type == "private"
            else ChatInfo(info.id, info.type, info.title, info.username)
        )

    async def remember(self, info: ChatInfo) -> ChatLanguages:
        """Record the chat (new, renamed, or a private chat whose app changed language) and
        return its languages."""
        known = self._known.get(info.id)
        key = self._cache_key(info)
        if known is not None and known[0] == key:
            return known[1]
        generation = self._generation
        async with self._sessions.begin() as session:
            chat = await session.get(Chat, info.id)
            if chat is None:
                chat = Chat(
                    id=info.id,
                    type=info.type,
                    title=info.title,
                    username=info.username,
                    language=info.app_language or i18n.ENGLISH,
                    language_chosen=False,
                )
                session.add(chat)
            else:
                if (chat.type, chat.title, chat.username) != (info.type, info.title, info.username):
                    chat.type, chat.title, chat.username = info.type, info.title, info.username
                    chat.updated_at = utcnow()
                if (
                    info.type == "private"
                    and info.app_language
                    and not chat.language_chosen
                    and chat.language != info.app_language
                ):
                    chat.language = info.app_language
                    await announce(session, chat_changed(info.id))
            languages = _languages(chat)
        self._cache(key, languages, generation)
        return languages

    def _cache(self, key: ChatInfo, languages: ChatLanguages, generation: int) -> None:
        if not self._caching or generation != self._generation:
            self._known.pop(key.id, None)
            return
        if len(self._known) > 50_000:
            self._known.clear()
        self._known[key.id] = (key, languages)

    def forget_cached(self, chat_id: int) -> None:
        self._known.pop(chat_id, None)
        self._generation += 1

    def set_caching(self, on: bool) -> None:
        """Keep each chat's languages in memory (on) or read them every time (off); either
        way what is kept now is dropped."""
        self._known.clear()
        self._generation += 1
        self._caching = on

    async def is_active(self, chat_id: int) -> bool:
        async with self._sessions() as session:
            return bool(await session.scalar(select(Chat.active).where(Chat.id == chat_id)))

    async def languages(self, chat_id: int) -> ChatLanguages:
        known = self._known.get(chat_id)
        if known is not None:
            return known[1]
        async with self._sessions() as session:
            chat = await session.get(Chat, chat_id)
            return ENGLISH_EVERYTHING if chat is None else _languages(chat)

    async def language_of(self, chat_id: int) -> str:
        """The language to write to this chat in (English for a chat never seen)."""
        return (await self.languages(chat_id)).interface

    async def language_chosen(self, chat_id: int) -> bool:
        return (await self.languages(chat_id)).chosen

    async def languages_of(self, chat_ids: Iterable[int]) -> dict[int, str]:
        ids = sorted(set(chat_ids))
        found: dict[int, str] = {}
        if ids:
            async with self._sessions() as session:
                rows = await session.execute(select(Chat.id, Chat.language).where(Chat.id.in_(ids)))
                found = {chat_id: i18n.supported(language) for chat_id, language in rows}
        return {chat_id: found.get(chat_id, i18n.ENGLISH) for chat_id in ids}

    async def choose_language(self, chat_id: int, language: str) -> ChatLanguages:
        """/language: the chat's interface language from now on, whatever its app says."""
        chosen = i18n.supported(language)

        def choose(chat: Chat) -> None:
            chat.language, chat.language_chosen = chosen, True

        return await self._change(chat_id, choose)

    async def choose_news(self, chat_id: int, choices: frozenset[str] | None) -> ChatLanguages:
        """/language's "News in": which item languages this chat receives (None: all)."""
        if choices is not None and not choices:
            raise ValueError("a chat must receive news in at least one language")
        news = i18n.encode_news_choices(choices)

        def choose(chat: Chat) -> None:
            chat.news_languages = news

        return await self._change(chat_id, choose)

    async def _change(self, chat_id: int, choose: Callable[[Chat], None]) -> ChatLanguages:
        generation = self._generation
        async with self._sessions.begin() as session:
            chat = await session.get(Chat, chat_id, with_for_update=True)
            if chat is None:  # a chat seen for the first time by this very update
                chat = Chat(id=chat_id, type="private")
                session.add(chat)
            choose(chat)
            await announce(session, chat_changed(chat_id))
            languages = _languages(chat)
        known = self._known.get(chat_id)
        if known is not None:
            self._cache(known[0], languages, generation)
        return languages

    # -- the chat's time zone (digests, quiet hours) -------------------------------------------

    async def time_zone(self, chat_id: int) -> str | None:
        """The chat's own IANA time zone; None: the TIMEZONE setting applies."""
        async with self._sessions() as session:
            return await session.scalar(select(Chat.timezone).where(Chat.id == chat_id))

    async def set_time_zone(self, chat_id: int, name: str | None) -> str | None:
        """Set (or, with None, clear) the chat's time zone; ValueError for a name that is no
        IANA zone. Returns the zone's canonical spelling as stored."""
        if name is not None:
            zone = known_zone(name)
            if zone is None:
                raise ValueError(f"unknown time zone: {name!r}")
            name = zone
        async with self._sessions.begin() as session:
            chat = await session.get(Chat, chat_id, with_for_update=True)
            if chat is None:  # a chat seen for the first time by this very update
                chat = Chat(id=chat_id, type="private")
                session.add(chat)
            chat.timezone = name
            chat.updated_at = utcnow()
        return name


def known_zone(name: str) -> str | None:
    """The IANA zone `name` spells, case ignored ("europe/paris" → "Europe/Paris"), else None."""
    wanted = name.strip()
    if not wanted or len(wanted) > 64:
        return None
    return _zones().get(wanted.casefold())


@functools.cache
def _zones() -> dict[str, str]:
    return {zone.casefold(): zone for zone in zoneinfo.available_timezones()}
