"""Sign-ins to the web newsroom: one-time links from /web, sessions, and who they belong to.

A link is valid for LINK_SECONDS and opens once: the UPDATE that marks it used is conditional
on it being unused and unexpired, so two browsers racing on one link start one session. A
session lasts SESSION_SECONDS and is checked against the roster on every request, so a
removed admin's sessions end at once. Tokens are random (256 bits) and only their SHA-256 is
stored."""

from __future__ import annotations

import enum
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import utcnow
from bot.db.models import WebLogin, WebSession
from bot.services.admins import AdminService, Role

LINK_SECONDS = 10 * 60
SESSION_SECONDS = 12 * 3600
# who may use the newsroom: those who publish (owners and editors)
WEB_ROLES = (Role.OWNER, Role.EDITOR)
BY_LINK = "link"
BY_WEBAPP = "webapp"


class LinkRefused(enum.Enum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    NOT_ADMIN = "not_admin"  # the link's owner is no longer an admin


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str  # the session's cookie value
    user_id: int


@dataclass(frozen=True, slots=True)
class WebUser:
    user_id: int
    role: Role
    csrf: str
    via: str

    @property
    def owner(self) -> bool:
        return self.role is Role.OWNER


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class WebSessionService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        admins: AdminService,
        *,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._admins = admins
        self.now = now

    async def may_use_web(self, user_id: int) -> bool:
        return await self._admins.role_of(user_id) in WEB_ROLES

    async def issue_link(self, user_id: int) -> str:
        """A new one-time sign-in token for an admin (the caller checked who asks)."""
        token = secrets.token_urlsafe(32)
        now = self.now()
        async with self._sessions.begin() as session:
            # old links of anyone are of no use: remove them as we go
            await session.execute(delete(WebLogin).where(WebLogin.expires_at < now))
            session.add(
                WebLogin(
                    token_hash=token_hash(token),
                    user_id=user_id,
                    expires_at=now + timedelta(seconds=LINK_SECONDS),
                    created_at=now,
                )
            )
        return token

    async def redeem(self, token: str) -> SignedIn | LinkRefused:
        """Open a sign-in link: a session, or why not (the link is used up either way)."""
        hashed, now = token_hash(token), self.now()
        async with self._sessions.begin() as session:
            taken = await session.execute(
                update(WebLogin)
                .where(
                    WebLogin.token_hash == hashed,
                    WebLogin.used_at.is_(None),
                    WebLogin.expires_at > now,
                )
                .values(used_at=now)
                .returning(WebLogin.user_id)
            )
            user_id = taken.scalar()
            if user_id is None:
                row = await session.get(WebLogin, hashed)
                if row is None:
                    return LinkRefused.UNKNOWN
                return LinkRefused.USED if row.used_at is not None else LinkRefused.EXPIRED
        if not await self.may_use_web(user_id):
            return LinkRefused.NOT_ADMIN
        return await self.start(user_id, via=BY_LINK)

    async def start(self, user_id: int, *, via: str) -> SignedIn:
        token, now = secrets.token_urlsafe(32), self.now()
        async with self._sessions.begin() as session:
            await session.execute(delete(WebSession).where(WebSession.expires_at < now))
            session.add(
                WebSession(
                    token_hash=token_hash(token),
                    user_id=user_id,
                    csrf=secrets.token_urlsafe(32),
                    via=via,
                    expires_at=now + timedelta(seconds=SESSION_SECONDS),
                    created_at=now,
                )
            )
        return SignedIn(token, user_id)

    async def user(self, token: str) -> WebUser | None:
        """Who holds this session cookie, if it is live and they are still an admin."""
        hashed = token_hash(token)
        async with self._sessions() as session:
            row = await session.scalar(
                select(WebSession).where(
                    WebSession.token_hash == hashed, WebSession.expires_at > self.now()
                )
            )
        if row is None:
            return None
        role = await self._admins.role_of(row.user_id)
        if role not in WEB_ROLES:
            await self.end_all(row.user_id)  # removed: every session of theirs ends now
            return None
        assert role is not None
        return WebUser(row.user_id, role, row.csrf, row.via)

    async def end(self, token: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                delete(WebSession).where(WebSession.token_hash == token_hash(token))
            )

    async def end_all(self, user_id: int) -> int:
        async with self._sessions.begin() as session:
            gone = await session.execute(delete(WebSession).where(WebSession.user_id == user_id))
            await session.execute(delete(WebLogin).where(WebLogin.user_id == user_id))
        return int(getattr(gone, "rowcount", 0) or 0)
