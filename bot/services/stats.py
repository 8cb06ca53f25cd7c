"""/stats: subscribers and items per category, and today's deliveries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import utcnow
from bot.db.models import Category, Chat, Delivery, FilteredPush, Subscription
from bot.db.models.delivery import FAILED, PENDING, SENT
from bot.services.categories import category_view
from bot.services.views import CategoryView


@dataclass(frozen=True, slots=True)
class Stats:
    # (category, or None for "all categories", count): "all" first, then categories in the
    # order of their original names; each category with its names and its item count
    subscribers: tuple[tuple[CategoryView | None, int], ...]
    items: tuple[CategoryView, ...]
    sent_today: int
    failed_today: int
    pending: int
    active_chats: int
    inactive_chats: int
    held_back_by_filters: int = 0  # pushes keyword filters held back, over all fan-outs


class StatsService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        tz: ZoneInfo,
        *,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._tz = tz
        self.now = now

    async def collect(self) -> Stats:
        midnight = datetime.combine(self.now().astimezone(self._tz).date(), time(), self._tz)
        async with self._sessions() as session:
            followed = dict(
                (
                    await session.execute(
                        select(Subscription.category_id, func.count(Subscription.id))
                        .join(Chat, Chat.id == Subscription.chat_id)
                        .where(Chat.active.is_(True))
                        .group_by(Subscription.category_id)
                    )
                ).all()
            )
            categories = [
                category_view(row)
                for row in await session.scalars(select(Category).order_by(Category.name_key))
            ]
            today = dict(
                (
                    await session.execute(
                        select(Delivery.status, func.count())
                        .where(
                            Delivery.status.in_([SENT, FAILED]),
                            func.coalesce(Delivery.sent_at, Delivery.created_at) >= midnight,
                        )
                        .group_by(Delivery.status)
                    )
                ).all()
            )
            pending = await session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.status == PENDING)
            )
            held_back = await session.scalar(select(func.sum(FilteredPush.held_back)))
            chats = dict(
                (
                    await session.execute(select(Chat.active, func.count()).group_by(Chat.active))
                ).all()
            )
        return Stats(
            subscribers=(
                *([(None, followed[None])] if None in followed else []),
                *((c, followed[c.id]) for c in categories if c.id in followed),
            ),
            items=tuple(categories),
            sent_today=today.get(SENT, 0),
            failed_today=today.get(FAILED, 0),
            pending=int(pending or 0),
            active_chats=chats.get(True, 0),
            inactive_chats=chats.get(False, 0),
            held_back_by_filters=int(held_back or 0),
        )
