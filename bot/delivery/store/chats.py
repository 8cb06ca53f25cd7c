"""A chat's life as every leased table sees it: gone (blocked, kicked, vanished) or moved (a
group that became a supergroup). One transaction each, for every kind of send at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import utcnow
from bot.db.models import Chat, ChatFilter, Correction, Delivery, Digest, Notice, Subscription
from bot.db.models.delivery import CANCELLED, LAST_ERROR_MAX
from bot.db.models.digests import DIGEST_CANCELLED
from bot.db.rollups import Membership, cancelled_pushes
from bot.delivery.store.corrections import CORRECTION_PENDING
from bot.delivery.store.deliveries import IS_PENDING
from bot.delivery.store.digests import DIGEST_IS_PENDING
from bot.delivery.store.leases import rowcount
from bot.delivery.store.notices import NOTICE_IS_PENDING

# what a chat row holds beside its settings: its identity, its kind and its bookkeeping.
# Every other column is a setting the supergroup inherits (a new one too, with no list to
# keep up to date here)
NOT_SETTINGS = frozenset({"id", "type", "active", "created_at", "updated_at"})
MIGRATED = "chat migrated"


@dataclass(frozen=True, slots=True)
class Migrated:
    old_chat_id: int
    new_chat_id: int
    moved_deliveries: int
    moved_digests: int
    moved_notices: int = 0


def chat_settings(chat: Chat) -> dict[str, Any]:
    """The chat's settings, by column: what a migrated group hands to its supergroup."""
    return {
        attribute.key: getattr(chat, attribute.key)
        for attribute in Chat.__mapper__.column_attrs
        if attribute.key not in NOT_SETTINGS
    }


class ChatRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def deactivate(self, chat_id: int, reason: str) -> int:
        """The chat blocked the bot, kicked it or vanished: it is marked inactive, and every
        pending push, correction, digest and notice for it is cancelled. Returns the pushes
        cancelled."""
        reason = reason[:LAST_ERROR_MAX]
        now = utcnow()
        async with self._sessions.begin() as session:
            membership = await Membership.start(session, chat_id)
            await session.execute(
                update(Chat).where(Chat.id == chat_id).values(active=False, updated_at=now)
            )
            # RETURNING: exactly the rows this changed (one a sender recorded meanwhile is not)
            cancelled = await session.scalars(
                _cancel(Delivery, IS_PENDING, chat_id, CANCELLED, reason).returning(
                    Delivery.item_id
                )
            )
            item_ids = cancelled.all()
            pushes = len(item_ids)
            tally = cancelled_pushes(item_ids, reason)
            await session.execute(
                _cancel(Correction, CORRECTION_PENDING, chat_id, CANCELLED, reason).values(
                    updated_at=now
                )
            )
            await session.execute(
                _cancel(Digest, DIGEST_IS_PENDING, chat_id, DIGEST_CANCELLED, reason)
            )
            await session.execute(_cancel(Notice, NOTICE_IS_PENDING, chat_id, CANCELLED, reason))
            await membership.settle(session, tally)
            await tally.apply(session)
        return pushes

    async def migrate(self, old_chat_id: int, new_chat_id: int) -> Migrated:
        """A group became a supergroup: same people, new id. Settings, subscriptions, keyword
        filters, pending pushes, digests and notices move to the new id and go on there; the old
        chat is kept, inactive, for its history. Its messages cannot be corrected any more
        (they stay in the old group), so its pending corrections are cancelled.

        Moved rows keep their lease: a process that holds one follows the move itself
        (`bot.delivery.chat_life`), and no other claims it meanwhile."""
        async with self._sessions.begin() as session:
            membership = await Membership.start(session, old_chat_id, new_chat_id)
            old = await session.get(Chat, old_chat_id)
            new = await session.get(Chat, new_chat_id)
            if new is None:
                settings = chat_settings(old) if old is not None else {}
                session.add(Chat(id=new_chat_id, type="supergroup", **settings))
                await session.flush()
            else:
                new.active = True
            if old is not None:
                old.active = False
            await _move_subscriptions(session, old_chat_id, new_chat_id)
            await _move_keyword_filters(session, old_chat_id, new_chat_id)
            pushes, duplicates = await _move_pending(
                session, Delivery, IS_PENDING, Delivery.item_id, old_chat_id, new_chat_id
            )
            tally = cancelled_pushes(duplicates, MIGRATED)
            digests, _ = await _move_pending(
                session, Digest, DIGEST_IS_PENDING, Digest.period, old_chat_id, new_chat_id
            )
            # no key to clash on: every notice goes on, to the same people
            notices = await rowcount(
                session,
                update(Notice)
                .where(Notice.chat_id == old_chat_id, NOTICE_IS_PENDING)
                .values(chat_id=new_chat_id)
                .execution_options(synchronize_session=False),
            )
            await session.execute(
                _cancel(Correction, CORRECTION_PENDING, old_chat_id, CANCELLED, MIGRATED).values(
                    updated_at=utcnow()
                )
            )
            await session.flush()  # the chats' rows, before the subscribers are read again
            await membership.settle(session, tally)
            await tally.apply(session)
        return Migrated(old_chat_id, new_chat_id, pushes, digests, notices)


def _cancel(model: Any, pending: Any, chat_id: int, status: str, reason: str) -> Any:
    return (
        update(model)
        .where(model.chat_id == chat_id, pending)
        .values(status=status, last_error=reason, lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )


async def _move_pending(
    session: AsyncSession,
    model: Any,
    pending: Any,
    key: Any,
    old_chat_id: int,
    new_chat_id: int,
) -> tuple[int, list[Any]]:
    """Pending rows move to the new id, but for those the new chat has already (same item,
    same period): the old one is cancelled. Returns how many moved, and the keys cancelled."""
    taken = select(key).where(model.chat_id == new_chat_id)
    cancelled = await session.scalars(
        update(model)
        .where(model.chat_id == old_chat_id, pending, key.in_(taken))
        .values(status=CANCELLED, last_error=MIGRATED, lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
        .returning(key)
    )
    duplicates = list(cancelled.all())
    return await rowcount(
        session,
        update(model)
        .where(model.chat_id == old_chat_id, pending)
        .values(chat_id=new_chat_id)
        .execution_options(synchronize_session=False),
    ), duplicates


async def _move_subscriptions(session: AsyncSession, old_chat_id: int, new_chat_id: int) -> None:
    """What the new chat already follows stays; the rest moves over."""
    existing = select(func.coalesce(Subscription.category_id, 0)).where(
        Subscription.chat_id == new_chat_id
    )
    await session.execute(
        delete(Subscription).where(
            Subscription.chat_id == old_chat_id,
            func.coalesce(Subscription.category_id, 0).in_(existing),
        )
    )
    await session.execute(
        update(Subscription).where(Subscription.chat_id == old_chat_id).values(chat_id=new_chat_id)
    )


async def _move_keyword_filters(session: AsyncSession, old_chat_id: int, new_chat_id: int) -> None:
    """A migrated group keeps its keyword filters, unless the supergroup has its own."""
    has_own = await session.scalar(select(func.count()).where(ChatFilter.chat_id == new_chat_id))
    if not has_own:
        await session.execute(
            update(ChatFilter)
            .where(ChatFilter.chat_id == old_chat_id)
            .values(chat_id=new_chat_id)
            .execution_options(synchronize_session=False)
        )
