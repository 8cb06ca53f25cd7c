"""Who may publish: the owners (ADMIN_IDS, fixed) and the admins they add (in the database).

Only numeric user ids count; usernames can change hands and are never trusted.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Admin
from bot.db.results import rowcount
from bot.services.audit import record


class Change(enum.Enum):
    ADDED = "added"
    ALREADY_ADMIN = "already_admin"
    IS_OWNER = "is_owner"
    REMOVED = "removed"
    NOT_ADMIN = "not_admin"
    OWNER_FIXED = "owner_fixed"  # owners come from ADMIN_IDS and cannot be removed here


@dataclass(frozen=True, slots=True)
class AdminView:
    user_id: int
    owner: bool
    added_by: int | None = None
    added_at: datetime | None = None


class AdminService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        owners: frozenset[int],
        *,
        on_granted: Callable[[int], object] | None = None,
        on_revoked: Callable[[int], object] | None = None,
    ) -> None:
        self._sessions = sessions
        self.owners = owners
        # the composition root keeps the handlers' admin filter in step through these
        self._on_granted = on_granted
        self._on_revoked = on_revoked

    def is_owner(self, user_id: int) -> bool:
        return user_id in self.owners

    async def added_ids(self) -> frozenset[int]:
        """The admins added by owners (not the owners)."""
        async with self._sessions() as session:
            return frozenset(await session.scalars(select(Admin.user_id)))

    async def list(self) -> list[AdminView]:
        """Owners first, then added admins in the order they were added."""
        async with self._sessions() as session:
            rows = list(
                await session.scalars(select(Admin).order_by(Admin.created_at, Admin.user_id))
            )
        owners = [AdminView(user_id, owner=True) for user_id in sorted(self.owners)]
        added = [
            AdminView(r.user_id, owner=False, added_by=r.added_by, added_at=r.created_at)
            for r in rows
            if r.user_id not in self.owners
        ]
        return owners + added

    async def add(self, actor_id: int, user_id: int) -> Change:
        if user_id in self.owners:
            return Change.IS_OWNER
        async with self._sessions.begin() as session:
            if await session.get(Admin, user_id) is not None:
                return Change.ALREADY_ADMIN
            session.add(Admin(user_id=user_id, added_by=actor_id))
            record(session, actor_id, "admin_add", target_user_id=user_id)
        if self._on_granted is not None:
            self._on_granted(user_id)
        return Change.ADDED

    async def remove(self, actor_id: int, user_id: int) -> Change:
        if user_id in self.owners:
            return Change.OWNER_FIXED
        async with self._sessions.begin() as session:
            result = await session.execute(delete(Admin).where(Admin.user_id == user_id))
            if rowcount(result) == 0:
                return Change.NOT_ADMIN
            record(session, actor_id, "admin_remove", target_user_id=user_id)
        if self._on_revoked is not None:
            self._on_revoked(user_id)
        return Change.REMOVED
