"""Items to publish later: stored in the database, published by a periodic job.

The job also publishes what came due while the bot was down: it takes every item whose
time has passed, whenever it runs. Each item is removed in the transaction that publishes
it, so a crash never publishes one twice or loses one.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import utcnow
from bot.db.models import ScheduledItem
from bot.db.results import rowcount
from bot.services.audit import record
from bot.services.news import NewsService
from bot.services.stories import StoryProblem, VersionRefused, add_versions
from bot.services.validation import ItemDraft, Problem, ValidationFailed
from bot.services.views import ItemView

WHEN_FORMAT = "%Y-%m-%d %H:%M"
_WHEN = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})[ T]+(\d{1,2}):(\d{2})\s*$")


class WhenProblem(enum.Enum):
    FORMAT = "format"
    NO_SUCH_DATE = "no_such_date"
    NO_SUCH_TIME = "no_such_time"  # skipped by a daylight-saving change
    PAST = "past"


class BadWhen(Exception):
    def __init__(self, problem: WhenProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def parse_when(text: str, tz: ZoneInfo, now: datetime) -> datetime:
    """`YYYY-MM-DD HH:MM` in the bot's timezone, as an aware UTC datetime after `now`."""
    match = _WHEN.match(text)
    if match is None:
        raise BadWhen(WhenProblem.FORMAT)
    year, month, day, hour, minute = (int(part) for part in match.groups())
    try:
        local = datetime(year, month, day, hour, minute, tzinfo=tz)
    except ValueError:
        raise BadWhen(WhenProblem.NO_SUCH_DATE) from None
    moment = local.astimezone(UTC)
    # a wall time in a spring-forward gap does not survive the round trip
    if moment.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise BadWhen(WhenProblem.NO_SUCH_TIME)
    if moment <= now:
        raise BadWhen(WhenProblem.PAST)
    return moment


@dataclass(frozen=True, slots=True)
class ScheduledView:
    id: int
    draft: ItemDraft
    publish_at: datetime
    created_by: int
    chat_id: int
    version_of: int | None = None  # a version of that scheduled item, published with it

    @property
    def ref(self) -> str:
        """How admins name a scheduled item ("s3"), apart from published ones ("#12")."""
        return f"s{self.id}"


@dataclass(frozen=True, slots=True)
class DueOutcome:
    """What happened to one due item: published as `item`, or refused for `problem`."""

    scheduled: ScheduledView
    item: ItemView | None = None
    problem: ValidationFailed | None = None


def _view(row: ScheduledItem) -> ScheduledView:
    return ScheduledView(
        id=row.id,
        draft=ItemDraft(
            category=row.category,
            title=row.title,
            url=row.url,
            summary=row.summary,
            language=row.language,
            image_url=row.image_url,
            image_file_id=row.image_file_id,
        ),
        publish_at=row.publish_at,
        created_by=row.created_by,
        chat_id=row.chat_id,
        version_of=row.version_of,
    )


def _row(draft: ItemDraft, publish_at: datetime, *, actor_id: int, chat_id: int) -> ScheduledItem:
    return ScheduledItem(
        category=draft.category,
        title=draft.title,
        url=draft.url,
        summary=draft.summary,
        language=draft.language,
        image_url=draft.image_url,
        image_file_id=draft.image_file_id,
        publish_at=publish_at,
        created_by=actor_id,
        chat_id=chat_id,
    )


class _AlreadyTaken(Exception):
    """Another run published this scheduled item first."""


