"""Which chats follow which categories: /subscribe, /unsubscribe, /subscriptions.

In a forum supergroup a subscription may be routed to a topic (`Subscription.thread_id`): the
place /subscribe was sent from. A category followed on its own and through "all" goes where
its own subscription says (the fan-out picks that row).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import utcnow
from bot.db.models import Category, Chat, Subscription
from bot.db.rollups import Membership
from bot.services.categories import category_view
from bot.services.views import CategoryView


@dataclass(frozen=True, slots=True)
class Topic:
    """A forum topic pushes go to: its thread id, and its name when the message showed it."""

    thread_id: int
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """A subscription routed to a topic: a category's, or every category's (None)."""

    category_id: int | None
    topic: Topic


@dataclass(frozen=True, slots=True)
class Following:
    """What one chat follows: everything, or some categories (sorted by name), and the forum
    topics some of them go to."""

    chat_id: int
    everything: bool
    categories: tuple[CategoryView, ...]
    routes: tuple[Route, ...] = ()

    def topic(self, category_id: int | None) -> Topic | None:
        """Where this category's pushes go (None: the chat itself, or General)."""
        for route in self.routes:
            if route.category_id == category_id:
                return route.topic
        return None

    @property
    def category_ids(self) -> frozenset[int]:
        return frozenset(c.id for c in self.categories)

    @property
    def nothing(self) -> bool:
        return not self.everything and not self.categories


@dataclass(frozen=True, slots=True)
class Change:
    changed: bool
    following: Following


class ChatLifeEvents(Protocol):
    """What happens to everything pending for a chat when it leaves, moves or comes back: the
    sender's one owner of a chat's life does it (`bot.delivery.ChatLife`), handed in by the
    composition root."""

    async def gone(self, chat_id: int, reason: str) -> object: ...

    async def moved(self, old_chat_id: int, new_chat_id: int) -> object: ...

    def reachable(self, chat_id: int) -> None: ...


def _scope(category_id: int | None) -> ColumnElement[bool]:
    if category_id is None:
        return Subscription.category_id.is_(None)
    return Subscription.category_id == category_id


THREAD_NAME_MAX = 128  # Telegram's limit on a topic's name, and the column's


class UnknownCategory(LookupError):
    """The category does not exist (any more): a stale button, or deleted meanwhile."""


