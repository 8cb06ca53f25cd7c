"""Members' suggestions: a reader's link (/suggest), queued for the editors, who draft it into
an item of their own or dismiss it. The member hears of each fate by a notice.

    /suggest link ──► suggest() ──► Suggestion (waiting) + a notice to each editor
    Draft ──► decide() ──► drafted; the editor's /add publishes it ──► published() + notice
    Dismiss ──► decide() ──► dismissed + notice to the member

A link is read once (5 s, 1 MB, https only) for its title; a page that cannot be read is
queued without one. One suggestion per link (`link_key`, unique), so a race inserts one row.
Notices are written in the transaction of their cause, in the recipient's language.
"""

from __future__ import annotations

import enum
import html
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import i18n, texts
from bot.db.base import utcnow
from bot.db.models import Chat, Item, SuggestBlock, Suggestion
from bot.db.models.desk import DISMISSED, DRAFTED, PUBLISHED, SUGGESTED, WORDS_MAX
from bot.db.results import rowcount
from bot.feeds.fetcher import FeedError, FetchLimits, client_session, fetch
from bot.services.admins import AdminService
from bot.services.audit import record
from bot.services.notices import Button, NoticeQueue, queue_notice
from bot.services.validation import TITLE_MAX, ValidationFailed, clean_url

log = logging.getLogger(__name__)

# reading a suggested page: far less than a feed may take, as a member waits for the answer
PAGE_LIMITS = FetchLimits(timeout_seconds=5.0, max_bytes=1024 * 1024)
DAILY_LIMIT = 3
WINDOW = timedelta(days=1)
LISTED = 10  # /suggestions shows this many, then says how many more wait


class Outcome(enum.Enum):
    RECEIVED = "received"
    BAD_LINK = "bad_link"
    NOT_HTTPS = "not_https"
    BLOCKED = "blocked"
    TOO_MANY = "too_many"  # `again_at` says when the member may suggest again
    PUBLISHED_ALREADY = "published_already"  # `item_id`, `title`
    SUGGESTED_ALREADY = "suggested_already"


@dataclass(frozen=True, slots=True)
class Suggested:
    outcome: Outcome
    suggestion: SuggestionView | None = None
    item_id: int | None = None
    item_title: str | None = None
    again_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SuggestionView:
    id: int
    user_id: int
    link: str
    title: str | None
    words: str | None
    state: str
    decided_by: int | None
    created_at: datetime

    @classmethod
    def of(cls, row: Suggestion) -> SuggestionView:
        return cls(
            row.id,
            row.user_id,
            row.link,
            row.title,
            row.words,
            row.state,
            row.decided_by,
            row.created_at,
        )


class Verdict(enum.Enum):
    DRAFTED = "drafted"
    DISMISSED = "dismissed"
    DECIDED_ALREADY = "decided_already"  # by `suggestion.decided_by`, to `suggestion.state`
    UNKNOWN = "unknown"  # no such suggestion (forged, or erased by /forget)


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    suggestion: SuggestionView | None = None


class Action(enum.StrEnum):
    DRAFT = "draft"
    DISMISS = "dismiss"


def link_key(url: str) -> str:
    """`url` folded so that one page is one key: scheme and host in lower case, no fragment,
    no trailing slash."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), netloc, path, parts.query, ""))


class _TitleReader(HTMLParser):
    """The page's og:title, else its <title> (entities decoded by the parser)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: list[str] = []
        self.og_title: str | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag == "meta":
            values = dict(attrs)
            if (values.get("property") or values.get("name")) == "og:title":
                self.og_title = values.get("content") or self.og_title

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)


