"""The delivery engine's SQL: fan-out, claiming with a lease, and recording what happened,
for deliveries and for corrections (edits and deletions of messages already sent).

Everything here is one short transaction per call, so a process killed at any instant leaves
each delivery or correction either pending (sent again later) or recorded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Row,
    Select,
    and_,
    bindparam,
    case,
    column,
    delete,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import BigIntId, UTCDateTime, utcnow
from bot.db.models import (
    BroadcastQueue,
    Chat,
    ChatFilter,
    Correction,
    CorrectionRequest,
    Delivery,
    Item,
    Subscription,
)
from bot.db.models.corrections import DELETE, EDIT, insert_corrections
from bot.db.models.delivery import CANCELLED, LAST_ERROR_MAX, SENT
from bot.db.models.filters import FilteredPush
from bot.db.models.news import FILE_ID_MAX, IMAGE_ERROR_MAX
from bot.delivery.quiet import QuietWindow, quiet_window
from bot.filtering import item_words, rejecting_chats
from bot.i18n import news_choice

# a literal, not a bound parameter, so PostgreSQL matches the partial index's predicate
IS_PENDING = Delivery.status == literal_column("'pending'")
CORRECTION_PENDING = Correction.status == literal_column("'pending'")


def takes_instant_pushes():  # type: ignore[no-untyped-def]
    """A chat in digest mode gets its items in the digest, not one by one (hx-digests)."""
    return Chat.digest_mode.is_(None)


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
class ClaimedCorrection:
    item_id: int
    chat_id: int
    action: str  # EDIT or DELETE
    message_id: int
    revision: int
    attempts: int
    language: str = "en"  # the chat's interface language, for an edit's new text
    photo: bool = False  # the sent message is a photo (its caption and picture get edited)
    media: bool = False  # the item's picture changed: a photo gets the new one


@dataclass(frozen=True, slots=True)
class ItemState:
    """What the sender reads of an item beside its text, once per claimed batch: the revision
    (the text read after it is at least that new) and the picture as Telegram knows it."""

    revision: int
    image_file_id: str | None
    image_broken: bool


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


@dataclass(frozen=True, slots=True)
class TopicGone:
    """A forum topic that no longer takes pushes (closed or deleted): its subscriptions now
    go to General. Returned once, to whoever noticed first, so the admins are told once."""

    chat_id: int
    thread_id: int
    name: str | None
    language: str


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """What the sender reads of a chat beside its deliveries, once per claimed batch."""

    language: str = "en"
    quiet: QuietWindow | None = None


@dataclass(frozen=True, slots=True)
class Fanout:
    item_id: int
    deliveries: int


@dataclass(frozen=True, slots=True)
class Migrated:
    old_chat_id: int
    new_chat_id: int
    moved_deliveries: int


def _routed_thread(category_id: int | None):  # type: ignore[no-untyped-def]
    """The forum topic of a chat's push, in a SELECT grouped by chat: its subscription to
    the item's category decides, else its "all" subscription (NULL: no topic)."""
    own = Subscription.category_id == category_id
    return case(
        (func.max(case((own, 1), else_=0)) == 1, func.max(case((own, Subscription.thread_id)))),
        else_=func.max(case((Subscription.category_id.is_(None), Subscription.thread_id))),
    )


