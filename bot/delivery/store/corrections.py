"""The corrections table: edits and deletions of sent messages, claimed with a lease."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, and_, bindparam, func, literal_column, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import utcnow
from bot.db.models import Chat, Correction, Delivery
from bot.db.models.delivery import LAST_ERROR_MAX
from bot.delivery.store.leases import claiming, freeing, rowcount

CORRECTION_PENDING = Correction.status == literal_column("'pending'")


# the Core table, for the executemany UPDATEs keyed by bound parameters
CORRECTION_TABLE: Table = Correction.metadata.tables["corrections"]


@dataclass(frozen=True, slots=True)
class ClaimedCorrection:
    item_id: int
    chat_id: int
    action: str  # EDIT or DELETE
    message_id: int
    revision: int
    attempts: int  # made before this one
    language: str = "en"  # the chat's interface language, for an edit's new text
    photo: bool = False  # the sent message is a photo (its caption and picture get edited)
    media: bool = False  # the item's picture changed: a photo gets the new one


@dataclass(frozen=True, slots=True)
class CorrectionOutcome:
    """What happened to one claimed correction. `revision` is the item revision the message
    now shows (for an edit, the text's); it settles every row armed for that revision or an
    older one, while a row re-armed for a newer revision meanwhile is only freed."""

    item_id: int
    chat_id: int
    action: str
    revision: int
    status: str
    attempts: int
    next_attempt_at: datetime | None = None
    last_error: str | None = None

    def row(self, now: datetime) -> dict[str, object]:
        return {
            "k_item": self.item_id,
            "k_chat": self.chat_id,
            "k_action": self.action,
            "k_revision": self.revision,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at,
            "last_error": self.last_error[:LAST_ERROR_MAX] if self.last_error else None,
            "updated_at": now,
        }


class CorrectionRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def claim(self, owner: str, limit: int, lease_seconds: float) -> list[ClaimedCorrection]:
        """Lease up to `limit` due edits and deletions to `owner`.

        Unlike a delivery, a correction counts its attempt when claimed: after a crash, a
        deletion that finds its message gone can tell that it may have been its own earlier
        try (a clean stop gives back the attempts it did not make)."""
        statement = claiming(
            (Correction.chat_id, Correction.item_id, Correction.action),
            CORRECTION_PENDING,
            owner=owner,
            limit=limit,
            lease_seconds=lease_seconds,
            returning=(
                Correction.item_id,
                Correction.chat_id,
                Correction.action,
                Correction.message_id,
                Correction.revision,
                Correction.attempts,
                Correction.media,
            ),
            also={"attempts": Correction.attempts + 1},
        )
        async with self._sessions.begin() as session:
            rows = (await session.execute(statement)).all()
            languages = await _languages(session, {row.chat_id for row in rows})
            photos = await _photos(session, {(row.item_id, row.chat_id) for row in rows})
        return [
            ClaimedCorrection(
                row.item_id,
                row.chat_id,
                row.action,
                row.message_id,
                row.revision,
                attempts=row.attempts - 1,
                language=languages.get(row.chat_id, "en"),
                photo=(row.item_id, row.chat_id) in photos,
                media=bool(row.media),
            )
            for row in rows
        ]

    async def record(self, outcomes: Sequence[CorrectionOutcome]) -> None:
        """Write back a batch of correction outcomes (two executemany, one commit).

        An outcome settles its row only if the row still asks for that revision or an older
        one; a row re-armed by a newer edit meanwhile is just freed, and goes out again with
        the newer text."""
        if not outcomes:
            return
        table = CORRECTION_TABLE
        key = and_(
            table.c.item_id == bindparam("k_item"),
            table.c.chat_id == bindparam("k_chat"),
            table.c.action == bindparam("k_action"),
        )
        settle = (
            update(table)
            .where(key, table.c.revision <= bindparam("k_revision"))
            .values(
                status=bindparam("status"),
                attempts=bindparam("attempts"),
                next_attempt_at=bindparam("next_attempt_at"),
                last_error=bindparam("last_error"),
                updated_at=bindparam("updated_at"),
                lease_owner=None,
                lease_until=None,
            )
        )
        free = (
            update(table)
            .where(key, table.c.revision > bindparam("k_revision"))
            .values(lease_owner=None, lease_until=None)
        )
        now = utcnow()
        rows = [outcome.row(now) for outcome in outcomes]
        async with self._sessions.begin() as session:
            await session.execute(settle, rows)
            await session.execute(free, [{k: r[k] for k in r if k.startswith("k_")} for r in rows])

    async def release_stale(self, owner: str) -> int:
        async with self._sessions.begin() as session:
            return await rowcount(
                session, freeing(Correction, CORRECTION_PENDING, owner, own=False)
            )

    async def release_own(self, owner: str) -> int:
        # claimed, never tried: the attempt counted at the claim did not happen
        statement = freeing(Correction, CORRECTION_PENDING, owner, own=True).values(
            attempts=Correction.attempts - 1
        )
        async with self._sessions.begin() as session:
            return await rowcount(session, statement)

    async def counts(self, item_id: int | None = None) -> dict[tuple[str, str], int]:
        """Corrections by (action, status) (for tests and benchmarks)."""
        query = select(Correction.action, Correction.status, func.count()).group_by(
            Correction.action, Correction.status
        )
        if item_id is not None:
            query = query.where(Correction.item_id == item_id)
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return {(action, status): count for action, status, count in rows}


async def _languages(session: AsyncSession, chat_ids: set[int]) -> dict[int, str]:
    if not chat_ids:
        return {}
    rows = await session.execute(
        select(Chat.id, Chat.language).where(Chat.id.in_(sorted(chat_ids)))
    )
    return {chat_id: language for chat_id, language in rows}


async def _photos(session: AsyncSession, keys: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which of these (item, chat) deliveries went out as photos."""
    if not keys:
        return set()
    rows = await session.execute(
        select(Delivery.item_id, Delivery.chat_id).where(
            tuple_(Delivery.item_id, Delivery.chat_id).in_(sorted(keys)),
            Delivery.photo.is_(True),
        )
    )
    return {(item_id, chat_id) for item_id, chat_id in rows}