def page_title(body: bytes, content_type: str | None) -> str | None:
    charset = "utf-8"
    if content_type and "charset=" in content_type:
        charset = content_type.split("charset=", 1)[1].split(";")[0].strip().strip('"') or charset
    try:
        text = body.decode(charset, errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    reader = _TitleReader()
    reader.feed(text)
    reader.close()
    title = " ".join((reader.og_title or "".join(reader.title)).split())
    if not title:
        return None
    return title if len(title) <= TITLE_MAX else title[: TITLE_MAX - 1] + "…"


def _words(raw: str | None) -> str | None:
    words = " ".join((raw or "").split())
    if not words:
        return None
    return words if len(words) <= WORDS_MAX else words[: WORDS_MAX - 1] + "…"


async def _languages(session: AsyncSession, chat_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(chat_ids))
    rows = await session.execute(select(Chat.id, Chat.language).where(Chat.id.in_(ids)))
    found = {chat_id: i18n.supported(language) for chat_id, language in rows}
    return {chat_id: found.get(chat_id, i18n.ENGLISH) for chat_id in ids}


def _shown_title(suggestion: Suggestion | SuggestionView) -> str:
    return html.escape(suggestion.title or suggestion.link)


def editor_text(suggestion: SuggestionView) -> str:
    """A suggestion as editors see it (in the current language)."""
    text = i18n._(
        texts.SUGGESTION_FOR_EDITORS,
        title=_shown_title(suggestion),
        link=html.escape(suggestion.link, quote=True),
        user_id=suggestion.user_id,
    )
    if suggestion.words:
        text += "\n" + i18n._(texts.SUGGESTION_WORDS, words=html.escape(suggestion.words))
    return text


def editor_buttons(suggestion_id: int) -> list[list[Button]]:
    """Draft and Dismiss (in the current language), as notice buttons."""
    # imported here: bot.callbacks reads bot.services.search, which reads bot.services.news,
    # which calls `published` below when an item goes out
    from bot.callbacks import SuggestionChoice, encode

    return [
        [
            {
                "text": i18n._(texts.BUTTON_DRAFT),
                "callback_data": encode(SuggestionChoice(Action.DRAFT, suggestion_id)),
            },
            {
                "text": i18n._(texts.BUTTON_DISMISS),
                "callback_data": encode(SuggestionChoice(Action.DISMISS, suggestion_id)),
            },
        ]
    ]


async def _tell_member(
    session: AsyncSession, row: Suggestion, message: str, **values: object
) -> None:
    language = (await _languages(session, [row.chat_id]))[row.chat_id]
    with i18n.speaking(language):
        queue_notice(session, row.chat_id, i18n._(message, **values))


async def published(session: AsyncSession, item_id: int, url: str, actor_id: int | None) -> None:
    """An item went out with `url` (in the caller's transaction): a waiting or drafted
    suggestion of that link is published, and its member told."""
    rows = await session.scalars(
        select(Suggestion)
        .where(Suggestion.link_key == link_key(url), Suggestion.state.in_((SUGGESTED, DRAFTED)))
        .with_for_update()
    )
    for row in rows:
        row.state, row.item_id = PUBLISHED, item_id
        if row.decided_by is None:
            row.decided_by, row.decided_at = actor_id, utcnow()
        await _tell_member(
            session,
            row,
            texts.NOTICE_SUGGESTION_PUBLISHED,
            title=_shown_title(row),
            link=html.escape(row.link, quote=True),
            id=item_id,
        )


class SuggestionService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        admins: AdminService,
        *,
        limits: FetchLimits = PAGE_LIMITS,
        plain_http_hosts: frozenset[str] = frozenset(),
        daily_limit: int = DAILY_LIMIT,
        now: Callable[[], datetime] = utcnow,
        notices: NoticeQueue | None = None,
    ) -> None:
        self._sessions = sessions
        self._admins = admins
        # told after a commit that queued notices, so they go out at once (else: at the poll)
        self._notices = notices or NoticeQueue()
        self.limits = limits
        # hosts whose plain-http pages may be read: none in production (https only); the
        # tests' local page server on 127.0.0.1
        self._plain_http_hosts = plain_http_hosts
        self.daily_limit = daily_limit
        self.now = now  # swapped by tests for a controllable clock

    def _checked_link(self, raw: str) -> tuple[str | None, Outcome | None]:
        try:
            link = clean_url(raw)
        except ValidationFailed:
            return None, Outcome.BAD_LINK
        if link is None:
            return None, Outcome.BAD_LINK
        parts = urlsplit(link)
        if parts.scheme.lower() != "https" and parts.hostname not in self._plain_http_hosts:
            return None, Outcome.NOT_HTTPS
        return link, None

    async def suggest(
        self, user_id: int, chat_id: int, raw_link: str, words: str | None = None
    ) -> Suggested:
        link, problem = self._checked_link(raw_link)
        if problem is not None or link is None:
            return Suggested(problem or Outcome.BAD_LINK)
        key = link_key(link)
        early = await self._refusal(user_id, key)
        if early is not None:
            return early
        title = await self.read_title(link)
        try:
            async with self._sessions.begin() as session:
                row = Suggestion(
                    user_id=user_id,
                    chat_id=chat_id,
                    link=link,
                    link_key=key,
                    title=title,
                    words=_words(words),
                    state=SUGGESTED,
                    created_at=self.now(),
                )
                session.add(row)
                await session.flush()
                view = SuggestionView.of(row)
                editors = await self._admins.editor_ids()
                for editor_id, language in (await _languages(session, editors)).items():
                    with i18n.speaking(language):
                        queue_notice(session, editor_id, editor_text(view), editor_buttons(view.id))
        except IntegrityError:  # the same link, suggested by someone else a moment ago
            return Suggested(Outcome.SUGGESTED_ALREADY)
        self._notices.committed()
        return Suggested(Outcome.RECEIVED, view)

    async def _refusal(self, user_id: int, key: str) -> Suggested | None:
        """Why this suggestion is not taken (blocked, too many, known link), or None."""
        async with self._sessions() as session:
            if await session.get(SuggestBlock, user_id) is not None:
                return Suggested(Outcome.BLOCKED)
            since = self.now() - WINDOW
            recent = list(
                await session.scalars(
                    select(Suggestion.created_at)
                    .where(Suggestion.user_id == user_id, Suggestion.created_at > since)
                    .order_by(Suggestion.created_at.desc())
                    .limit(self.daily_limit)
                )
            )
            if len(recent) >= self.daily_limit:
                return Suggested(Outcome.TOO_MANY, again_at=recent[-1] + WINDOW)
            item = await self._item_with(session, key)
            if item is not None:
                return Suggested(Outcome.PUBLISHED_ALREADY, item_id=item.id, item_title=item.title)
            taken = await session.scalar(select(Suggestion.id).where(Suggestion.link_key == key))
            if taken is not None:
                return Suggested(Outcome.SUGGESTED_ALREADY)
        return None

    @staticmethod
    async def _item_with(session: AsyncSession, key: str) -> Item | None:
        """A stored item whose link is this key's page (items keep links as typed)."""
        parts = urlsplit(key)
        bare = urlunsplit(parts)
        candidates = {bare, bare + "/"}
        if parts.path == "":
            candidates.add(urlunsplit(parts._replace(path="/")))
        return await session.scalar(
            select(Item).where(Item.url.in_(sorted(candidates))).order_by(Item.id).limit(1)
        )

    async def read_title(self, link: str) -> str | None:
        """The page's title, or None when it cannot be read within the limits."""
        try:
            async with client_session(self.limits) as http:
                fetched = await fetch(http, link, self.limits)
        except FeedError as error:
            log.info("a suggested page could not be read: %s", error.code.value)
            return None
        return page_title(fetched.body, fetched.content_type)

    async def decide(self, suggestion_id: int, editor_id: int, action: Action) -> Decision:
        """The first editor to press Draft or Dismiss decides; later presses learn by whom."""
        state = DRAFTED if action is Action.DRAFT else DISMISSED
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Suggestion)
                .where(Suggestion.id == suggestion_id, Suggestion.state == SUGGESTED)
                .values(state=state, decided_by=editor_id, decided_at=self.now())
                .execution_options(synchronize_session=False)
            )
            row = await session.get(Suggestion, suggestion_id, populate_existing=True)
            if row is None:
                return Decision(Verdict.UNKNOWN)
            view = SuggestionView.of(row)
            if rowcount(result) == 0:
                return Decision(Verdict.DECIDED_ALREADY, view)
            record(session, editor_id, f"suggestion_{action.value}", detail=row.link[:500])
            if action is Action.DISMISS:
                await _tell_member(
                    session,
                    row,
                    texts.NOTICE_SUGGESTION_DISMISSED,
                    title=_shown_title(row),
                    link=html.escape(row.link, quote=True),
                )
        if action is Action.DISMISS:
            self._notices.committed()
            return Decision(Verdict.DISMISSED, view)
        return Decision(Verdict.DRAFTED, view)

    async def waiting(self, limit: int = LISTED) -> tuple[list[SuggestionView], int]:
        """The oldest waiting suggestions (up to `limit`), and how many wait in all."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Suggestion)
                .where(Suggestion.state == SUGGESTED)
                .order_by(Suggestion.created_at, Suggestion.id)
                .limit(limit)
            )
            shown = [SuggestionView.of(row) for row in rows]
            total = await session.scalar(
                select(func.count()).select_from(Suggestion).where(Suggestion.state == SUGGESTED)
            )
        return shown, int(total or 0)

    async def get(self, suggestion_id: int) -> SuggestionView | None:
        async with self._sessions() as session:
            row = await session.get(Suggestion, suggestion_id)
            return SuggestionView.of(row) if row else None

    async def block(self, editor_id: int, user_id: int) -> bool:
        """Stop `user_id` suggesting; False when they already were."""
        try:
            async with self._sessions.begin() as session:
                if await session.get(SuggestBlock, user_id) is not None:
                    return False
                session.add(SuggestBlock(user_id=user_id, blocked_by=editor_id))
                await session.flush()
                record(session, editor_id, "suggest_block", target_user_id=user_id)
        except IntegrityError:  # blocked by another editor at the same moment
            return False
        return True

    async def unblock(self, editor_id: int, user_id: int) -> bool:
        """Let `user_id` suggest again; False when they were not blocked."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(SuggestBlock).where(SuggestBlock.user_id == user_id)
            )
            if rowcount(result) == 0:
                return False
            record(session, editor_id, "suggest_unblock", target_user_id=user_id)
        return True
