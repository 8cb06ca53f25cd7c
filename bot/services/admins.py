"""Who does what in the newsroom: the owners (ADMIN_IDS, fixed: they manage people) and the
people they add, each an editor (publishes, edits, deletes, reviews, manages feeds) or an
author (prepares items and submits them for review).

Only numeric user ids count; usernames can change hands and are never trusted.

The handlers' filters (who may reach which command) hold a copy of the roster in memory.
Every change re-reads it here and hands it to `on_roster`; on PostgreSQL it also announces
`ROLES`, and every other process re-reads it too (`CacheListener`). While a process cannot
vouch for hearing those announcements (`suspend`, until `vouch`), its copy holds the owners
only: a removed or demoted person never keeps rights another process took away.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Admin, WebLogin, WebSession
from bot.services.audit import record
from bot.services.invalidation import ROLES, announce


class Role(enum.StrEnum):
    OWNER = "owner"
    EDITOR = "editor"
    AUTHOR = "author"


# the roles an owner gives with /admins (owners come from ADMIN_IDS)
GIVEN_ROLES = (Role.EDITOR, Role.AUTHOR)


class Change(enum.Enum):
    ADDED = "added"
    ALREADY_ADMIN = "already_admin"
    IS_OWNER = "is_owner"
    REMOVED = "removed"
    NOT_ADMIN = "not_admin"
    OWNER_FIXED = "owner_fixed"  # owners come from ADMIN_IDS and cannot be changed here
    ROLE_CHANGED = "role_changed"
    SAME_ROLE = "same_role"


@dataclass(frozen=True, slots=True)
class Outcome:
    change: Change
    # the person's role after the change (unchanged: the one they have; None: a reader)
    role: Role | None


@dataclass(frozen=True, slots=True)
class AdminView:
    user_id: int
    role: Role
    added_by: int | None = None
    added_at: datetime | None = None

    @property
    def owner(self) -> bool:
        return self.role is Role.OWNER


@dataclass(frozen=True, slots=True)
class Roster:
    """Who may do what, as the handlers' filters hold it."""

    editors: frozenset[int]  # the owners and the editors: they publish and review
    authors: frozenset[int]


