"""The deliveries table: claiming pushes with a lease and recording what happened.

Everything here is one short transaction per call, so a process killed at any instant leaves
each delivery either pending (sent again later) or recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal_column, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import utcnow
from bot.db.models import BroadcastQueue, Chat, CorrectionRequest, Delivery, Item, Subscription
from bot.db.models.corrections import DELETE, EDIT, insert_corrections
from bot.db.models.delivery import LAST_ERROR_MAX, SENT
from bot.db.rollups import Tally, bucket
from bot.delivery.quiet import QuietWindow, quiet_window
from bot.delivery.store.corrections import CORRECTION_PENDING
from bot.delivery.store.fanout import dialect_of
from bot.delivery.store.leases import claiming, freeing, rowcount

# a literal, not a bound parameter, so PostgreSQL matches the partial index's predicate
IS_PENDING = Delivery.status == literal_column("'pending'")


@dataclass(frozen=True, slots=True)
class Claimed:
    item_id: int
    chat_id: int
    attempts: int
    revision: int = 0  # the item's revision when claimed: a cached text older than it is stale
    language: str = "en"  # the chat's interface language: the one its message is written in
    thread_id: int | None = None  # the forum topic it goes to (None: the chat / General)
    quiet: QuietWindow | None = None  # the chat's quiet hours: sent silently inside them


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one claimed delivery; written back in batches."""

    item_id: int
    chat_id: int
    status: str
    attempts: int
    message_id: int | None = None
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    revision: int | None = None  # of the item, for a sent message: what it was rendered from
    photo: bool = False  # the message is a photo with the item as its caption

    def row(self) -> dict[str, object]:
        return {
            "item_id": self.item_id,
            "chat_id": self.chat_id,
            "status": self.status,
            "attempts": self.attempts,
            "message_id": self.message_id,
            "sent_at": self.sent_at,
            "revision": self.revision,
            "photo": self.photo,
            "next_attempt_at": self.next_attempt_at,
            "last_error": self.last_error[:LAST_ERROR_MAX] if self.last_error else None,
            "lease_owner": None,
            "lease_until": None,
        }


@dataclass(frozen=True, slots=True)
class TopicGone:
    """A forum topic that no longer takes pushes (closed or deleted): its subscriptions now go
    to General. Returned once, to whoever noticed first, so the admins are told once."""

    chat_id: int
    thread_id: int
    name: str | None
    language: str


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """What the sender reads of a chat beside its deliveries, once per claimed batch."""

    language: str = "en"
    quiet: QuietWindow | None = None


