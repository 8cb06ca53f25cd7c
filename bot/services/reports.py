"""Reports to admins: to the one who published an item, once its broadcast has ended; to the
one who edited or deleted an item, once the sent messages are corrected; to the one who
published an item whose picture Telegram refused (the owners for feed items), once.

A broadcast has ended when the item left the broadcast queue (fanned out) and none of its
deliveries is pending any more. Each item is reported once: the report row is written
before the message goes out, so two runs never both report it. A correction request is
marked reported the same way, once none of its rows is pending.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, literal_column, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import utcnow
from bot.db.models import (
    BroadcastQueue,
    BroadcastReport,
    Correction,
    CorrectionRequest,
    Delivery,
    Item,
)
from bot.db.models.delivery import CANCELLED, FAILED, NOT_BLOCKED, SENT
from bot.db.results import rowcount

# older items are not reported (e.g. the first start after an upgrade)
REPORT_WINDOW = timedelta(days=2)
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


@dataclass(frozen=True, slots=True)
class CorrectionReportView:
    """How an /edit or /delete went, in the admin's terms."""

    item_id: int
    action: str  # "edit" or "delete"
    chat_id: int
    total: int  # sent messages to correct
    done: int  # edited, or deleted
    failed: int  # chat gone, message deleted meanwhile, gave up after retries
    too_old: int  # deletion: sent more than 48 h ago, Telegram refuses
    cancelled: int  # deletion: pending deliveries that never went out


@dataclass(frozen=True, slots=True)
class RefusedPictureView:
    """A picture Telegram refused: the item went out as text."""

    item_id: int
    title: str
    error: str  # Telegram's answer
    admin_id: int | None  # who published it; None for feeds and imports (tell the owners)


# what Telegram answers to a deletion after its 48 hours
_TOO_OLD = "%can't be deleted%"


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
            admin = (source or "").removeprefix(ADMIN_SOURCE)
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
                                    Delivery.last_error.not_in(NOT_BLOCKED),
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

    async def take_finished_corrections(self, limit: int = 50) -> list[CorrectionReportView]:
        """Corrections whose rows are all final and which were not reported yet; marks them.

        A row that a later edit of the same item took over (re-armed before it went out) is
        counted as done here: the later edit carries this change too, and reports it."""
        pending = exists().where(
            Correction.request_id == CorrectionRequest.id,
            Correction.status == literal_column("'pending'"),
        )
        async with self._sessions() as session:
            requests = (
                await session.scalars(
                    select(CorrectionRequest)
                    .where(CorrectionRequest.reported_at.is_(None), ~pending)
                    .order_by(CorrectionRequest.id)
                    .limit(limit)
                )
            ).all()
        reports = []
        for request in requests:
            async with self._sessions.begin() as session:
                taken = await session.execute(
                    update(CorrectionRequest)
                    .where(
                        CorrectionRequest.id == request.id, CorrectionRequest.reported_at.is_(None)
                    )
                    .values(reported_at=self.now())
                )
                if rowcount(taken) != 1:
                    continue  # another run reported it
                too_old = Correction.last_error.like(_TOO_OLD)
                attached, done, failed, old = (
                    await session.execute(
                        select(
                            func.count(),
                            func.count().filter(Correction.status == SENT),
                            func.count().filter(Correction.status == FAILED, ~too_old),
                            func.count().filter(Correction.status == FAILED, too_old),
                        ).where(Correction.request_id == request.id)
                    )
                ).one()
            if request.report_chat_id is None:
                continue
            superseded = max(request.total - attached, 0)
            reports.append(
                CorrectionReportView(
                    item_id=request.item_id,
                    action=request.action,
                    chat_id=request.report_chat_id,
                    total=request.total,
                    done=done + superseded,
                    failed=failed,
                    too_old=request.too_old + old,
                    cancelled=request.cancelled,
                )
            )
        return reports

    async def take_refused_pictures(self, limit: int = 50) -> list[RefusedPictureView]:
        """Pictures Telegram refused (their items went out as text) that nobody was told of
        yet; marks them, so each is reported once however many chats, retries and processes
        met it. The admin who published the item hears of it; for feed and imported items,
        `admin_id` is None: the owners do."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Item.id, Item.title, Item.source, Item.image_error)
                    .where(
                        Item.image_error.is_not(None),
                        Item.image_error_reported_at.is_(None),
                        Item.deleted_at.is_(None),
                    )
                    .order_by(Item.id)
                    .limit(limit)
                )
            ).all()
        reports = []
        for item_id, title, source, error in rows:
            async with self._sessions.begin() as session:
                taken = await session.execute(
                    update(Item)
                    .where(Item.id == item_id, Item.image_error_reported_at.is_(None))
                    .values(image_error_reported_at=self.now())
                    .execution_options(synchronize_session=False)
                )
            if rowcount(taken) != 1:
                continue  # another run reported it
            admin = (source or "").removeprefix(ADMIN_SOURCE) if source else ""
            is_admin = bool(source and source.startswith(ADMIN_SOURCE) and admin.isdigit())
            reports.append(
                RefusedPictureView(
                    item_id=item_id,
                    title=title,
                    error=error or "",
                    admin_id=int(admin) if is_admin else None,
                )
            )
        return reports
