"""Digests: a chat's choice (instant pushes, or one message a day or a week), when each
period falls due in the chat's time zone, the digest rows, and what a digest lists.

A period's due moment is a local wall time turned into UTC with zoneinfo, and the period is
keyed by the local date of that moment, so a daylight-saving change can neither skip a day
nor give one two digests. A wall time that does not exist that day (02:30 when clocks jump
from 02:00 to 03:00) is read with the offset before the change (fold=0): 03:30 summer time;
one that happens twice (clocks going back) is its first occurrence. Both are deterministic.

Rows are created only once due (`create_due`, run on start and periodically by the jobs),
one INSERT … SELECT per (time zone, schedule) group, so 100,000 chats cost a few statements.
Items are read when the digest is sent (`content`), not when its row is made.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import and_, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import i18n
from bot.db.base import UTCDateTime, utcnow
from bot.db.locks import writing_for_chats
from bot.db.models import Category, Chat, Digest, Item, Subscription
from bot.db.results import rowcount
from bot.filtering import passes
from bot.services.categories import category_key
from bot.services.filters import FilterService
from bot.services.news import item_view
from bot.services.stories import Reader, Version, best_version
from bot.services.views import ItemView

DAILY = "daily"
WEEKLY = "weekly"


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip().rstrip(".")


# weekday names (0 = Monday) in English, French and Spanish, short and long, accents ignored
_WEEKDAYS: dict[str, int] = {}
for _index, _names in enumerate(
    (
        "mon monday lun lundi lunes",
        "tue tues tuesday mar mardi martes",
        "wed wednesday mer mercredi mie miercoles",
        "thu thur thurs thursday jeu jeudi jue jueves",
        "fri friday ven vendredi vie viernes",
        "sat saturday sam samedi sab sabado",
        "sun sunday dim dimanche dom domingo",
    )
):
    for _name in _names.split():
        _WEEKDAYS[_name] = _index


class BadSchedule(ValueError):
    """What was wrong with a /digest line: `problem` is "time", "weekday" or "form"."""

    def __init__(self, problem: str, text: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.text = text


@dataclass(frozen=True, slots=True)
class Schedule:
    mode: str | None  # None: instant pushes
    minute: int = 0  # local minutes after midnight
    weekday: int = 0  # 0 = Monday (weekly only)

    @property
    def clock(self) -> str:
        return f"{self.minute // 60:02d}:{self.minute % 60:02d}"


OFF = Schedule(None)


def parse_time(text: str) -> int:
    """ "08:00", "8:00", "8h30" → minutes after midnight; BadSchedule("time") otherwise."""
    cleaned = text.strip().lower().replace("h", ":", 1)
    hours, colon, minutes = cleaned.partition(":")
    if cleaned.endswith(":"):
        minutes = "00"
    ok = (
        colon
        and hours.isascii()
        and hours.isdigit()
        and minutes.isascii()
        and minutes.isdigit()
        and 1 <= len(hours) <= 2
        and len(minutes) == 2
    )
    if not ok or int(hours) > 23 or int(minutes) > 59:
        raise BadSchedule("time", text)
    return int(hours) * 60 + int(minutes)


def parse_weekday(text: str) -> int:
    day = _WEEKDAYS.get(_fold(text))
    if day is None:
        raise BadSchedule("weekday", text)
    return day


def parse_schedule(args: Sequence[str]) -> Schedule:
    """`off`, `daily 08:00`, `weekly mon 08:00` (weekday names in en/fr/es)."""
    words = [word for word in args if word]
    if not words:
        raise BadSchedule("form")
    mode = _fold(words[0])
    if mode in ("off", "instant", "non", "no"):
        if len(words) != 1:
            raise BadSchedule("form")
        return OFF
    if mode in ("daily", "day", "quotidien", "diario") and len(words) == 2:
        return Schedule(DAILY, parse_time(words[1]))
    if mode in ("weekly", "week", "hebdo", "hebdomadaire", "semanal") and len(words) == 3:
        weekday = parse_weekday(words[1])
        return Schedule(WEEKLY, parse_time(words[2]), weekday)
    raise BadSchedule("form")


def local_due(day: date, minute: int, zone: tzinfo) -> datetime:
    """The UTC moment of `minute` on the local `day` (see the module's docstring for the hour
    that does not exist or happens twice)."""
    wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)  # fold=0
    return wall.astimezone(UTC)


def latest_due(schedule: Schedule, zone: tzinfo, now: datetime) -> tuple[date, datetime]:
    """The latest period that is due at `now`: (its local date, its UTC due moment)."""
    day = now.astimezone(zone).date() + timedelta(days=1)
    for _ in range(9):
        if schedule.mode != WEEKLY or day.weekday() == schedule.weekday:
            due = local_due(day, schedule.minute, zone)
            if due <= now:
                return day, due
        day -= timedelta(days=1)
    raise AssertionError("a week always has a due day")  # pragma: no cover


def zone_named(name: str) -> ZoneInfo | None:
    """The IANA zone called `name` ("Europe/Paris", case as written), else None."""
    if not name or len(name) > 64 or ".." in name or name.startswith("/"):
        return None
    try:
        return ZoneInfo(name)
    except (ValueError, OSError, KeyError):
        return None


@dataclass(frozen=True, slots=True)
class DigestSettings:
    schedule: Schedule
    timezone: str  # the chat's zone, or the TIMEZONE setting's


@dataclass(frozen=True, slots=True)
class DigestContent:
    """What one digest lists, read at send time, grouped by category: each under its name
    in the chat's language, in the order of those names."""

    chat_id: int
    language: str  # the chat's interface language
    groups: tuple[tuple[str, tuple[ItemView, ...]], ...]

    @property
    def count(self) -> int:
        return sum(len(items) for _name, items in self.groups)


