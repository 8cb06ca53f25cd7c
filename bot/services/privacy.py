"""A reader's data: what the bot keeps about a chat (/privacy), and erasing it (/forget).

What the bot keeps about a chat: its row in `chats` (Telegram's id, type, name and username;
its language and "News in", time zone, quiet hours and digest), its subscriptions and keyword
filters, the record of what was sent to it (`deliveries`, `corrections`, `digests`, and the
desk's `notices` to an editor, author or member, kept DELIVERY_KEEP_DAYS), the text of its
searches (`searches`, a day, for their More button) and, in an admin's private chat, their
unfinished /add or /edit (`drafts`, a day).

`forget` erases all of it in one transaction, and the chat's row too: after it nothing is
pending for the chat (`forget_deliveries` drops the pending rows, and the fan-outs that might
write new ones wait for it, `bot.db.locks`), so there is nothing left to stop a resend and no
row is kept. The finished deliveries are first counted in each item's daily figures
(`forget_deliveries`), so totals keep their messages, without the chat. A correction report
not sent yet counts the chat's messages out of its total.

What stays is the service's record, not a reader's: the audit log of admins' actions (kept
AUDIT_KEEP_DAYS), items an admin scheduled (they still go out, and say so in the chat they
were scheduled from) and reports owed to an admin.

After the commit the process forgets what it holds in memory (the chat's languages, the sends
it had claimed for the chat), and every other process is told (`chat_forgotten`). The next
update from the chat records it as a new chat, as for anyone who writes to the bot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import i18n
from bot.db.locks import forgetting_a_chat
from bot.db.models import (
    Base,
    Chat,
    ChatFilter,
    Correction,
    CorrectionRequest,
    Digest,
    Draft,
    Notice,
    Search,
    Subscription,
    Suggestion,
)
from bot.db.results import rowcount
from bot.db.rollups import Membership
from bot.services.digests import OFF, Schedule
from bot.services.invalidation import announce, chat_forgotten
from bot.services.retention import forget_deliveries

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _ChatCache(Protocol):
    def forget_cached(self, chat_id: int) -> None: ...


class _ChatLife(Protocol):
    def forgotten(self, chat_id: int) -> None: ...


@dataclass(frozen=True, slots=True)
class ChatData:
    """What the bot keeps about one chat, in brief."""

    chat_id: int
    # when the chat was first recorded (µs since 1970): /forget's button names the chat as it
    # is now, so a button pressed again after the erase (the chat recorded anew) does nothing
    stamp: int
    name: str | None  # as Telegram gives it: a group's title, a person's name
    username: str | None
    language: str
    language_chosen: bool  # with /language; else a private chat follows its user's app
    news: frozenset[str] | None  # "News in"; None: every language
    timezone: str | None  # the chat's own; None: the TIMEZONE setting
    quiet: tuple[int, int] | None  # quiet hours, minutes after local midnight
    digest: Schedule
    everything: bool  # follows every category
    categories: int  # categories followed one by one
    filters: int  # keyword filter terms
    drafts: int  # unfinished /add, /edit (admins)


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What /forget erased (row counts, for logs and tests)."""

    chat_id: int
    subscriptions: int
    filters: int
    deliveries: int
    corrections: int
    digests: int
    notices: int
    searches: int
    drafts: int
    suggestions: int  # the links this chat suggested (/suggest)


def stamp_of(created_at: datetime) -> int:
    """A moment as whole microseconds since 1970 (what a button's data can carry)."""
    return (created_at - EPOCH) // timedelta(microseconds=1)


class PrivacyService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        chats: _ChatCache,
        chat_life: _ChatLife,
    ) -> None:
        self._sessions = sessions
        self._chats = chats
        self._chat_life = chat_life

    async def chat_data(self, chat_id: int) -> ChatData | None:
        """What is kept about the chat now; None when nothing is (not recorded)."""
        async with self._sessions() as session:
            chat = await session.get(Chat, chat_id)
            if chat is None:
                return None
            everything, categories = (
                await session.execute(
                    select(
                        func.count().filter(Subscription.category_id.is_(None)),
                        func.count().filter(Subscription.category_id.is_not(None)),
                    ).where(Subscription.chat_id == chat_id)
                )
            ).one()
            filters = await _count(session, ChatFilter.chat_id == chat_id)
            drafts = await _count(session, Draft.chat_id == chat_id)
        digest = OFF
        if chat.digest_mode is not None:
            digest = Schedule(chat.digest_mode, chat.digest_minute or 0, chat.digest_weekday or 0)
        quiet = None
        if chat.quiet_start is not None and chat.quiet_end is not None:
            quiet = (chat.quiet_start, chat.quiet_end)
        return ChatData(
            chat_id=chat_id,
            stamp=stamp_of(chat.created_at),
            name=chat.title,
            username=chat.username,
            language=i18n.supported(chat.language),
            language_chosen=chat.language_chosen,
            news=i18n.decode_news_choices(chat.news_languages),
            timezone=chat.timezone,
            quiet=quiet,
            digest=digest,
            everything=bool(everything),
            categories=int(categories),
            filters=filters,
            drafts=drafts,
        )

    async def forget(self, chat_id: int, stamp: int) -> Forgotten | None:
        """Erase everything kept about the chat, in one transaction. None, and nothing
        changed, when the chat is not the one `stamp` names (erased already, or recorded anew
        since the question was asked)."""
        async with self._sessions.begin() as session:
            await forgetting_a_chat(session)
            chat = await session.get(Chat, chat_id, with_for_update=True)
            if chat is None or stamp_of(chat.created_at) != stamp:
                return None
            # a subscriber that goes counts as one who left (the figure keeps no chat id)
            membership = await Membership.start(session, chat_id)
            deliveries = await forget_deliveries(session, chat_id)
            corrections = await _forget_corrections(session, chat_id)
            gone = {
                name: await _delete(session, model, model.chat_id == chat_id)
                for name, model in (
                    ("subscriptions", Subscription),
                    ("filters", ChatFilter),
                    ("digests", Digest),
                    ("notices", Notice),
                    ("searches", Search),
                    ("drafts", Draft),
                    ("suggestions", Suggestion),
                )
            }
            await session.delete(chat)
            await session.flush()
            await membership.settle(session)
            await announce(session, chat_forgotten(chat_id))
        self._chats.forget_cached(chat_id)
        self._chat_life.forgotten(chat_id)
        log.info("a chat was erased on its request (/forget)")
        return Forgotten(chat_id, deliveries=deliveries, corrections=corrections, **gone)


async def _count(session: AsyncSession, where: ColumnElement[bool]) -> int:
    return int(await session.scalar(select(func.count()).where(where)) or 0)


async def _delete(session: AsyncSession, model: type[Base], where: ColumnElement[bool]) -> int:
    result = await session.execute(
        delete(model).where(where).execution_options(synchronize_session=False)
    )
    return max(rowcount(result), 0)


async def _forget_corrections(session: AsyncSession, chat_id: int) -> int:
    """The chat's corrections go; a report not sent yet counts them out of its total."""
    per_request = (
        await session.execute(
            select(Correction.request_id, func.count())
            .where(Correction.chat_id == chat_id, Correction.request_id.is_not(None))
            .group_by(Correction.request_id)
        )
    ).all()
    for request_id, count in per_request:
        total: Any = CorrectionRequest.total
        await session.execute(
            update(CorrectionRequest)
            .where(CorrectionRequest.id == request_id, CorrectionRequest.reported_at.is_(None))
            .values(total=case((total > count, total - count), else_=0))
        )
    return await _delete(session, Correction, Correction.chat_id == chat_id)
