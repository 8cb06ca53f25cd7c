"""The digests table as the sender sees it: due rows claimed with a lease, pages recorded as
they go, outcomes written back in batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, and_, bindparam, literal_column, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Digest
from bot.db.models.delivery import LAST_ERROR_MAX
from bot.delivery.store.leases import claiming, freeing, rowcount

DIGEST_IS_PENDING = Digest.status == literal_column("'pending'")


@dataclass(frozen=True, slots=True)
class ClaimedDigest:
    chat_id: int
    period: str
    since: datetime
    until: datetime
    attempts: int
    pages_sent: int


@dataclass(frozen=True, slots=True)
class DigestOutcome:
    chat_id: int  # where the digest is now (a migrated group's supergroup)
    period: str
    status: str
    attempts: int
    pages_sent: int
    items: int | None = None  # 0 for an empty digest
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None
    last_error: str | None = None

    def row(self, owner: str) -> dict[str, object]:
        return {
            "k_chat": self.chat_id,
            "k_period": self.period,
            "k_owner": owner,
            "status": self.status,
            "attempts": self.attempts,
            "pages_sent": self.pages_sent,
            "items": self.items,
            "sent_at": self.sent_at,
            "next_attempt_at": self.next_attempt_at,
            "last_error": self.last_error[:LAST_ERROR_MAX] if self.last_error else None,
        }


# the Core table, for the executemany UPDATEs keyed by bound parameters
DIGEST_TABLE: Table = Digest.metadata.tables["digests"]
_THIS_ROW = and_(
    DIGEST_TABLE.c.chat_id == bindparam("k_chat"),
    DIGEST_TABLE.c.period == bindparam("k_period"),
    # a row this process no longer holds (taken over, or the chat gone) is left alone
    DIGEST_TABLE.c.lease_owner == bindparam("k_owner"),
)


class DigestRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def claim(self, owner: str, limit: int, lease_seconds: float) -> list[ClaimedDigest]:
        statement = claiming(
            (Digest.chat_id, Digest.period),
            DIGEST_IS_PENDING,
            owner=owner,
            limit=limit,
            lease_seconds=lease_seconds,
            returning=(
                Digest.chat_id,
                Digest.period,
                Digest.since,
                Digest.until,
                Digest.attempts,
                Digest.pages_sent,
            ),
        )
        async with self._sessions.begin() as session:
            rows = (await session.execute(statement)).all()
        return sorted((ClaimedDigest(*row) for row in rows), key=lambda r: (r.chat_id, r.period))

    async def page_sent(self, chat_id: int, period: str, owner: str, pages_sent: int) -> None:
        """A page went out: a digest cut off here resumes at the next one."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(DIGEST_TABLE).where(_THIS_ROW).values(pages_sent=pages_sent),
                {"k_chat": chat_id, "k_period": period, "k_owner": owner},
            )

    async def record(self, outcomes: Sequence[DigestOutcome], owner: str) -> None:
        if not outcomes:
            return
        table = DIGEST_TABLE
        statement = (
            update(table)
            .where(_THIS_ROW)
            .values(
                status=bindparam("status"),
                attempts=bindparam("attempts"),
                pages_sent=bindparam("pages_sent"),
                items=bindparam("items"),
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
            return await rowcount(session, freeing(Digest, DIGEST_IS_PENDING, owner, own=False))

    async def release_own(self, owner: str) -> int:
        async with self._sessions.begin() as session:
            return await rowcount(session, freeing(Digest, DIGEST_IS_PENDING, owner, own=True))
