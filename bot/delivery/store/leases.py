"""What every leased table shares: claiming due rows with a lease, and freeing the leases of
rows still pending.

A claimed row is leased to one process (`lease_owner`, `lease_until`) and is due again when
its lease ends. The leader frees what others held when it takes over (`own=False`), and what
it held itself on a clean stop (`own=True`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Update, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.base import utcnow
from bot.db.results import rowcount as counted


def claiming(
    order: Sequence[Any],
    pending: ColumnElement[bool],
    *,
    owner: str,
    limit: int,
    lease_seconds: float,
    returning: Sequence[Any],
    also: dict[str, Any] | None = None,
) -> Update:
    """UPDATE … RETURNING that leases up to `limit` due rows (pending, not leased, not backing
    off) to `owner`, taken in `order` (the columns of the table's pending index). Rows another
    process holds are skipped, never waited for (SKIP LOCKED on PostgreSQL). `also`: more
    values to set. The rows are matched on the primary key's columns in the key's own order,
    so that PostgreSQL looks each one up in the primary key's index."""
    model = order[0].class_
    key = [getattr(model, column.key) for column in model.__table__.primary_key.columns]
    now = utcnow()
    due = (
        select(*key)
        .where(
            pending,
            or_(model.lease_until.is_(None), model.lease_until < now),
            or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now),
        )
        .order_by(*order)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (
        update(model)
        .where(tuple_(*key).in_(due.scalar_subquery()))
        .values(
            lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds), **(also or {})
        )
        .returning(*returning)
        .execution_options(synchronize_session=False)
    )


def freeing(model: Any, pending: ColumnElement[bool], owner: str, *, own: bool) -> Update:
    """UPDATE that frees the pending rows leased to `owner` (own) or to anyone else."""
    held = model.lease_owner == owner if own else model.lease_owner != owner
    return (
        update(model)
        .where(pending, model.lease_owner.is_not(None), held)
        .values(lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )


async def rowcount(session: AsyncSession, statement: Any) -> int:
    """Execute an UPDATE or DELETE and return how many rows it touched (0 where the driver
    cannot tell)."""
    return max(counted(await session.execute(statement)), 0)