class DeliveryRepository:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, timezone: str = "UTC"
    ) -> None:
        self._sessions = sessions
        self._timezone = timezone  # a chat's quiet hours are in its zone, else this one

    async def claim(self, owner: str, limit: int, lease_seconds: float) -> list[Claimed]:
        """Lease up to `limit` due deliveries to `owner` (rows another process holds are
        skipped, never waited for)."""
        statement = claiming(
            (Delivery.chat_id, Delivery.item_id),
            IS_PENDING,
            owner=owner,
            limit=limit,
            lease_seconds=lease_seconds,
            returning=(Delivery.item_id, Delivery.chat_id, Delivery.attempts, Delivery.thread_id),
        )
        async with self._sessions.begin() as session:
            rows = (await session.execute(statement)).all()
            revisions = await _revisions(session, {row.item_id for row in rows})
            chats = await self._chat_settings(session, {row.chat_id for row in rows})
        unknown = ChatSettings()
        return [
            Claimed(
                row.item_id,
                row.chat_id,
                row.attempts,
                revision=revisions.get(row.item_id, 0),
                language=chats.get(row.chat_id, unknown).language,
                thread_id=row.thread_id,
                quiet=chats.get(row.chat_id, unknown).quiet,
            )
            for row in rows
        ]

    async def _chat_settings(
        self, session: AsyncSession, chat_ids: set[int]
    ) -> dict[int, ChatSettings]:
        """Each chat's language and quiet hours (in its time zone), in one query."""
        if not chat_ids:
            return {}
        rows = await session.execute(
            select(Chat.id, Chat.language, Chat.quiet_start, Chat.quiet_end, Chat.timezone).where(
                Chat.id.in_(sorted(chat_ids))
            )
        )
        return {
            row.id: ChatSettings(
                row.language,
                quiet_window(row.quiet_start, row.quiet_end, row.timezone, self._timezone),
            )
            for row in rows
        }

    async def topic_gone(self, chat_id: int, thread_id: int) -> TopicGone | None:
        """Telegram refused a push into this topic (closed or deleted): the subscriptions
        routed there, and the deliveries still waiting for it, go to General from now on.
        A TopicGone for the first caller only (None for later ones and other processes), so
        the group's admins are told once per (chat, topic)."""
        async with self._sessions.begin() as session:
            name = await session.scalar(
                select(Subscription.thread_name)
                .where(Subscription.chat_id == chat_id, Subscription.thread_id == thread_id)
                .order_by(Subscription.thread_name.is_(None), Subscription.id)
                .limit(1)
            )
            moved = await rowcount(
                session,
                update(Subscription)
                .where(Subscription.chat_id == chat_id, Subscription.thread_id == thread_id)
                .values(thread_id=None, thread_name=None)
                .execution_options(synchronize_session=False),
            )
            await session.execute(
                update(Delivery)
                .where(Delivery.chat_id == chat_id, Delivery.thread_id == thread_id, IS_PENDING)
                .values(thread_id=None)
                .execution_options(synchronize_session=False)
            )
            if moved < 1:
                return None
            language = await session.scalar(select(Chat.language).where(Chat.id == chat_id))
        return TopicGone(chat_id, thread_id, name, language or "en")

    async def record(self, outcomes: Sequence[Outcome]) -> int:
        """Write back a batch of outcomes (one executemany, one commit).

        A message that went out with an older revision than the item has now (an /edit or
        /delete landed while it was in flight) gets its correction row in the same
        transaction, so it ends corrected like the others. Returns how many rows that made.
        """
        if not outcomes:
            return 0
        sent = [o for o in outcomes if o.status == SENT and o.revision is not None]
        async with self._sessions.begin() as session:
            states = None
            if sent and dialect_of(session) == "postgresql":
                # a share lock on the items, taken before any delivery row: a correction holds
                # the item's row lock while it reads the sent deliveries, so one of the two
                # always sees the other (and the order cannot deadlock)
                states = await _item_states(session, sent, lock=True)
            # what each row counted as before (locked, so a cancellation in another
            # transaction is counted there or here, never both): the roll-ups move by the
            # difference, also for a row cancelled or removed while its push was in flight
            tally = await _moves(session, outcomes)
            # by primary key; the WHERE beside it (true of every row) turns off the ORM's check
            # that each row was there: a row /forget removed while its push was in flight
            # matches nothing, instead of failing the batch (and every outcome in it) forever
            await session.execute(
                update(Delivery)
                .where(Delivery.item_id.is_not(None))
                .execution_options(synchronize_session=False),
                [outcome.row() for outcome in outcomes],
            )
            if not sent:
                await tally.apply(session)
                return 0
            if states is None:
                # on SQLite, read after the first write: the write lock orders this transaction
                # after any correction that committed, and before any that did not
                states = await _item_states(session, sent, lock=False)
            made = await _correct_stale(session, sent, states)
            await tally.apply(session)
            return made

    async def release_stale(self, owner: str) -> int:
        """On taking over as the only sender: what others held, they hold no longer."""
        async with self._sessions.begin() as session:
            return await rowcount(session, freeing(Delivery, IS_PENDING, owner, own=False))

    async def release_own(self, owner: str) -> int:
        """On a clean stop: what this process claimed but did not send is free at once."""
        async with self._sessions.begin() as session:
            return await rowcount(session, freeing(Delivery, IS_PENDING, owner, own=True))

    async def counts(self, item_id: int | None = None) -> dict[str, int]:
        """Deliveries by status (for tests and benchmarks)."""
        query = select(Delivery.status, func.count()).group_by(Delivery.status)
        if item_id is not None:
            query = query.where(Delivery.item_id == item_id)
        async with self._sessions() as session:
            return {status: count for status, count in (await session.execute(query)).all()}

    async def backlog(self) -> int:
        """Broadcasts not yet fanned out, deliveries and corrections not yet done."""
        async with self._sessions() as session:
            queued = await session.scalar(select(func.count()).select_from(BroadcastQueue))
            pending = await session.scalar(select(func.count()).where(IS_PENDING))
            corrections = await session.scalar(select(func.count()).where(CORRECTION_PENDING))
        return int(queued or 0) + int(pending or 0) + int(corrections or 0)