class AdminService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        owners: frozenset[int],
        *,
        on_roster: Callable[[Roster], object] | None = None,
    ) -> None:
        self._sessions = sessions
        self.owners = owners
        # the composition root keeps the handlers' filters in step through this
        self._on_roster = on_roster
        self._reading = asyncio.Lock()  # one read at a time: the last one read is the newest
        self._vouched = True  # False while changes in other processes may go unheard
        self._epoch = 0  # grows at each suspend and vouch: a read from before is not used
        self.roster = Roster(owners, frozenset())

    def is_owner(self, user_id: int) -> bool:
        return user_id in self.owners

    async def role_of(self, user_id: int) -> Role | None:
        """The person's role, read now (None: a reader)."""
        if user_id in self.owners:
            return Role.OWNER
        async with self._sessions() as session:
            role = await session.scalar(select(Admin.role).where(Admin.user_id == user_id))
        return Role(role) if role is not None else None

    async def editor_ids(self) -> frozenset[int]:
        """Everyone who may publish and review: the owners and the editors."""
        async with self._sessions() as session:
            added = await session.scalars(
                select(Admin.user_id).where(Admin.role == Role.EDITOR.value)
            )
            return self.owners | frozenset(added)

    async def added_ids(self) -> frozenset[int]:
        """The people added by owners (not the owners), whatever their role."""
        async with self._sessions() as session:
            return frozenset(await session.scalars(select(Admin.user_id)))

    async def list(self) -> list[AdminView]:
        """Owners first, then the people added, in the order they were added."""
        async with self._sessions() as session:
            rows = list(
                await session.scalars(select(Admin).order_by(Admin.created_at, Admin.user_id))
            )
        owners = [AdminView(user_id, Role.OWNER) for user_id in sorted(self.owners)]
        added = [
            AdminView(r.user_id, Role(r.role), added_by=r.added_by, added_at=r.created_at)
            for r in rows
            if r.user_id not in self.owners
        ]
        return owners + added

    async def add(self, actor_id: int, user_id: int, role: Role = Role.EDITOR) -> Outcome:
        if user_id in self.owners:
            return Outcome(Change.IS_OWNER, Role.OWNER)
        if role not in GIVEN_ROLES:
            raise ValueError(f"an owner gives only {GIVEN_ROLES}, not {role}")
        async with self._sessions.begin() as session:
            row = await session.get(Admin, user_id)
            if row is not None:
                return Outcome(Change.ALREADY_ADMIN, Role(row.role))
            session.add(Admin(user_id=user_id, added_by=actor_id, role=role.value))
            record(session, actor_id, "admin_add", target_user_id=user_id, detail=role.value)
            await announce(session, ROLES)
        await self.refresh()
        return Outcome(Change.ADDED, role)

    async def set_role(self, actor_id: int, user_id: int, role: Role) -> Outcome:
        if user_id in self.owners:
            return Outcome(Change.OWNER_FIXED, Role.OWNER)
        if role not in GIVEN_ROLES:
            raise ValueError(f"an owner gives only {GIVEN_ROLES}, not {role}")
        async with self._sessions.begin() as session:
            before = await session.scalar(
                select(Admin.role).where(Admin.user_id == user_id).with_for_update()
            )
            if before is None:
                return Outcome(Change.NOT_ADMIN, None)
            if before == role.value:
                return Outcome(Change.SAME_ROLE, role)
            await session.execute(
                update(Admin).where(Admin.user_id == user_id).values(role=role.value)
            )
            detail = f"{before} -> {role.value}"
            record(session, actor_id, "admin_role", target_user_id=user_id, detail=detail)
            await announce(session, ROLES)
        self._revoke(user_id)  # no rights of the old role while the roster is read again
        await self.refresh()
        return Outcome(Change.ROLE_CHANGED, role)

    async def remove(self, actor_id: int, user_id: int) -> Outcome:
        if user_id in self.owners:
            return Outcome(Change.OWNER_FIXED, Role.OWNER)
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(Admin).where(Admin.user_id == user_id).returning(Admin.role)
            )
            before = result.scalar_one_or_none()
            if before is None:
                return Outcome(Change.NOT_ADMIN, None)
            record(session, actor_id, "admin_remove", target_user_id=user_id, detail=before)
            # their newsroom sessions and unused sign-in links end with their role
            await session.execute(delete(WebSession).where(WebSession.user_id == user_id))
            await session.execute(delete(WebLogin).where(WebLogin.user_id == user_id))
            await announce(session, ROLES)
        self._revoke(user_id)  # at once, even if the roster cannot be read again
        await self.refresh()
        return Outcome(Change.REMOVED, None)

    # -- the filters' copy ------------------------------------------------------------------

    async def refresh(self) -> Roster:
        """Read the roster and hand it on: in full when vouched for, else the owners only."""
        async with self._reading:
            epoch = self._epoch
            if self._vouched:
                async with self._sessions() as session:
                    rows = (await session.execute(select(Admin.user_id, Admin.role))).all()
                editors = self.owners | {u for u, r in rows if r == Role.EDITOR.value}
                authors = frozenset(u for u, r in rows if r == Role.AUTHOR.value) - self.owners
                roster = Roster(frozenset(editors), authors)
            else:
                roster = Roster(self.owners, frozenset())
            if epoch == self._epoch:  # else a suspend or a vouch came meanwhile: theirs holds
                self._apply(roster)
            return self.roster

    def suspend(self) -> None:
        """Changes elsewhere may go unheard from now on: the owners only, at once."""
        self._vouched = False
        self._epoch += 1
        self._apply(Roster(self.owners, frozenset()))

    async def vouch(self) -> Roster:
        """Changes elsewhere are heard from now on: read the roster again, in full."""
        self._vouched = True
        self._epoch += 1
        return await self.refresh()

    def _revoke(self, user_id: int) -> None:
        """Take `user_id` out of the copy now; a read begun before this is not used."""
        self._epoch += 1
        roster = self.roster
        self._apply(Roster(roster.editors - {user_id}, roster.authors - {user_id}))

    def _apply(self, roster: Roster) -> None:
        self.roster = roster
        if self._on_roster is not None:
            self._on_roster(roster)