class SchedulingService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        news: NewsService,
        *,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._news = news
        self.now = now  # swapped by tests for a controllable clock

    async def schedule(
        self,
        draft: ItemDraft,
        publish_at: datetime,
        *,
        actor_id: int,
        chat_id: int,
        also: Callable[[AsyncSession, int], Awaitable[None]] | None = None,
    ) -> ScheduledView:
        """`also` runs in the same transaction once the scheduled item has its id (an
        approval's claim on its draft), so both commit or neither."""
        if draft.url is not None and (existing := await self._news.find_by_url(draft.url)):
            raise ValidationFailed(Problem.DUPLICATE_URL, existing=existing)
        async with self._sessions.begin() as session:
            row = _row(draft, publish_at, actor_id=actor_id, chat_id=chat_id)
            session.add(row)
            await session.flush()
            record(
                session,
                actor_id,
                "schedule",
                detail=f"scheduled #{row.id} for {publish_at.isoformat()}: {draft.title}",
            )
            if also is not None:
                await also(session, row.id)
            return _view(row)

    async def schedule_version(
        self, scheduled_id: int, draft: ItemDraft, *, actor_id: int, chat_id: int
    ) -> ScheduledView:
        """A version of the scheduled item `scheduled_id` in `draft.language`: it goes out
        with it, at its time, as one story (each reader gets one message). Raises
        VersionRefused when that item is not scheduled (any more) or has that language."""
        if draft.url is not None and (existing := await self._news.find_by_url(draft.url)):
            raise ValidationFailed(Problem.DUPLICATE_URL, existing=existing)
        async with self._sessions.begin() as session:
            original = await self._original(session, scheduled_id, lock=True)
            taken = await session.scalar(
                select(ScheduledItem.id).where(
                    or_(ScheduledItem.id == original.id, ScheduledItem.version_of == original.id),
                    ScheduledItem.language == draft.language,
                )
            )
            if taken is not None:
                raise VersionRefused(StoryProblem.LANGUAGE_TAKEN, existing_id=taken)
            # a version takes its story's category and time
            row = _row(
                replace(draft, category=original.category),
                original.publish_at,
                actor_id=actor_id,
                chat_id=chat_id,
            )
            row.version_of = original.id
            session.add(row)
            await session.flush()
            record(
                session,
                actor_id,
                "schedule_version",
                detail=f"scheduled #{row.id}, {draft.language} version of #{original.id}",
            )
            return _view(row)

    async def scheduled_original(self, scheduled_id: int) -> ScheduledView:
        """The scheduled item a version of `scheduled_id` would join (VersionRefused if none)."""
        async with self._sessions() as session:
            return _view(await self._original(session, scheduled_id, lock=False))

    @staticmethod
    async def _original(session: AsyncSession, scheduled_id: int, *, lock: bool) -> ScheduledItem:
        row = await session.get(ScheduledItem, scheduled_id, with_for_update=lock)
        if row is not None and row.version_of is not None:
            row = await session.get(ScheduledItem, row.version_of, with_for_update=lock)
        if row is None:
            raise VersionRefused(StoryProblem.UNKNOWN_ITEM)
        return row

    async def pending(self) -> list[ScheduledView]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ScheduledItem).order_by(ScheduledItem.publish_at, ScheduledItem.id)
            )
            return [_view(row) for row in rows]

    async def publish_due(self) -> list[DueOutcome]:
        """Publish every item whose time has come, oldest first, each with its versions."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ScheduledItem)
                .where(ScheduledItem.publish_at <= self.now())
                .order_by(ScheduledItem.publish_at, ScheduledItem.id)
            )
            due = [_view(row) for row in rows]
        versions: dict[int, list[ScheduledView]] = {}
        for scheduled in due:
            if scheduled.version_of is not None:
                versions.setdefault(scheduled.version_of, []).append(scheduled)
        outcomes = []
        for scheduled in due:
            if scheduled.version_of is not None:
                continue  # goes out with its original
            outcome = await self._publish_one(scheduled, versions.get(scheduled.id, []))
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    async def _publish_one(
        self, scheduled: ScheduledView, versions: list[ScheduledView]
    ) -> DueOutcome | None:
        # a version whose link was published some other way meanwhile stays out of the story
        kept = [
            v for v in versions if not v.draft.url or not await self._news.find_by_url(v.draft.url)
        ]

        async def take(session: AsyncSession, item: ItemView) -> None:
            result = await session.execute(
                delete(ScheduledItem).where(
                    or_(ScheduledItem.id == scheduled.id, ScheduledItem.version_of == scheduled.id)
                )
            )
            if rowcount(result) < 1:
                raise _AlreadyTaken
            # in the original's transaction, before its broadcast is fanned out: the fan-out
            # sees every version and gives each chat its best one
            await add_versions(session, item, [v.draft for v in kept])
            record(
                session,
                scheduled.created_by,
                "publish_scheduled",
                item_id=item.id,
                detail=f"scheduled #{scheduled.id}",
            )

        try:
            published = await self._news.publish(
                scheduled.draft, source=f"admin:{scheduled.created_by}", also=take
            )
        except _AlreadyTaken:
            return None
        except ValidationFailed as failure:
            # the link was published some other way meanwhile: drop it, say why
            async with self._sessions.begin() as session:
                result = await session.execute(
                    delete(ScheduledItem).where(
                        or_(
                            ScheduledItem.id == scheduled.id,
                            ScheduledItem.version_of == scheduled.id,
                        )
                    )
                )
                if rowcount(result) < 1:
                    return None
                record(
                    session,
                    scheduled.created_by,
                    "schedule_failed",
                    detail=f"scheduled #{scheduled.id}: {failure.problem.value}",
                )
            return DueOutcome(scheduled, problem=failure)
        return DueOutcome(scheduled, item=published.item)
