"""Reports to the admin who published an item, once its broadcast has ended.

A broadcast has ended when the item left the broadcast queue (fanned out) and none of its
deliveries is pending any more. Each item is reported once: the report row is written
before the message goes out, so two runs never both report it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, literal_column, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import utcnow
from bot.db.models import BroadcastQueue, BroadcastReport, Delivery, Item
from bot.db.models.delivery import CANCELLED, FAILED, SENT

# older items are not reported (e.g. the first start after an upgrade)
REPORT_WINDOW = timedelta(days=2)
# cancelled for reasons other than the chat being gone (blocked, kicked, deleted)
_NOT_BLOCKED = ("item deleted", "item gone", "chat migrated")
ADMIN_SOURCE = "admin:"


@dataclass(frozen=True, slots=True)
class BroadcastReportView:
    item_id: int
    title: str
    admin_id: int
    sent: int
    blocked: int
    failed: int
    took: timedelta


class ReportService:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, now: Callable[[], datetime] = utcnow
    ) -> None:
        self._sessions = sessions
        self.now = now

    async def take_finished(self, limit: int = 50) -> list[BroadcastReportView]:
        """Broadcasts of admins' items that ended and were not reported yet; marks them."""
        now = self.now()
        pending = exists().where(
            Delivery.item_id == Item.id, Delivery.status == literal_column("'pending'")
        )
        queued = exists().where(BroadcastQueue.item_id == Item.id)
        reported = exists().where(BroadcastReport.item_id == Item.id)
        async with self._sessions() as session:
            items = (
                await session.execute(
                    select(Item.id, Item.title, Item.source, Item.created_at)
                    .where(
                        Item.source.startswith(ADMIN_SOURCE),
                        Item.created_at >= now - REPORT_WINDOW,
                        Item.deleted_at.is_(None),
                        ~pending,
                        ~queued,
                        ~reported,
                    )
                    .order_by(Item.id)
                    .limit(limit)
                )
            ).all()
        reports = []
        for item_id, title, source, created_at in items:
            admin = source.removeprefix(ADMIN_SOURCE)
            if not admin.isdigit():
                continue
            async with self._sessions.begin() as session:
                counts = (
                    await session.execute(
                        select(
                            func.count().filter(Delivery.status == SENT),
                            func.count().filter(Delivery.status == FAILED),
                            func.count().filter(
                                Delivery.status == CANCELLED,
                                or_(
                                    Delivery.last_error.is_(None),
                                    Delivery.last_error.not_in(_NOT_BLOCKED),
                                ),
                            ),
                            func.max(Delivery.sent_at),
                        ).where(Delivery.item_id == item_id)
                    )
                ).one()
                try:
                    async with session.begin_nested():
                        session.add(BroadcastReport(item_id=item_id, reported_at=now))
                except IntegrityError:
                    continue  # another run reported it
            sent, failed, blocked, last_sent = counts
            ended = last_sent or now
            reports.append(
                BroadcastReportView(
                    item_id=item_id,
                    title=title,
                    admin_id=int(admin),
                    sent=sent,
                    blocked=blocked,
                    failed=failed,
                    took=max(ended - created_at, timedelta()),
                )
            )
        return reports
