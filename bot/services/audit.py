"""The audit log: every admin action, written in the transaction that performs it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import AuditEntry


@dataclass(frozen=True, slots=True)
class AuditView:
    actor_id: int
    action: str
    item_id: int | None
    target_user_id: int | None
    detail: str | None
    created_at: datetime


def record(
    session: AsyncSession,
    actor_id: int,
    action: str,
    *,
    item_id: int | None = None,
    target_user_id: int | None = None,
    detail: str | None = None,
) -> None:
    """Add an entry to the caller's transaction; it commits (or not) with the action."""
    session.add(
        AuditEntry(
            actor_id=actor_id,
            action=action,
            item_id=item_id,
            target_user_id=target_user_id,
            detail=detail[:500] if detail else None,
        )
    )


class AuditService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def recent(self, limit: int = 50) -> list[AuditView]:
        """Newest first."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
            )
            return [
                AuditView(r.actor_id, r.action, r.item_id, r.target_user_id, r.detail, r.created_at)
                for r in rows
            ]
