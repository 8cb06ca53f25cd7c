"""Fan-out: each queued broadcast becomes one pending delivery per subscribed, active chat.

One INSERT ... SELECT per item, in the transaction that removes the queue row, so an item is
expanded exactly once even if two processes try (the pair is unique, and PostgreSQL's SKIP
LOCKED keeps them on different rows).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Insert,
    Select,
    bindparam,
    case,
    column,
    delete,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import BigIntId, UTCDateTime, utcnow
from bot.db.models import BroadcastQueue, Chat, Delivery, Item, Subscription
from bot.db.models.filters import FilteredPush
from bot.db.results import rowcount
from bot.filtering import item_words, rejecting_chats
from bot.i18n import news_choice


@dataclass(frozen=True, slots=True)
class Fanout:
    item_id: int
    deliveries: int


def takes_instant_pushes() -> ColumnElement[bool]:
    """A chat in digest mode gets its items in the digest, not one by one."""
    return Chat.digest_mode.is_(None)


def dialect_of(session: AsyncSession) -> str:
    bind = session.get_bind()
    return bind.dialect.name


class FanoutStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def expand(self, limit: int = 10) -> list[Fanout]:
        """Turn up to `limit` queued broadcasts into pending deliveries (see the module)."""
        done: list[Fanout] = []
        async with self._sessions.begin() as session:
            queued = (
                await session.scalars(
                    select(BroadcastQueue.item_id)
                    .order_by(BroadcastQueue.created_at, BroadcastQueue.item_id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            now = utcnow()
            for item_id in queued:
                item = (
                    await session.execute(
                        select(
                            Item.category_id,
                            Item.deleted_at,
                            Item.language,
                            Item.title,
                            Item.summary,
                        ).where(Item.id == item_id)
                    )
                ).first()
                count = 0
                if item is not None and item.deleted_at is None:
                    subscribers = (
                        select(
                            literal(item_id, BigIntId),
                            Subscription.chat_id,
                            literal(now, UTCDateTime()),
                            _routed_thread(item.category_id),
                        )
                        .join(Chat, Chat.id == Subscription.chat_id)
                        .where(
                            Chat.active.is_(True),
                            takes_instant_pushes(),
                            or_(
                                Subscription.category_id == item.category_id,
                                Subscription.category_id.is_(None),
                            ),
                            # the chat's "News in" (None: every language) takes this one
                            or_(
                                Chat.news_languages.is_(None),
                                Chat.news_languages.contains(f",{news_choice(item.language)},"),
                            ),
                        )
                    )
                    subscribers = await _keyword_filtered(
                        session, item_id, item_words(item.title, item.summary), subscribers
                    )
                    # one row per chat: it may follow the category and "all" too
                    subscribers = subscribers.group_by(Subscription.chat_id)
                    count = await _insert_deliveries(session, subscribers)
                await session.execute(
                    delete(BroadcastQueue).where(BroadcastQueue.item_id == item_id)
                )
                done.append(Fanout(item_id, max(count, 0)))
        return done


async def _keyword_filtered(
    session: AsyncSession, item_id: int, words: str, subscribers: Select[Any]
) -> Select[Any]:
    """`subscribers` without the chats whose keyword filters hold this item back, and the
    number held back recorded for /stats. The rule runs in SQL once per item: one grouped
    pass over chat_filters (see bot.filtering) gives the subscribers it holds back, which the
    INSERT leaves out with a hashed NOT IN, so a chat without filters costs one hash probe."""
    dialect = dialect_of(session)
    rejected = rejecting_chats(words, dialect)
    held = list(
        await session.scalars(
            subscribers.with_only_columns(Subscription.chat_id)
            .where(Subscription.chat_id.in_(rejected))
            .distinct()
        )
    )
    if not held:
        return subscribers
    # merge: an item queued a second time is counted once
    await session.merge(FilteredPush(item_id=item_id, held_back=len(held)))
    return subscribers.where(Subscription.chat_id.not_in(_id_rows(held, dialect)))


async def _insert_deliveries(session: AsyncSession, subscribers: Select[Any]) -> int:
    """INSERT ... SELECT, unique on (item, chat). The plain form is a third faster on a
    million rows; if some pairs exist already (an item queued a second time), the ON CONFLICT
    form skips them."""
    columns = ["item_id", "chat_id", "created_at", "thread_id"]
    insert: postgresql.Insert | sqlite.Insert
    if dialect_of(session) == "postgresql":
        insert = postgresql.insert(Delivery)
    else:
        insert = sqlite.insert(Delivery)
    plain = insert.from_select(columns, subscribers)
    try:
        async with session.begin_nested():
            return rowcount(await session.execute(plain))
    except IntegrityError:
        guarded: Insert = plain.on_conflict_do_nothing()
        return rowcount(await session.execute(guarded))


def _routed_thread(category_id: int | None) -> ColumnElement[Any]:
    """The forum topic of a chat's push, in a SELECT grouped by chat: its subscription to the
    item's category decides, else its "all" subscription (NULL: no topic)."""
    own = Subscription.category_id == category_id
    return case(
        (func.max(case((own, 1), else_=0)) == 1, func.max(case((own, Subscription.thread_id)))),
        else_=func.max(case((Subscription.category_id.is_(None), Subscription.thread_id))),
    )


def _id_rows(ids: list[int], dialect: str) -> Select[Any]:
    """A list of ids as rows of one bound parameter (there may be more ids than a statement may
    have parameters): unnest of an array on PostgreSQL, json_each on SQLite."""
    if dialect == "postgresql":
        return select(func.unnest(bindparam("held_ids", ids, type_=postgresql.ARRAY(BigInteger))))
    return select(column("value")).select_from(func.json_each(json.dumps(ids)))
