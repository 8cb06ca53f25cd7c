"""The review queue: what authors (and feeds under review) prepare waits here until an editor
approves it, asks for changes or rejects it.

    author ─submit─▶ waiting ─approve─▶ approved (published, or scheduled for the author's time)
                        │ ├─changes (note)─▶ changes ─resubmit─▶ waiting (revision + 1)
                        │ └─reject (note)──▶ rejected

A decision is one conditional UPDATE (`state = 'waiting' AND revision = :seen`), in the same
transaction as what it does (the item published, the author's notice queued): of two editors
acting at once exactly one decides, and the other is told who did. Buttons carry the
revision they were made for, so a button from before a resubmission is stale.

Each editor is told of each submission once, by a notice (`bot.services.notices`) queued in
the submitting transaction, in the editor's language; the author hears of the decision the
same way. The texts come from the composition root (`DeskTexts`): services know no wording.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import i18n
from bot.db.base import utcnow
from bot.db.models import Submission
from bot.db.models.desk import BY_AUTHOR, CHANGES, FROM_FEED, NOTE_MAX, WAITING
from bot.db.results import rowcount
from bot.services.admins import AdminService
from bot.services.audit import record
from bot.services.caching import ListingCache
from bot.services.chats import ChatService
from bot.services.invalidation import QUEUE, announce
from bot.services.news import NewsService
from bot.services.notices import queue_notice
from bot.services.scheduling import SchedulingService
from bot.services.submissions import (
    ACTIONS,
    STATE_OF,
    Decided,
    Decision,
    DeskTexts,
    Outcome,
    QueuePage,
    SubmissionView,
    fields_of,
    view_of,
)
from bot.services.validation import ItemDraft, Problem, ValidationFailed
from bot.services.views import ItemView


class _Lost(Exception):
    """Raised inside a decision's transaction when the conditional UPDATE found no row in the
    state it expected, so that the item published in that transaction is rolled back."""


class ReviewService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        news: NewsService,
        scheduling: SchedulingService,
        roster: AdminService,
        chats: ChatService,
        desk_texts: DeskTexts,
        *,
        now: Callable[[], datetime] = utcnow,
        cache_seconds: float = 0.0,
    ) -> None:
        self._sessions = sessions
        # /queue's first page, kept like /latest's listings: cleared by every change here
        # at once, and by other processes' through `bot.services.invalidation`
        self._first_pages = ListingCache[QueuePage](cache_seconds)
        self._news = news
        self._scheduling = scheduling
        self._roster = roster
        self._chats = chats  # the languages to write to editors and authors in
        self._texts = desk_texts
        self.now = now  # swapped by tests for a controllable clock
        self._on_queued: list[Callable[[], object]] = []

    def on_queued(self, listener: Callable[[], object]) -> None:
        """`listener()` runs after a transaction that queued notices commits (the sender
        wakes up rather than waiting for its next poll)."""
        self._on_queued.append(listener)

    def _queued(self) -> None:
        """After a commit that changed the queue (and queued notices)."""
        self.invalidate()
        for listener in self._on_queued:
            listener()

    def invalidate(self) -> None:
        self._first_pages.clear()

    def set_caching(self, on: bool) -> None:
        self._first_pages.clear()
        self._first_pages.enabled = on

    # -- submitting

    async def submit(
        self, author_id: int, draft: ItemDraft, *, publish_at: datetime | None = None
    ) -> SubmissionView:
        """An author's draft, into the queue; every editor is told. Raises
        ValidationFailed(DUPLICATE_URL) when an item has that link already."""
        await self._check_link(draft)
        editors = await self._editor_languages()
        async with self._sessions.begin() as session:
            row = self._new_row(draft, origin=BY_AUTHOR, author_id=author_id)
            row.publish_at = publish_at
            view = await self._enter(session, row, editors)
            record(session, author_id, "submit", detail=f"draft #{view.id}: {draft.title}")
        self._queued()
        return view

    async def resubmit(
        self,
        author_id: int,
        submission_id: int,
        draft: ItemDraft,
        *,
        publish_at: datetime | None = None,
    ) -> Decided:
        """The author's draft, changed, back in the queue as a new revision (a draft waiting
        or sent back for changes; not one approved or rejected)."""
        await self._check_link(draft)
        editors = await self._editor_languages()
        async with self._sessions.begin() as session:
            row = await session.get(Submission, submission_id, with_for_update=True)
            if row is None:
                return Decided(Outcome.UNKNOWN)
            if row.author_id != author_id:
                return Decided(Outcome.NOT_YOURS, view_of(row))
            if row.state not in (WAITING, CHANGES):
                return Decided(Outcome.NOT_EDITABLE, view_of(row))
            fresh = self._new_row(draft)
            row.state, row.title, row.link = fresh.state, fresh.title, fresh.link
            row.fields, row.submitted_at = fresh.fields, fresh.submitted_at
            row.revision += 1
            row.publish_at = publish_at
            row.decided_by = row.decided_at = row.note = None
            view = await self._enter(session, row, editors)
            detail = f"draft #{row.id} r{row.revision}: {draft.title}"
            record(session, author_id, "resubmit", detail=detail)
        self._queued()
        return Decided(Outcome.DONE, view)

    async def hold_entry(
        self, session: AsyncSession, feed_id: int, draft: ItemDraft
    ) -> SubmissionView | None:
        """A new entry of a feed under review, queued in the poller's transaction `session`
        instead of published; every editor is told. Approved, it goes out then. None when
        a draft with that link waits already (from another feed, or an author)."""
        if draft.url is not None:
            waiting = await session.scalar(
                select(Submission.id).where(
                    Submission.link == draft.url, Submission.state.in_((WAITING, CHANGES))
                )
            )
            if waiting is not None:
                return None
        editors = await self._editor_languages()
        row = self._new_row(draft, origin=FROM_FEED, feed_id=feed_id)
        return await self._enter(session, row, editors)

    def _new_row(self, draft: ItemDraft, **source: Any) -> Submission:
        """A draft waiting from now on, holding `draft`'s fields."""
        return Submission(
            state=WAITING,
            title=draft.title,
            link=draft.url or "",
            fields=fields_of(draft),
            submitted_at=self.now(),
            **source,
        )

    async def _enter(
        self, session: AsyncSession, row: Submission, editors: dict[int, str]
    ) -> SubmissionView:
        """`row` into the queue in `session`: every process hears of it, every editor is
        told (their notice is queued in the same transaction)."""
        session.add(row)
        await session.flush()
        await announce(session, QUEUE)
        view = view_of(row)
        self._tell_editors(session, view, editors)
        return view

    def held(self) -> None:
        """The poller's transaction holding entries committed: their notices may go."""
        self._queued()

    async def _check_link(self, draft: ItemDraft) -> None:
        if draft.url is not None and (existing := await self._news.find_by_url(draft.url)):
            raise ValidationFailed(Problem.DUPLICATE_URL, existing=existing)

    async def _editor_languages(self) -> dict[int, str]:
        """Each editor (and owner) with the language to write to them in."""
        return await self._chats.languages_of(await self._roster.editor_ids())

    def _tell_editors(
        self, session: AsyncSession, view: SubmissionView, editors: dict[int, str]
    ) -> None:
        for editor_id, language in editors.items():
            if editor_id == view.author_id:  # an editor does not review their own draft
                continue
            with i18n.speaking(language):
                html, buttons = self._texts.for_editor(view)
            queue_notice(session, editor_id, html, buttons)

    async def _tell_author(
        self, session: AsyncSession, view: SubmissionView, item: ItemView | None
    ) -> None:
        if view.author_id is None:  # a feed's entry: nobody to tell
            return
        with i18n.speaking(await self._chats.language_of(view.author_id)):
            html = self._texts.for_author(view, item)
        queue_notice(session, view.author_id, html)

    # -- deciding

    async def decide(
        self,
        editor_id: int,
        submission_id: int,
        revision: int,
        decision: Decision,
        note: str | None = None,
    ) -> Decided:
        """The editor's decision on the revision they saw. Approve publishes (or schedules
        for the author's time) in the decision's own transaction; Request changes and Reject
        take a note for the author (1–500 characters)."""
        note = " ".join(note.split()) if note else None
        if decision is not Decision.APPROVE:
            if not note:
                return Decided(Outcome.NOTE_NEEDED)
            if len(note) > NOTE_MAX:
                return Decided(Outcome.NOTE_TOO_LONG)
        current = await self.get(submission_id)
        if current is None:
            return Decided(Outcome.UNKNOWN)
        if current.author_id == editor_id:
            return Decided(Outcome.OWN_DRAFT, current)
        if current.state != WAITING or current.revision != revision:
            return self._lost(current, revision)
        if decision is Decision.APPROVE:
            return await self._approve(editor_id, current)
        try:
            async with self._sessions.begin() as session:
                detail = f"draft #{current.id}: {note}"
                view = await self._decided(session, current, editor_id, decision, detail, note=note)
        except _Lost:
            return await self._why_lost(submission_id, revision) or Decided(Outcome.UNKNOWN)
        self._queued()
        return Decided(Outcome.DONE, view)

    async def _decided(
        self,
        session: AsyncSession,
        current: SubmissionView,
        editor_id: int,
        decision: Decision,
        detail: str,
        *,
        item: ItemView | None = None,
        **done: Any,
    ) -> SubmissionView:
        """The decision, made in `session` if no other came first (else raises _Lost, which
        rolls back whatever the transaction did): audited, and the author's notice queued."""
        if not await self._claim(session, current, editor_id, decision, **done):
            raise _Lost
        item_id = item.id if item is not None else None
        record(session, editor_id, ACTIONS[decision], item_id=item_id, detail=detail)
        view = view_of(await session.get_one(Submission, current.id))
        await self._tell_author(session, view, item)
        return view

    async def _claim(
        self,
        session: AsyncSession,
        current: SubmissionView,
        editor_id: int,
        decision: Decision,
        note: str | None = None,
        **done: Any,
    ) -> bool:
        """The conditional UPDATE that makes this editor the one who decided."""
        result = await session.execute(
            update(Submission)
            .where(
                Submission.id == current.id,
                Submission.state == WAITING,
                Submission.revision == current.revision,
            )
            .values(
                state=STATE_OF[decision],
                decided_by=editor_id,
                decided_at=self.now(),
                note=note,
                **done,
            )
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) != 1:
            return False
        await announce(session, QUEUE)
        return True

    async def _approve(self, editor_id: int, current: SubmissionView) -> Decided:
        draft = current.draft
        publish_at = current.publish_at
        try:
            if publish_at is not None and publish_at > self.now():
                view = await self._approve_scheduled(editor_id, current, publish_at)
                self._queued()
                return Decided(Outcome.DONE, view)
            decided: list[SubmissionView] = []

            async def claim(session: AsyncSession, item: ItemView) -> None:
                detail = f"draft #{current.id}"
                decided.append(
                    await self._decided(
                        session,
                        current,
                        editor_id,
                        Decision.APPROVE,
                        detail,
                        item=item,
                        item_id=item.id,
                    )
                )

            source = f"feed:{current.feed_id}" if current.origin == FROM_FEED else None
            published = await self._news.publish(
                draft,
                actor_id=editor_id,
                source=source,
                also=claim,
            )
        except _Lost:
            return await self._why_lost(current.id, current.revision) or Decided(Outcome.UNKNOWN)
        except ValidationFailed as failure:
            if failure.problem is not Problem.DUPLICATE_URL:
                raise
            # the link went out meanwhile: perhaps this very draft, approved by another editor
            lost = await self._why_lost(current.id, current.revision)
            if lost is not None:
                return lost
            existing = failure.details.get("existing")
            return Decided(
                Outcome.LINK_TAKEN, current, existing if isinstance(existing, ItemView) else None
            )
        self._queued()
        return Decided(Outcome.DONE, decided[0], published.item)

    async def _approve_scheduled(
        self, editor_id: int, current: SubmissionView, publish_at: datetime
    ) -> SubmissionView:
        decided: list[SubmissionView] = []

        async def claim(session: AsyncSession, scheduled_id: int) -> None:
            detail = f"draft #{current.id} → s{scheduled_id}"
            decided.append(
                await self._decided(
                    session,
                    current,
                    editor_id,
                    Decision.APPROVE,
                    detail,
                    scheduled_id=scheduled_id,
                )
            )

        await self._scheduling.schedule(
            current.draft, publish_at, actor_id=editor_id, chat_id=editor_id, also=claim
        )
        return decided[0]

    async def _why_lost(self, submission_id: int, revision: int) -> Decided | None:
        """Why a decision on `revision` did not take: decided by someone, or resubmitted;
        None when the draft still waits at that revision (the decision failed otherwise)."""
        now = await self.get(submission_id)
        if now is None:
            return Decided(Outcome.UNKNOWN)
        if now.state == WAITING and now.revision == revision:
            return None
        return self._lost(now, revision)

    @staticmethod
    def _lost(now: SubmissionView, revision: int) -> Decided:
        if now.revision != revision:
            return Decided(Outcome.STALE, now)
        return Decided(Outcome.ALREADY_DECIDED, now)

    # -- reading

    async def get(self, submission_id: int) -> SubmissionView | None:
        async with self._sessions() as session:
            row = await session.get(Submission, submission_id)
            return view_of(row) if row is not None else None

    async def waiting(self, *, limit: int = 5, after_id: int = 0) -> QueuePage:
        """What waits for an editor, oldest first (`after_id`: the page after that one).
        The first page, which every /queue reads, is kept for a while (see `__init__`)."""
        if after_id == 0:
            key = (limit,)
            if (kept := self._first_pages.get(key)) is not None:
                return kept
            generation = self._first_pages.generation
            page = await self._read_waiting(limit, after_id)
            self._first_pages.put(key, page, generation)
            return page
        return await self._read_waiting(limit, after_id)

    async def _read_waiting(self, limit: int, after_id: int) -> QueuePage:
        # plain rows rather than ORM objects, and the count on the (state, id) index alone
        table = Submission.__table__
        waiting = table.c.state == WAITING
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(*table.columns)
                    .where(waiting, table.c.id > after_id)
                    .order_by(table.c.id)
                    .limit(limit)
                )
            ).all()
            total = -1  # only the first page says how many wait
            if after_id == 0:
                total = int(await session.scalar(select(func.count()).where(waiting)) or 0)
        return QueuePage(tuple(view_of(row) for row in rows), total)

    async def of_author(self, author_id: int, *, limit: int = 20) -> Sequence[SubmissionView]:
        """An author's own drafts, the latest first."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Submission)
                .where(Submission.author_id == author_id)
                .order_by(Submission.submitted_at.desc(), Submission.id.desc())
                .limit(limit)
            )
            return [view_of(row) for row in rows]