class SubscriptionService:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], chat_life: ChatLifeEvents
    ) -> None:
        self._sessions = sessions
        self._chat_life = chat_life

    async def following(self, chat_id: int) -> Following:
        async with self._sessions() as session:
            return await self._following(session, chat_id)

    @staticmethod
    async def _following(session: AsyncSession, chat_id: int) -> Following:
        everything = await session.scalar(
            select(func.count()).where(
                Subscription.chat_id == chat_id, Subscription.category_id.is_(None)
            )
        )
        rows = await session.scalars(
            select(Category)
            .join(Subscription, Subscription.category_id == Category.id)
            .where(Subscription.chat_id == chat_id)
            .order_by(Category.name_key)
        )
        categories = tuple(category_view(c) for c in rows)
        routed = await session.execute(
            select(Subscription.category_id, Subscription.thread_id, Subscription.thread_name)
            .where(Subscription.chat_id == chat_id, Subscription.thread_id.is_not(None))
            .order_by(Subscription.id)
        )
        routes = tuple(Route(c, Topic(t, n)) for c, t, n in routed if t is not None)
        return Following(chat_id, bool(everything), categories, routes)

    async def follow(
        self, chat_id: int, category_id: int | None, topic: Topic | None = None
    ) -> Change:
        """Follow one category, or every category (`None`, which replaces the single ones
        not routed to a topic). `topic`: the forum topic the command came from; following
        again from another place routes the pushes there."""
        thread_id = topic.thread_id if topic else None
        try:
            async with self._sessions.begin() as session:
                await self._check_category(session, category_id)
                membership = await Membership.start(session, chat_id)
                thread_name = await self._topic_name(session, chat_id, topic)
                before = await self._following(session, chat_id)
                own = await session.scalar(
                    select(Subscription).where(Subscription.chat_id == chat_id, _scope(category_id))
                )
                if own is not None:
                    if own.thread_id == thread_id:
                        return Change(False, before)
                    own.thread_id, own.thread_name = thread_id, thread_name
                    await session.flush()
                    return Change(True, await self._following(session, chat_id))
                everything_goes = before.topic(None)
                if before.everything and thread_id == (
                    everything_goes.thread_id if everything_goes else None
                ):
                    return Change(False, before)
                if category_id is None:
                    await session.execute(
                        delete(Subscription).where(
                            Subscription.chat_id == chat_id, Subscription.thread_id.is_(None)
                        )
                    )
                session.add(
                    Subscription(
                        chat_id=chat_id,
                        category_id=category_id,
                        thread_id=thread_id,
                        thread_name=thread_name,
                    )
                )
                await self._reachable(session, chat_id)
                await session.flush()
                await membership.settle(session)  # a first subscription, or a chat back
                following = await self._following(session, chat_id)
            self._chat_life.reachable(chat_id)
            return Change(True, following)
        except IntegrityError:  # the same tap twice at once: the other one won
            return Change(False, await self.following(chat_id))

    @staticmethod
    async def _topic_name(session: AsyncSession, chat_id: int, topic: Topic | None) -> str | None:
        """The topic's name as this message shows it, else as an earlier one did."""
        if topic is None or topic.name:
            return topic.name[:THREAD_NAME_MAX] if topic and topic.name else None
        return await session.scalar(
            select(Subscription.thread_name)
            .where(
                Subscription.chat_id == chat_id,
                Subscription.thread_id == topic.thread_id,
                Subscription.thread_name.is_not(None),
            )
            .limit(1)
        )

    async def unfollow(self, chat_id: int, category_id: int | None) -> Change:
        """Stop one category (`None`: stop everything). Leaving one category while following
        all of them keeps every other category."""
        async with self._sessions.begin() as session:
            await self._check_category(session, category_id)
            membership = await Membership.start(session, chat_id)
            before = await self._following(session, chat_id)
            if category_id is None:
                if before.nothing:
                    return Change(False, before)
                await session.execute(delete(Subscription).where(Subscription.chat_id == chat_id))
            elif before.everything:
                # every other category stays, where it went (a topic routes "all" too)
                thread_id, thread_name = (
                    await session.execute(
                        select(Subscription.thread_id, Subscription.thread_name).where(
                            Subscription.chat_id == chat_id, Subscription.category_id.is_(None)
                        )
                    )
                ).one()
                own = select(Subscription.category_id).where(
                    Subscription.chat_id == chat_id, Subscription.category_id.is_not(None)
                )
                others = await session.scalars(
                    select(Category.id).where(Category.id != category_id, Category.id.not_in(own))
                )
                await session.execute(
                    delete(Subscription).where(
                        Subscription.chat_id == chat_id,
                        Subscription.category_id.is_(None)
                        | (Subscription.category_id == category_id),
                    )
                )
                session.add_all(
                    Subscription(
                        chat_id=chat_id,
                        category_id=c,
                        thread_id=thread_id,
                        thread_name=thread_name,
                    )
                    for c in others
                )
            elif category_id in before.category_ids:
                await session.execute(
                    delete(Subscription).where(
                        Subscription.chat_id == chat_id, Subscription.category_id == category_id
                    )
                )
            else:
                return Change(False, before)
            await session.flush()
            await membership.settle(session)  # the last subscription gone: the chat left
            return Change(True, await self._following(session, chat_id))

    async def toggle(
        self, chat_id: int, category_id: int | None, topic: Topic | None = None
    ) -> Change:
        following = await self.following(chat_id)
        on = following.everything or (
            category_id is not None and category_id in following.category_ids
        )
        if on:
            return await self.unfollow(chat_id, category_id)
        return await self.follow(chat_id, category_id, topic)

    @staticmethod
    async def _check_category(session: AsyncSession, category_id: int | None) -> None:
        if category_id is not None and await session.get(Category, category_id) is None:
            raise UnknownCategory(category_id)

    @staticmethod
    async def _reachable(session: AsyncSession, chat_id: int) -> None:
        # someone just asked for news here, so the chat is reachable again
        await session.execute(
            update(Chat)
            .where(Chat.id == chat_id, Chat.active.is_(False))
            .values(active=True, updated_at=utcnow())
        )

    async def set_chat_active(self, chat_id: int, active: bool, reason: str = "") -> None:
        """From `my_chat_member`: blocked/kicked → inactive (pending deliveries cancelled)."""
        if not active:
            await self._chat_life.gone(chat_id, reason or "bot removed from chat")
            return
        async with self._sessions.begin() as session:
            membership = await Membership.start(session, chat_id)
            await self._reachable(session, chat_id)
            await membership.settle(session)  # a subscriber back
        self._chat_life.reachable(chat_id)

    async def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: subscriptions and pending deliveries follow it."""
        await self._chat_life.moved(old_chat_id, new_chat_id)

    async def subscriber_count(self, category_id: int | None = None) -> int:
        """Active chats that would receive an item of `category_id`."""
        query = (
            select(func.count(func.distinct(Subscription.chat_id)))
            .join(Chat, Chat.id == Subscription.chat_id)
            .where(Chat.active.is_(True))
        )
        if category_id is not None:
            query = query.where(
                (Subscription.category_id == category_id) | Subscription.category_id.is_(None)
            )
        async with self._sessions() as session:
            return int(await session.scalar(query) or 0)
