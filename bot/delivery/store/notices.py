"""The notices table as the sender sees it: due rows claimed with a lease, outcomes written
back in batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, and_, bindparam, literal_column, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Notice
from bot.db.models.delivery import LAST_ERROR_MAX
from bot.delivery.store.leases import claiming, freeing, rowcount

# the partial index's own condition, as a literal, so that the planner uses it
NOTICE_IS_PENDING = Notice.status == literal_column("'pending'")

# rows of {"text": …, "callback_data": …} or {"text": …, "url": …}
Buttons = list[list[dict[str, str]]]


@dataclass(frozen=True, slots=True)
class ClaimedNotice:
    id: int
    chat_id: int
    html: str
    buttons: Buttons | None
    attempts: int


@dataclass(frozen=True, slots=True)
class NoticeOutcome:
    id: int
    chat_id: int  # where the notice is now (a migrated group's supergroup)
    status: str
    attempts: int
    message_id: int | None = None
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None
    last_error: str | None = None

    def row(self, owner: str) -> dict[str, object]:
        return {
            "k_id": self.id,
            "k_owner": owner,
            "chat_id": self.chat_id,
            "status": self.status,
            "attempts": self.attempts,
            "message_id": self.message_id,
            "sent_at": self.sent_at,
            "next_attempt_at": self.next_attempt_at,
            "last_error": self.last_error[:LAST_ERROR_MAX] if self.last_error else None,
        }


# the Core table, for the executemany UPDATE keyed by bound parameters
NOTICE_TABLE: Table = Notice.metadata.tables["notices"]


class NoticeRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def claim(self, owner: str, limit: int, lease_seconds: float) -> list[ClaimedNotice]:
        statement = claiming(
            (Notice.id,),
            NOTICE_IS_PENDING,
            owner=owner,
            limit=limit,
            lease_seconds=lease_seconds,
            returning=(Notice.id, Notice.chat_id, Notice.html, Notice.buttons, Notice.attempts),
        )
        async with self._sessions.begin() as session:
            rows = (await session.execute(statement)).all()
        return sorted((ClaimedNotice(*row) for row in rows), key=lambda notice: notice.id)

    async def record(self, outcomes: Sequence[NoticeOutcome], owner: str) -> None:
        if not outcomes:
            return
        table = NOTICE_TABLE
        statement = (
            update(table)
            .where(
                and_(
                    table.c.id == bindparam("k_id"),
                    # a row this process no longer holds (taken over, its chat gone, erased by
                    # /forget) is left alone
                    table.c.lease_owner == bindparam("k_owner"),
                )
            )
            .values(
                chat_id=bindparam("chat_id"),
                status=bindparam("status"),
                attempts=bindparam("attempts"),
                message_id=bindparam("message_id"),
                sent_at=bindparam("sent_at"),
                next_attempt_at=bindparam("next_attempt_at"),
                last_error=bindparam("last_error"),
                lease_owner=None,
                lease_until=None,
            )
        )
        async with self._sessions.begin() as session:
            await session.execute(statement, [outcome.row(owner) for outcome in outcomes])

    async def release_stale(self, owner: str) -> int:
        async with self._sessions.begin() as session:
            return await rowcount(session, freeing(Notice, NOTICE_IS_PENDING, owner, own=False))

    async def release_own(self, owner: str) -> int:
        async with self._sessions.begin() as session:
            return await rowcount(session, freeing(Notice, NOTICE_IS_PENDING, owner, own=True))