def _stories(items: list[ItemView], reader: Reader) -> list[ItemView]:
    """One item per story, `reader`'s version of it (`bot.services.stories`), in the order of
    `items`; a story's versions share its time, so they are all in the same digest."""
    versions: dict[int, list[Version]] = {}
    for item in items:
        versions.setdefault(item.story, []).append(
            Version(item.id, item.language, item.story_id is None)
        )
    chosen = {best_version(found, reader) for found in versions.values()}
    return [item for item in items if item.id in chosen]


class DigestService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        default_tz: ZoneInfo,
        now: Callable[[], datetime] = utcnow,
        filters: FilterService | None = None,
    ) -> None:
        self._sessions = sessions
        # the chats' keyword filters (hx-filters): a digest lists only what they let through
        self._filters = filters or FilterService(sessions)
        self._default_tz = default_tz
        self.now = now  # swapped by tests for a controllable clock
        self._on_due: list[Callable[[], None]] = []

    def on_due(self, listener: Callable[[], None]) -> None:
        """Call `listener` once `create_due` has committed new digest rows (the sender sends
        them at once instead of at its next poll)."""
        self._on_due.append(listener)

    def _zone(self, name: str | None) -> ZoneInfo:
        return (zone_named(name) if name else None) or self._default_tz

    async def settings(self, chat_id: int) -> DigestSettings:
        async with self._sessions() as session:
            chat = await session.get(Chat, chat_id)
        if chat is None or chat.digest_mode is None:
            schedule = OFF
        else:
            schedule = Schedule(chat.digest_mode, chat.digest_minute or 0, chat.digest_weekday or 0)
        zone = chat.timezone if chat is not None and chat.timezone else None
        return DigestSettings(schedule, zone or self._default_tz.key)

    async def choose(self, chat_id: int, schedule: Schedule) -> DigestSettings:
        """Switch the chat's digest on (its first lists what is published from now on), to
        another time, or off (instant pushes again)."""
        async with self._sessions.begin() as session:
            chat = await session.get(Chat, chat_id, with_for_update=True)
            if chat is None:  # a chat seen for the first time by this very update
                chat = Chat(id=chat_id, type="private")
                session.add(chat)
            if schedule.mode is None:
                chat.digest_mode, chat.digest_since = None, None
            else:
                if chat.digest_mode is None or chat.digest_since is None:
                    chat.digest_since = self.now()
                chat.digest_mode = schedule.mode
            chat.digest_minute = schedule.minute if schedule.mode else None
            chat.digest_weekday = schedule.weekday if schedule.mode == WEEKLY else None
            chat.updated_at = utcnow()
        return await self.settings(chat_id)

    async def create_due(self) -> int:
        """A pending row for every chat whose period is due and has none yet; returns how
        many were made. Idempotent: (chat, period) is unique and `digest_since` moves on."""
        now = self.now()
        created = 0
        async with self._sessions.begin() as session:
            groups = (
                await session.execute(
                    select(Chat.timezone, Chat.digest_mode, Chat.digest_minute, Chat.digest_weekday)
                    .where(Chat.digest_mode.is_not(None), Chat.active.is_(True))
                    .distinct()
                )
            ).all()
            if groups:
                await writing_for_chats(session)  # not while a chat is being forgotten
            for name, mode, minute, weekday in groups:
                schedule = Schedule(mode, minute or 0, weekday or 0)
                day, due = latest_due(schedule, self._zone(name), now)
                same = and_(
                    Chat.timezone.is_(None) if name is None else Chat.timezone == name,
                    Chat.digest_mode == mode,
                    Chat.digest_minute == minute,
                    Chat.digest_weekday.is_(None)
                    if weekday is None
                    else Chat.digest_weekday == weekday,
                    Chat.active.is_(True),
                    Chat.digest_since < due,
                )
                rows = select(
                    Chat.id,
                    literal(day.isoformat()),
                    Chat.digest_since,
                    literal(due, UTCDateTime()),
                    literal(now, UTCDateTime()),
                ).where(same)
                insert = (
                    postgresql.insert(Digest)
                    if session.get_bind().dialect.name == "postgresql"
                    else sqlite.insert(Digest)
                )
                statement = insert.from_select(
                    ["chat_id", "period", "since", "until", "created_at"], rows
                ).on_conflict_do_nothing()
                created += max(rowcount(await session.execute(statement)), 0)
                await session.execute(
                    update(Chat)
                    .where(same)
                    .values(digest_since=due)
                    .execution_options(synchronize_session=False)
                )
        if created:
            for listener in self._on_due:
                listener()
        return created

    async def content(self, chat_id: int, since: datetime, until: datetime) -> DigestContent:
        """The items of one digest as they are now: published in (since, until], not deleted,
        in the chat's subscribed categories and "News in" languages, through its keyword
        filters (`bot.filtering.passes`, the rule the fan-out applies in SQL)."""
        async with self._sessions() as session:
            chat = await session.get(Chat, chat_id)
            language = i18n.supported(chat.language) if chat is not None else i18n.ENGLISH
            news = i18n.decode_news_choices(chat.news_languages) if chat is not None else None
            subscribed = select(Subscription.category_id).where(Subscription.chat_id == chat_id)
            everything = select(Subscription.id).where(
                Subscription.chat_id == chat_id, Subscription.category_id.is_(None)
            )
            rows = (
                await session.execute(
                    select(Item, Category.name, Category.names)
                    .join(Category, Item.category_id == Category.id)
                    .where(
                        Item.published_at > since,
                        Item.published_at <= until,
                        Item.deleted_at.is_(None),
                        or_(everything.exists(), Item.category_id.in_(subscribed)),
                    )
                    .order_by(Category.name, Item.published_at, Item.id)
                )
            ).all()
            items = _stories(
                [item_view(item, name, names) for item, name, names in rows],
                Reader(language, news),
            )
        keyword = await self._filters.of_chat(chat_id)
        items = [item for item in items if passes(keyword, item.title, item.summary)]
        groups: dict[str, list[ItemView]] = {}
        for item in items:  # under the category's name in the chat's language, in its order
            groups.setdefault(item.category_in(language), []).append(item)
        named = sorted(groups.items(), key=lambda group: category_key(group[0]))
        return DigestContent(
            chat_id, language, tuple((name, tuple(found)) for name, found in named)
        )