async def _moves(session: AsyncSession, outcomes: Sequence[Outcome]) -> Tally:
    """The roll-ups' changes for a batch: each row from what it counted as to its outcome (a
    row /forget removed meanwhile counts nothing). A batch holds one outcome per row."""
    keys = sorted({(o.item_id, o.chat_id) for o in outcomes})
    rows = await session.execute(
        select(Delivery.item_id, Delivery.chat_id, Delivery.status, Delivery.last_error)
        .where(tuple_(Delivery.item_id, Delivery.chat_id).in_(keys))
        .order_by(Delivery.item_id, Delivery.chat_id)
        .with_for_update()
    )
    before = {(r.item_id, r.chat_id): bucket(r.status, r.last_error) for r in rows}
    tally = Tally()
    for outcome in outcomes:
        key = (outcome.item_id, outcome.chat_id)
        if key in before:
            tally.moved(outcome.item_id, before[key], bucket(outcome.status, outcome.last_error))
    return tally


async def _revisions(session: AsyncSession, item_ids: set[int]) -> dict[int, int]:
    if not item_ids:
        return {}
    rows = await session.execute(
        select(Item.id, Item.revision).where(Item.id.in_(sorted(item_ids)))
    )
    return {item_id: revision for item_id, revision in rows}


async def _item_states(
    session: AsyncSession, sent: Sequence[Outcome], *, lock: bool
) -> dict[int, tuple[int, bool]]:
    query = select(Item.id, Item.revision, Item.deleted_at.is_not(None)).where(
        Item.id.in_(sorted({o.item_id for o in sent}))
    )
    if lock:
        query = query.with_for_update(read=True)
    rows = await session.execute(query)
    return {item_id: (revision, bool(gone)) for item_id, revision, gone in rows}


async def _correct_stale(
    session: AsyncSession, sent: Sequence[Outcome], states: dict[int, tuple[int, bool]]
) -> int:
    stale: dict[tuple[int, str], list[Outcome]] = {}
    for outcome in sent:
        revision, gone = states.get(outcome.item_id, (0, False))
        if gone:
            stale.setdefault((outcome.item_id, DELETE), []).append(outcome)
        elif outcome.revision is not None and outcome.revision < revision:
            stale.setdefault((outcome.item_id, EDIT), []).append(outcome)
    made = 0
    now = utcnow()
    for (item_id, action), outcomes in stale.items():
        revision = states[item_id][0]
        # the newest request for this item that has not been reported counts them too
        request_id = await session.scalar(
            select(func.max(CorrectionRequest.id)).where(
                CorrectionRequest.item_id == item_id,
                CorrectionRequest.action == action,
                CorrectionRequest.reported_at.is_(None),
            )
        )
        await session.execute(
            insert_corrections(dialect_of(session)),
            [
                {
                    "item_id": item_id,
                    "chat_id": o.chat_id,
                    "action": action,
                    "message_id": o.message_id,
                    "revision": revision,
                    "request_id": request_id,
                    # what changed is unknown here: a photo gets the picture as it is now
                    "media": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for o in outcomes
            ],
        )
        count = len(outcomes)  # one row each: new, or re-armed
        if request_id is not None:
            await session.execute(
                update(CorrectionRequest)
                .where(CorrectionRequest.id == request_id)
                .values(total=CorrectionRequest.total + count)
            )
        made += count
    return made
