"""What every leased table shares: freeing the leases of rows still pending.

A claimed row is leased to one process (`lease_owner`, `lease_until`). The leader frees what
others held when it takes over (`stale`), and what it held itself on a clean stop (`own`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Update, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.results import rowcount as counted


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