class DeliveryStore:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, timezone: str = "UTC"
    ) -> None:
        self._sessions = sessions
        self._timezone = timezone  # a chat's quiet hours are in its zone, else this one

    def _insert(self, session: AsyncSession):  # type: ignore[no-untyped-def]
        if session.bind.dialect.name == "postgresql":
            return postgresql.insert(Delivery)
        return sqlite.insert(Delivery)

    async def expand(self, limit: int = 10) -> list[Fanout]:
        """Turn queued broadcasts into one pending delivery per subscribed, active chat.

        One INSERT ... SELECT per item, in the transaction that removes the queue row, so an
        item is expanded exactly once even if two processes try (the pair is unique, and
        PostgreSQL's SKIP LOCKED keeps them on different rows).
        """
        done: list[Fanout] = []
        async with self._sessions.begin() as session:
            queued = (
                await session.scalars(
                    select(BroadcastQueue.item_id)
                    .order_by(BroadcastQueue.created_at, BroadcastQueue.item_id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            now = utcnow()
            for item_id in queued:
                item = (
                    await session.execute(
                        select(
                            Item.category_id,
                            Item.deleted_at,
                            Item.language,
                            Item.title,
                            Item.summary,
                        ).where(Item.id == item_id)
                    )
                ).first()
                count = 0
                if item is not None and item.deleted_at is None:
                    subscribers = (
                        select(
                            literal(item_id, BigIntId),
                            Subscription.chat_id,
                            literal(now, UTCDateTime()),
                            _routed_thread(item.category_id),
                        )
                        .join(Chat, Chat.id == Subscription.chat_id)
                        .where(
                            Chat.active.is_(True),
                            takes_instant_pushes(),
                            or_(
                                Subscription.category_id == item.category_id,
                                Subscription.category_id.is_(None),
                            ),
                            # the chat's "News in" (None: every language) takes this one
                            or_(
                                Chat.news_languages.is_(None),
                                Chat.news_languages.contains(f",{news_choice(item.language)},"),
                            ),
                        )
                    )
                    subscribers = await self._keyword_filtered(session, item_id, item, subscribers)
                    # one row per chat: it may follow the category and "all" too
                    subscribers = subscribers.group_by(Subscription.chat_id)
                    count = await self._insert_deliveries(session, subscribers)
                await session.execute(
                    delete(BroadcastQueue).where(BroadcastQueue.item_id == item_id)
                )
                done.append(Fanout(item_id, max(count, 0)))
        return done

    @staticmethod
    async def _keyword_filtered(
        session: AsyncSession, item_id: int, item: Row, subscribers: Select
    ) -> Select:
        """`subscribers` without the chats whose keyword filters hold this item back, and
        the number held back recorded for /stats. The rule runs in SQL once per item: one
        grouped pass over chat_filters (see bot.filtering) gives the subscribers it holds
        back, which the INSERT leaves out with a hashed NOT IN, so a chat without filters
        costs one hash probe."""
        dialect = session.bind.dialect.name
        rejected = rejecting_chats(item_words(item.title, item.summary), dialect)
        held = list(
            await session.scalars(
                subscribers.with_only_columns(Subscription.chat_id)
                .where(Subscription.chat_id.in_(rejected))
                .distinct()
            )
        )
        if not held:
            return subscribers
        # merge: an item queued a second time is counted once
        await session.merge(FilteredPush(item_id=item_id, held_back=len(held)))
        return subscribers.where(Subscription.chat_id.not_in(_id_rows(held, dialect)))

    @staticmethod
    async def _move_keyword_filters(session: AsyncSession, old_chat_id: int, new_chat_id: int):
        """A migrated group keeps its keyword filters, unless the supergroup has its own."""
        has_own = await session.scalar(
            select(func.count()).where(ChatFilter.chat_id == new_chat_id)
        )
        if not has_own:
            await session.execute(
                update(ChatFilter)
                .where(ChatFilter.chat_id == old_chat_id)
                .values(chat_id=new_chat_id)
                .execution_options(synchronize_session=False)
            )

    async def _insert_deliveries(self, session: AsyncSession, subscribers: Select) -> int:
        """INSERT ... SELECT, unique on (item, chat). The plain form is a third faster on a
        million rows; if some pairs exist already (an item queued a second time), the
        ON CONFLICT form skips them."""
        columns = ["item_id", "chat_id", "created_at", "thread_id"]
        plain = self._insert(session).from_select(columns, subscribers)
        try:
            async with session.begin_nested():
                return (await session.execute(plain)).rowcount
        except IntegrityError:
            guarded = plain.on_conflict_do_nothing()
            return (await session.execute(guarded)).rowcount

    async def claim(self, owner: str, limit: int, lease_seconds: float) -> list[Claimed]:
        """Lease up to `limit` due deliveries to `owner` (rows another process holds are
        skipped, never waited for)."""
        now = utcnow()
        due = (
            select(Delivery.item_id, Delivery.chat_id)
            .where(
                IS_PENDING,
                or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
                or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
            )
            .order_by(Delivery.chat_id, Delivery.item_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(Delivery)
            .where(tuple_(Delivery.item_id, Delivery.chat_id).in_(due.scalar_subquery()))
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
            .returning(Delivery.item_id, Delivery.chat_id, Delivery.attempts, Delivery.thread_id)
            .execution_options(synchronize_session=False)
        )
        async with self._sessions.begin() as session:
            rows = (await session.execute(statement)).all()
            revisions = await self._revisions(session, {row.item_id for row in rows})
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
        A TopicGone for the first caller only (None for later ones and other processes),
        so the group's admins are told once per (chat, topic)."""
        async with self._sessions.begin() as session:
            name = await session.scalar(
                select(Subscription.thread_name)
                .where(Subscription.chat_id == chat_id, Subscription.thread_id == thread_id)
                .order_by(Subscription.thread_name.is_(None), Subscription.id)
                .limit(1)
            )
            moved = await session.execute(
                update(Subscription)
                .where(Subscription.chat_id == chat_id, Subscription.thread_id == thread_id)
                .values(thread_id=None, thread_name=None)
                .execution_options(synchronize_session=False)
            )
            await session.execute(
                update(Delivery)
                .where(Delivery.chat_id == chat_id, Delivery.thread_id == thread_id, IS_PENDING)
                .values(thread_id=None)
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount < 1:
                return None
            language = await session.scalar(select(Chat.language).where(Chat.id == chat_id))
        return TopicGone(chat_id, thread_id, name, language or "en")

    @staticmethod
    async def _languages(session: AsyncSession, chat_ids: set[int]) -> dict[int, str]:
        if not chat_ids:
            return {}
        rows = await session.execute(
            select(Chat.id, Chat.language).where(Chat.id.in_(sorted(chat_ids)))
        )
        return {chat_id: language for chat_id, language in rows}

    @staticmethod
    async def _revisions(session: AsyncSession, item_ids: set[int]) -> dict[int, int]:
        if not item_ids:
            return {}
        rows = await session.execute(
            select(Item.id, Item.revision).where(Item.id.in_(sorted(item_ids)))
        )
        return {item_id: revision for item_id, revision in rows}

    async def item_state(self, item_id: int) -> ItemState | None:
        """Read before the item's text: revision, file_id learned, picture refused."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Item.revision, Item.image_file_id, Item.image_error).where(
                        Item.id == item_id
                    )
                )
            ).first()
        if row is None:
            return None
        return ItemState(row.revision, row.image_file_id, row.image_error is not None)

    async def learn_file_id(self, item_id: int, image_url: str, file_id: str) -> bool:
        """Keep the file_id Telegram gave for the item's picture URL, so every later send (in
        any process) reuses it instead of another fetch. Only while the item still has that
        URL and no file_id; not an edit (the revision stays)."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Item)
                .where(
                    Item.id == item_id,
                    Item.image_url == image_url,
                    Item.image_file_id.is_(None),
                )
                .values(image_file_id=file_id[:FILE_ID_MAX])
                .execution_options(synchronize_session=False)
            )
        return result.rowcount == 1

    async def refuse_picture(
        self, item_id: int, image_url: str | None, image_file_id: str | None, error: str
    ) -> bool:
        """Telegram refused the item's picture: it goes out as text from now on, and the report
        job tells the admin. True only for the call that marked it (once per picture, across
        retries and processes); a picture changed meanwhile is left alone."""
        same_url = Item.image_url.is_(None) if image_url is None else Item.image_url == image_url
        same_file = (
            Item.image_file_id.is_(None)
            if image_file_id is None
            else Item.image_file_id == image_file_id
        )
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Item)
                .where(Item.id == item_id, Item.image_error.is_(None), same_url, same_file)
                .values(image_error=error[:IMAGE_ERROR_MAX])
                .execution_options(synchronize_session=False)
            )
        return result.rowcount == 1

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
            if sent and session.bind.dialect.name == "postgresql":
                # a share lock on the items, taken before any delivery row: a correction
                # holds the item's row lock while it reads the sent deliveries, so one of
                # the two always sees the other (and the order cannot deadlock)
                states = await self._item_states(session, sent, lock=True)
            await session.execute(
                update(Delivery).execution_options(synchronize_session=False),
                [outcome.row() for outcome in outcomes],
            )
            if not sent:
                return 0
            if states is None:
                # on SQLite, read after the first write: the write lock orders this
                # transaction after any correction that committed, and before any that did not
                states = await self._item_states(session, sent, lock=False)
            return await self._correct_stale(session, sent, states)

    @staticmethod
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
        self,
        session: AsyncSession,
        sent: Sequence[Outcome],
        states: dict[int, tuple[int, bool]],
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
                insert_corrections(session.bind.dialect.name),
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

    # -- corrections -----------------------------------------------------------------------

    async def claim_corrections(
        self, owner: str, limit: int, lease_seconds: float
    ) -> list[ClaimedCorrection]:
        """Lease up to `limit` due edits and deletions to `owner`, like `claim`.

        Unlike a delivery, a correction counts its attempt when claimed: after a crash, a
        deletion that finds its message gone can tell that it may have been its own earlier
        try (a clean stop gives back the attempts it did not make)."""
        now = utcnow()
        due = (
            select(Correction.item_id, Correction.chat_id, Correction.action)
            .where(
                CORRECTION_PENDING,
                or_(Correction.lease_until.is_(None), Correction.lease_until < now),
                or_(Correction.next_attempt_at.is_(None), Correction.next_attempt_at <= now),
            )
            .order_by(Correction.chat_id, Correction.item_id, Correction.action)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(Correction)
            .where(
                tuple_(Correction.item_id, Correction.chat_id, Correction.action).in_(
                    due.scalar_subquery()
                )
            )
            .values(
                lease_owner=owner,
                lease_until=now + timedelta(seconds=lease_seconds),
                attempts=Correction.attempts + 1,
            )
            .returning(
                Correction.item_id,
                Correction.chat_id,
                Correction.action,
                Correction.message_id,
                Correction.revision,
                Correction.attempts,
                Correction.media,
            )
            .execution_options(synchronize_session=False)
        )
        async with self._sessions.begin() as session:
            rows = (await session.execute(statement)).all()
            languages = await self._languages(session, {row.chat_id for row in rows})
            photos = await self._photos(session, {(row.item_id, row.chat_id) for row in rows})
        # attempts made before this one
        return [
            ClaimedCorrection(
                *row[:5],
                attempts=row[5] - 1,
                language=languages.get(row.chat_id, "en"),
                photo=(row.item_id, row.chat_id) in photos,
                media=bool(row.media),
            )
            for row in rows
        ]

    @staticmethod
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

    async def record_corrections(self, outcomes: Sequence[CorrectionOutcome]) -> None:
        """Write back a batch of correction outcomes (two executemany, one commit).

        An outcome settles its row only if the row still asks for that revision or an older
        one; a row re-armed by a newer edit meanwhile is just freed, and goes out again with
        the newer text."""
        if not outcomes:
            return
        table = Correction.__table__
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

    async def correction_counts(self, item_id: int | None = None) -> dict[tuple[str, str], int]:
        """Corrections by (action, status) (for tests and benchmarks)."""
        query = select(Correction.action, Correction.status, func.count()).group_by(
            Correction.action, Correction.status
        )
        if item_id is not None:
            query = query.where(Correction.item_id == item_id)
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return {(action, status): count for action, status, count in rows}

    async def release_stale_leases(self, owner: str) -> int:
        """On taking over as the only sender: whatever others held (deliveries and
        corrections), they hold no longer."""
        released = 0
        async with self._sessions.begin() as session:
            for model, pending in ((Delivery, IS_PENDING), (Correction, CORRECTION_PENDING)):
                result = await session.execute(
                    update(model)
                    .where(pending, model.lease_owner.is_not(None), model.lease_owner != owner)
                    .values(lease_owner=None, lease_until=None)
                    .execution_options(synchronize_session=False)
                )
                released += max(result.rowcount, 0)
        return released

    async def release_own_leases(self, owner: str) -> int:
        """On a clean stop: what this process claimed but did not send is free at once."""
        async with self._sessions.begin() as session:
            deliveries = await session.execute(
                update(Delivery)
                .where(IS_PENDING, Delivery.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )
            # claimed, never tried: the attempt counted at the claim did not happen
            corrections = await session.execute(
                update(Correction)
                .where(CORRECTION_PENDING, Correction.lease_owner == owner)
                .values(lease_owner=None, lease_until=None, attempts=Correction.attempts - 1)
                .execution_options(synchronize_session=False)
            )
        return max(deliveries.rowcount, 0) + max(corrections.rowcount, 0)

    async def deactivate_chat(self, chat_id: int, reason: str) -> int:
        """The chat blocked us, was deleted or kicked us: stop sending to it."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(Chat).where(Chat.id == chat_id).values(active=False, updated_at=utcnow())
            )
            result = await session.execute(
                update(Delivery)
                .where(Delivery.chat_id == chat_id, IS_PENDING)
                .values(
                    status=CANCELLED,
                    last_error=reason[:LAST_ERROR_MAX],
                    lease_owner=None,
                    lease_until=None,
                )
                .execution_options(synchronize_session=False)
            )
            # its messages cannot be edited or deleted any more either
            await session.execute(
                update(Correction)
                .where(Correction.chat_id == chat_id, CORRECTION_PENDING)
                .values(
                    status=CANCELLED,
                    last_error=reason[:LAST_ERROR_MAX],
                    lease_owner=None,
                    lease_until=None,
                    updated_at=utcnow(),
                )
                .execution_options(synchronize_session=False)
            )
        return max(result.rowcount, 0)

    async def cancel_item(self, item_id: int, reason: str) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Delivery)
                .where(Delivery.item_id == item_id, IS_PENDING)
                .values(status=CANCELLED, last_error=reason, lease_owner=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )
        return max(result.rowcount, 0)

    async def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> Migrated:
        """A group became a supergroup: same people, new id. Subscriptions and pending
        deliveries move to the new id; the old chat is kept, inactive, for its history."""
        async with self._sessions.begin() as session:
            old = await session.get(Chat, old_chat_id)
            new = await session.get(Chat, new_chat_id)
            if new is None:
                session.add(
                    Chat(
                        id=new_chat_id,
                        type="supergroup",
                        title=old.title if old else None,
                        username=old.username if old else None,
                        # the same people: the same languages
                        language=old.language if old else "en",
                        language_chosen=old.language_chosen if old else False,
                        news_languages=old.news_languages if old else None,
                        # and the same nights: quiet hours in the same zone
                        timezone=old.timezone if old else None,
                        quiet_start=old.quiet_start if old else None,
                        quiet_end=old.quiet_end if old else None,
                        # and the same digest, from where the group's left off
                        digest_mode=old.digest_mode if old else None,
                        digest_minute=old.digest_minute if old else None,
                        digest_weekday=old.digest_weekday if old else None,
                        digest_since=old.digest_since if old else None,
                    )
                )
                await session.flush()
            else:
                new.active = True
            if old is not None:
                old.active = False
            # what the new chat already follows stays; the rest moves over
            existing = select(func.coalesce(Subscription.category_id, 0)).where(
                Subscription.chat_id == new_chat_id
            )
            await session.execute(
                delete(Subscription).where(
                    Subscription.chat_id == old_chat_id,
                    func.coalesce(Subscription.category_id, 0).in_(existing),
                )
            )
            await session.execute(
                update(Subscription)
                .where(Subscription.chat_id == old_chat_id)
                .values(chat_id=new_chat_id)
            )
            await self._move_keyword_filters(session, old_chat_id, new_chat_id)
            taken = select(Delivery.item_id).where(Delivery.chat_id == new_chat_id)
            await session.execute(
                update(Delivery)
                .where(Delivery.chat_id == old_chat_id, IS_PENDING, Delivery.item_id.in_(taken))
                .values(status=CANCELLED, last_error="chat migrated", lease_owner=None)
                .execution_options(synchronize_session=False)
            )
            moved = await session.execute(
                update(Delivery)
                .where(Delivery.chat_id == old_chat_id, IS_PENDING)
                .values(chat_id=new_chat_id, lease_owner=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )
        return Migrated(old_chat_id, new_chat_id, max(moved.rowcount, 0))

    async def counts(self, item_id: int | None = None) -> dict[str, int]:
        """Deliveries by status (for tests, benchmarks and a future /stats)."""
        query = select(Delivery.status, func.count()).group_by(Delivery.status)
        if item_id is not None:
            query = query.where(Delivery.item_id == item_id)
        async with self._sessions() as session:
            return {status: count for status, count in (await session.execute(query)).all()}

    async def sent_message(self, item_id: int, chat_id: int) -> int | None:
        """The message an item became in a chat (for later edits and retractions)."""
        async with self._sessions() as session:
            return await session.scalar(
                select(Delivery.message_id).where(
                    Delivery.item_id == item_id, Delivery.chat_id == chat_id
                )
            )

    async def backlog(self) -> int:
        async with self._sessions() as session:
            queued = await session.scalar(select(func.count()).select_from(BroadcastQueue))
            pending = await session.scalar(select(func.count()).where(IS_PENDING))
            corrections = await session.scalar(select(func.count()).where(CORRECTION_PENDING))
        return int(queued or 0) + int(pending or 0) + int(corrections or 0)


def _id_rows(ids: list[int], dialect: str) -> Select:
    """A list of ids as rows of one bound parameter (there may be more ids than a statement
    may have parameters): unnest of an array on PostgreSQL, json_each on SQLite."""
    if dialect == "postgresql":
        return select(func.unnest(bindparam("held_ids", ids, type_=postgresql.ARRAY(BigInteger))))
    return select(column("value")).select_from(func.json_each(json.dumps(ids)))
