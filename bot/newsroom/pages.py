"""The newsroom's pages: dashboard, items, one item, compose, feeds and audit. Each is thin:
read the request, call services, render a template (`templates/`)."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from markupsafe import Markup

from bot import texts
from bot.db.base import utcnow
from bot.db.models.news import CATEGORY_NAME_MAX
from bot.i18n import LANGUAGES
from bot.newsroom.charts import bar_chart, stacked_chart
from bot.notices import feed_error_reason, problem_text, stored_feed_error
from bot.render import item_message
from bot.services.categories import category_key
from bot.services.feeds import AddProblem, FeedNotAdded, split_category_language
from bot.services.newsroom import PAGE_SIZE, NewsroomService
from bot.services.scheduling import BadWhen, parse_when
from bot.services.search import SearchCursor
from bot.services.validation import (
    ItemDraft,
    ValidationFailed,
    clean_image_url,
    clean_item,
    clean_language,
)
from bot.services.views import CategoryView, ItemView

if TYPE_CHECKING:
    from bot.context import Services
    from bot.newsroom.app import Newsroom, Visit
    from bot.services.reach import ReachService

DAYS = 30
STATUSES = tuple(texts.WEB_STATUSES)
FORM_FIELDS = ("title", "category", "link", "summary", "language", "picture", "schedule")


def _int(raw: str | None) -> int | None:
    return int(raw) if raw is not None and raw.isdigit() and len(raw) < 19 else None


class Pages:
    def __init__(self, services: Services, newsroom: NewsroomService, reach: ReachService) -> None:
        self._s = services
        self._newsroom = newsroom
        self._reach = reach
        self._room: Newsroom | None = None

    def install(self, room: Newsroom) -> None:
        self._room = room
        router, guard = room.app_router, room.guard
        router.add_get("/", guard(self.dashboard))
        router.add_get("/items", guard(self.items))
        router.add_get("/items/new", guard(self.compose))
        router.add_post("/items/new", guard(self.compose))
        router.add_get(r"/items/{id:\d{1,18}}", guard(self.item))
        router.add_post(r"/items/{id:\d{1,18}}/edit", guard(self.edit))
        router.add_post(r"/items/{id:\d{1,18}}/delete", guard(self.delete))
        router.add_get("/feeds", guard(self.feeds))
        router.add_post("/feeds", guard(self.feeds))
        router.add_post(r"/feeds/{id:\d{1,9}}/remove", guard(self.remove_feed))
        router.add_get("/audit", guard(self.audit))

    def _render(
        self, request: web.Request, visit: Visit, template: str, **context: Any
    ) -> web.Response:
        assert self._room is not None
        context.setdefault("page", template.removesuffix(".html"))
        return self._room.render(request, template, visit.tr, context, user=visit.user)

    # -- dashboard -----------------------------------------------------------------------------

    async def dashboard(self, request: web.Request, visit: Visit) -> web.Response:
        days = await self._reach.daily(DAYS)
        top = await self._reach.top_by_opens(DAYS, 10)
        waiting = await self._reach.waiting()
        labels = [d.date.isoformat() for d in days]
        charts = {
            "subscribers": bar_chart(labels, [d.subscribers for d in days]),
            "messages": stacked_chart(
                labels,
                {
                    "sent": [d.sent for d in days],
                    "failed": [d.failed for d in days],
                    "blocked": [d.blocked for d in days],
                },
            ),
            "opens": bar_chart(labels, [d.opens for d in days]),
        }
        return self._render(
            request,
            visit,
            "dashboard.html",
            days=days,
            charts=charts,
            top=top,
            waiting=waiting,
            period=DAYS,
        )

    # -- items -----------------------------------------------------------------------------------

    async def items(self, request: web.Request, visit: Visit) -> web.Response:
        query = request.query
        words = (query.get("q") or "").strip()[:200]
        category_id = _int(query.get("category"))
        language = query.get("language") or None
        status = query.get("status") if query.get("status") in STATUSES else None
        before = _int(query.get("before"))
        scheduled = await self._s.scheduling.pending() if status == "scheduled" else []
        older = more = None
        if words:
            try:
                after = SearchCursor.decode(query["after"]) if "after" in query else None
            except ValueError:
                after = None  # a cursor from nowhere: the first page
            found = await self._s.search.search(words, limit=PAGE_SIZE, after=after)
            rows = await self._newsroom.rows([item.id for item in found.items])
            more = found.cursor.encode() if found.more and found.cursor else None
        elif status == "scheduled":
            rows = []
        else:
            page = await self._newsroom.items(
                before=before, category_id=category_id, language=language, status=status
            )
            rows, older = list(page.rows), page.older
        reach = await self._reach.items([row.id for row in rows])
        # in the admin's language, as the bot shows them (a name it lacks: the original)
        shown_in = visit.tr.language
        categories = sorted(
            await self._s.news.categories(), key=lambda c: category_key(c.name_in(shown_in))
        )
        return self._render(
            request,
            visit,
            "items.html",
            rows=rows,
            reach=reach,
            scheduled=scheduled,
            older=older,
            more=more,
            words=words,
            categories=categories,
            category_names=_names_in(categories, shown_in),
            languages=LANGUAGES,
            statuses=STATUSES,
            chosen={"category": category_id, "language": language, "status": status},
            tz=self._s.settings.tz,
        )

    async def item(
        self, request: web.Request, visit: Visit, notice: str | None = None
    ) -> web.Response:
        detail = await self._newsroom.detail(int(request.match_info["id"]))
        if detail is None:
            assert self._room is not None
            return self._room.render(
                request,
                "message.html",
                visit.tr,
                {"message": visit.tr(texts.WEB_NOT_FOUND)},
                status=404,
                user=visit.user,
            )
        shown = item_message(detail.item, self._s.settings.tz, visit.tr, share=False)
        return self._render(
            request,
            visit,
            "item.html",
            detail=detail,
            shown=Markup(_telegram_html(shown.text)),
            reach=await self._reach.item(detail.item.id),
            notice=notice,
            tz=self._s.settings.tz,
        )

    async def edit(self, request: web.Request, visit: Visit) -> web.Response:
        item_id = int(request.match_info["id"])
        form = await request.post()
        detail = await self._newsroom.detail(item_id)
        if detail is None or detail.deleted:
            return await self.item(request, visit, visit.tr(texts.WEB_ALREADY_DELETED))
        changes = {
            "title": str(form.get("title", "")),
            "summary": str(form.get("summary", "")) or None,
            "url": str(form.get("link", "")) or None,
        }
        current = {
            "title": detail.item.title,
            "summary": detail.item.summary,
            "url": detail.item.url,
        }
        corrected = 0
        try:
            cleaned = clean_item(
                detail.item.category, changes["title"], changes["url"], changes["summary"]
            )
            for field, value in (
                ("title", cleaned.title),
                ("summary", cleaned.summary),
                ("url", cleaned.url),
            ):
                if value != current[field]:
                    edited = await self._s.corrections.edit(
                        visit.user.user_id, item_id, field, value
                    )
                    corrected = max(corrected, edited.messages)
        except ValidationFailed as failure:
            return await self.item(
                request,
                visit,
                visit.tr(texts.WEB_NOT_PUBLISHED, problem=_plain(problem_text(failure))),
            )
        except LookupError:
            return await self.item(request, visit, visit.tr(texts.WEB_ALREADY_DELETED))
        return await self.item(request, visit, visit.tr(texts.WEB_EDITED, n=corrected))

    async def delete(self, request: web.Request, visit: Visit) -> web.Response:
        item_id = int(request.match_info["id"])
        try:
            deleted = await self._s.corrections.delete(visit.user.user_id, item_id)
        except LookupError:
            return await self.item(request, visit, visit.tr(texts.WEB_ALREADY_DELETED))
        return await self.item(request, visit, visit.tr(texts.WEB_DELETED, n=deleted.messages))

    # -- compose -----------------------------------------------------------------------------

    async def compose(self, request: web.Request, visit: Visit) -> web.Response:
        values = {name: "" for name in FORM_FIELDS}
        values["language"] = visit.tr.language
        preview = problem = done = None
        if request.method == "POST":
            form = await request.post()
            values = {name: str(form.get(name, "")).strip() for name in FORM_FIELDS}
            try:
                draft, when = self._draft(values)
                if form.get("action") == "publish":
                    done = await self._publish(visit, draft, when)
                else:
                    preview = self._preview(visit, draft)
            except ValidationFailed as failure:
                problem = _plain(problem_text(failure))
            except BadWhen as bad:
                tz = self._s.settings.timezone
                now = utcnow().astimezone(self._s.settings.tz).strftime(texts.WHEN_FORMAT_SHOWN)
                problem = _plain(visit.tr(texts.WHEN_PROBLEMS[bad.problem.value], tz=tz, now=now))
        categories = await self._s.news.categories()
        return self._render(
            request,
            visit,
            "compose.html",
            values=values,
            preview=preview,
            problem=problem,
            done=done,
            categories=categories,
            languages=LANGUAGES,
            tz=self._s.settings.timezone,
        )

    def _draft(self, values: dict[str, str]) -> tuple[ItemDraft, datetime | None]:
        draft = clean_item(
            values["category"],
            values["title"],
            values["link"],
            values["summary"],
            url_required=True,
        )
        language = clean_language(values["language"] or None)
        image = clean_image_url(values["picture"] or None)
        when = None
        if values["schedule"]:
            raw = values["schedule"].replace("T", " ")
            when = parse_when(raw, self._s.settings.tz, utcnow())
        return replace(draft, language=language, image_url=image), when

    def _preview(self, visit: Visit, draft: ItemDraft) -> Markup:
        view = ItemView(
            id=0,
            title=draft.title,
            summary=draft.summary,
            url=draft.url,
            category_id=0,
            category=draft.category,
            published_at=utcnow(),
            language=draft.language,
            image_url=draft.image_url,
        )
        return Markup(
            _telegram_html(item_message(view, self._s.settings.tz, visit.tr, share=False).text)
        )

    async def _publish(
        self, visit: Visit, draft: ItemDraft, when: datetime | None
    ) -> dict[str, Any]:
        if when is not None:
            scheduled = await self._s.scheduling.schedule(
                draft, when, actor_id=visit.user.user_id, chat_id=visit.user.user_id
            )
            shown = scheduled.publish_at.astimezone(self._s.settings.tz).strftime(
                texts.WHEN_FORMAT_SHOWN
            )
            return {"text": visit.tr(texts.WEB_SCHEDULED, when=shown, tz=self._s.settings.timezone)}
        published = await self._s.news.publish(draft, actor_id=visit.user.user_id)
        return {
            "text": visit.tr(texts.WEB_PUBLISHED, id=published.item.id),
            "id": published.item.id,
        }

    # -- feeds and audit -----------------------------------------------------------------------

    async def feeds(self, request: web.Request, visit: Visit) -> web.Response:
        feeds = self._s.feeds
        notice = problem = None
        if request.method == "POST":
            form = await request.post()
            url = str(form.get("url", "")).strip()
            try:
                category, language = split_category_language(str(form.get("category", "")))
                added = await feeds.add(
                    url, category, language=language, added_by=visit.user.user_id
                )
                notice = visit.tr(texts.WEB_FEED_ADDED, id=added.feed.id)
            except FeedNotAdded as failure:
                if failure.error is not None:
                    reason = feed_error_reason(
                        feeds, failure.error.code.value, failure.error.detail
                    )
                else:
                    problem_kind = failure.problem or AddProblem.BAD_URL
                    existing = failure.existing
                    reason = visit.tr(
                        texts.FEEDS_ADD_PROBLEMS[problem_kind.value],
                        id=existing.id if existing else "?",
                        max=CATEGORY_NAME_MAX,
                        code=html.escape(failure.code),
                    )
                problem = visit.tr(texts.WEB_FEED_NOT_ADDED, problem=_plain(reason))
        return await self._feeds_page(request, visit, notice=notice, problem=problem)

    async def remove_feed(self, request: web.Request, visit: Visit) -> web.Response:
        removed = await self._s.feeds.remove(int(request.match_info["id"]))
        if removed:
            notice = visit.tr(texts.WEB_FEED_REMOVED, id=removed.id)
        else:
            notice = visit.tr(texts.WEB_NOT_FOUND)
        return await self._feeds_page(request, visit, notice=notice, problem=None)

    async def _feeds_page(
        self, request: web.Request, visit: Visit, *, notice: str | None, problem: str | None
    ) -> web.Response:
        feeds = self._s.feeds
        listed = await feeds.feeds()
        errors = {feed.id: _plain(stored_feed_error(feeds, feed)) for feed in listed if feed.error}
        categories = await self._s.news.categories()
        return self._render(
            request,
            visit,
            "feeds.html",
            feeds=listed,
            errors=errors,
            category_names=_names_in(categories, visit.tr.language),
            notice=notice,
            problem=problem,
            tz=self._s.settings.tz,
        )

    async def audit(self, request: web.Request, visit: Visit) -> web.Response:
        entries = await self._s.audit.recent(200)
        return self._render(request, visit, "audit.html", entries=entries, tz=self._s.settings.tz)


def _names_in(categories: list[CategoryView], language: str) -> dict[str, str]:
    """Each category's original name → its name in `language` (rows hold the original)."""
    return {c.name: c.name_in(language) for c in categories}


def _plain(telegram_html: str) -> str:
    """A bot text made for Telegram's HTML, as plain text (the templates escape it again)."""
    return html.unescape(re.sub(r"<[^>]+>", "", telegram_html))


def _telegram_html(text: str) -> str:
    """An item as Telegram shows it: its HTML (made by `bot.render`, data escaped) with line
    breaks, which Telegram keeps and a browser needs as <br>."""
    return text.replace("\n", "<br>")
