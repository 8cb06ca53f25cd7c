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
    and_,
    bindparam,
    case,
    column,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import BigIntId, UTCDateTime, utcnow
from bot.db.locks import writing_for_chats
from bot.db.models import BroadcastQueue, Chat, Delivery, Item, Subscription
from bot.db.models.filters import FilteredPush
from bot.db.results import rowcount
from bot.db.rollups import Tally
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
            if queued:
                # not while a chat is being forgotten (bot.db.locks)
                await writing_for_chats(session)
            now = utcnow()
            tally = Tally()  # each item's new pending pushes, written once for the batch
            for item_id in queued:
                item = (
                    await session.execute(
                        select(
                            Item.category_id,
                            Item.deleted_at,
                            Item.language,
                            Item.title,
                            Item.summary,
                            Item.story_id,
                            Item.has_versions,
                        ).where(Item.id == item_id)
                    )
                ).first()
                count = 0
                if item is not None and item.deleted_at is None:
                    if item.story_id is None and not item.has_versions:
                        audience = _Audience.of_item(item_id, item.language)
                        words = item_words(item.title, item.summary)
                    else:
                        story = await _story(session, item.story_id or item_id)
                        audience = story.audience(item_id)
                        words = story.words
                    subscribers = (
                        select(
                            audience.chosen,
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
                            *audience.where,
                        )
                    )
                    subscribers = await _keyword_filtered(session, item_id, words, subscribers)
                    # one row per chat: it may follow the category and "all" too
                    subscribers = subscribers.group_by(Subscription.chat_id, *audience.group_by)
                    count = await _insert_deliveries(session, subscribers)
                await session.execute(
                    delete(BroadcastQueue).where(BroadcastQueue.item_id == item_id)
                )
                done.append(Fanout(item_id, max(count, 0)))
                tally.item(item_id, "pending", max(count, 0))
            await tally.apply(session)
        return done


def _takes(language: str) -> ColumnElement[bool]:
    """The chat's "News in" (None: every language) takes items in `language`."""
    return or_(
        Chat.news_languages.is_(None),
        Chat.news_languages.contains(f",{news_choice(language)},"),
    )


@dataclass(frozen=True, slots=True)
class _Audience:
    """Which version each subscriber gets (`chosen`, an expression over its Chat row), and
    which subscribers get one at all (`where`)."""

    chosen: ColumnElement[Any]
    where: tuple[ColumnElement[bool], ...]
    group_by: tuple[Any, ...] = ()  # the Chat columns `chosen` reads

    @classmethod
    def of_item(cls, item_id: int, language: str) -> _Audience:
        """An item that is a story of its own: the chats whose "News in" takes it."""
        return cls(literal(item_id, BigIntId), (_takes(language),))


@dataclass(frozen=True, slots=True)
class _Story:
    """A story's versions as the fan-out sees them (locked: see `_story`)."""

    live: tuple[tuple[int, str, bool], ...]  # (id, language, original), by the rule's order
    every_id: tuple[int, ...]  # deleted versions too: a chat that had one had the story
    words: str  # every live version's, for keyword filters: a story passes as one

    def audience(self, queued_id: int) -> _Audience:
        """One row per chat for the whole story, whichever version was queued: the chat's
        best version (`bot.services.stories`, as one CASE), and no row for a chat that had
        any version before. A version added after the story went out (`queued_id` is not the
        original) goes only to the chats whose best it is now."""
        ui_first = [(Chat.language == lang, _takes(lang), i) for i, lang, _ in self.live]
        whens: list[tuple[ColumnElement[bool], int]] = [
            (and_(same, takes), i) for same, takes, i in ui_first
        ]
        whens += [(_takes(lang), i) for i, lang, original in self.live if original]
        whens += [(_takes(lang), i) for i, lang, original in self.live if not original]
        chosen = case(*whens, else_=None) if whens else literal(None, BigIntId)
        had_it = exists(
            select(Delivery.item_id).where(
                Delivery.chat_id == Subscription.chat_id, Delivery.item_id.in_(self.every_id)
            )
        )
        original = self.every_id[0]
        wanted = chosen.is_not(None) if queued_id == original else chosen == queued_id
        return _Audience(chosen, (wanted, ~had_it), (Chat.language, Chat.news_languages))


async def _story(session: AsyncSession, original: int) -> _Story:
    """The versions of the story `original`, read under a lock on its row: a version being
    added waits, so every chat is counted once across the story's fan-outs."""
    await session.execute(select(Item.id).where(Item.id == original).with_for_update())
    rows = (
        await session.execute(
            select(Item.id, Item.language, Item.story_id, Item.deleted_at, Item.title, Item.summary)
            .where(or_(Item.id == original, Item.story_id == original))
            .order_by(Item.story_id.is_not(None), Item.id)
        )
    ).all()
    live = tuple(row for row in rows if row.deleted_at is None)
    return _Story(
        live=tuple((row.id, row.language, row.story_id is None) for row in live),
        every_id=tuple(row.id for row in rows),
        words="".join(item_words(row.title, row.summary) for row in live),
    )


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
