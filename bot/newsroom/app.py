"""Signing in, sessions and what every newsroom request passes through.

Every response carries the security headers; every page and API needs the session of an
admin who may still publish (`WebSessionService.user` checks the roster each time); every
POST form must carry its session's CSRF token (403 otherwise, before anything changes).
Failed sign-ins are capped per address (`FailedSignIns`): the rest get 429."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot import i18n, texts
from bot.config import Settings
from bot.i18n import Translator
from bot.newsroom.auth import FailedSignIns, init_data_user, same_token
from bot.services.chats import ChatService
from bot.services.web_sessions import (
    BY_WEBAPP,
    SESSION_SECONDS,
    LinkRefused,
    WebSessionService,
    WebUser,
)

log = logging.getLogger(__name__)

COOKIE = "coopbot_session"
HERE = Path(__file__).parent
# Telegram's web clients, the only pages that may show the newsroom in a frame (Mini App)
TELEGRAM_FRAMES = "https://web.telegram.org https://webk.telegram.org https://webz.telegram.org"
TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js"
BASE_POLICY = (
    "default-src 'self'; script-src 'self'{extra}; style-src 'self'; img-src 'self' data: https:; "
    f"connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
    f"frame-ancestors {TELEGRAM_FRAMES}"
)

Page = Callable[[web.Request, "Visit"], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Visit:
    """A signed-in request: who, and their language."""

    user: WebUser
    tr: Translator


class Part(Protocol):
    """Pages or API routes: `install` adds them to the newsroom's router, behind its guard."""

    def install(self, room: Newsroom) -> None: ...


def security_headers(response: web.StreamResponse, *, telegram_script: bool = False) -> None:
    extra = " https://telegram.org" if telegram_script else ""
    response.headers["Content-Security-Policy"] = BASE_POLICY.format(extra=extra)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"


class Newsroom:
    """The routes of the newsroom, added to a `WebServer`'s application by `install`."""

    def __init__(
        self,
        settings: Settings,
        *,
        token: str,
        web_sessions: WebSessionService,
        chats: ChatService,
        parts: Sequence[Part],
        open_routes: Sequence[web.RouteDef] = (),
    ) -> None:
        self.settings = settings
        self._token = token
        self.sessions = web_sessions
        self._chats = chats
        self._parts = parts
        self._open_routes = open_routes  # no session needed (the tracked links)
        self.failures = FailedSignIns()

    def install(self, app: web.Application) -> None:
        app[aiohttp_jinja2.static_root_key] = "/static"
        aiohttp_jinja2.setup(
            app,
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=jinja2.select_autoescape(default=True),
            undefined=jinja2.StrictUndefined,
        )
        router = self.app_router = app.router
        router.add_static("/static/", HERE / "static", append_version=True)
        router.add_get("/login/{token}", self._login)
        router.add_post("/api/session", self._webapp_session)
        router.add_get("/app", self._mini_app)
        router.add_post("/logout", self.guard(self._logout))
        router.add_routes(self._open_routes)
        for part in self._parts:
            part.install(self)

    # -- what every page passes through --------------------------------------------------------

    def guard(
        self, page: Page, *, api: bool = False
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def guarded(request: web.Request) -> web.StreamResponse:
            user = await self._user(request)
            if user is None:
                return await self._refuse(request, 401, texts.WEB_SIGN_IN_NEEDED, api=api)
            tr = i18n.translator(await self._chats.language_of(user.user_id))
            if request.method == "POST" and not api:
                form = await request.post()
                given = form.get("csrf")
                if not same_token(given if isinstance(given, str) else None, user.csrf):
                    log.warning(
                        "newsroom: 403 for %s %s: CSRF token", request.method, request.path[:100]
                    )
                    return await self._refuse(request, 403, texts.WEB_FORBIDDEN, tr=tr)
            response = await page(request, Visit(user, tr))
            security_headers(response)
            return response

        return guarded

    async def _user(self, request: web.Request) -> WebUser | None:
        cookie = request.cookies.get(COOKIE)
        return await self.sessions.user(cookie) if cookie else None

    async def _refuse(
        self,
        request: web.Request,
        status: int,
        text: str,
        *,
        api: bool = False,
        tr: Translator | None = None,
    ) -> web.StreamResponse:
        tr = tr or i18n.translator(i18n.negotiate(request.headers.get("Accept-Language", "")[:2]))
        if api or request.path.startswith("/api/"):
            response: web.StreamResponse = web.json_response({"error": tr(text)}, status=status)
        else:
            response = self.render(
                request, "message.html", tr, {"message": tr(text)}, status=status
            )
        security_headers(response)
        return response

    def render(
        self,
        request: web.Request,
        template: str,
        tr: Translator,
        context: dict[str, Any],
        *,
        status: int = 200,
        user: WebUser | None = None,
    ) -> web.Response:
        return aiohttp_jinja2.render_template(
            template,
            request,
            {"t": tr, "T": texts, "user": user, "settings": self.settings, **context},
            status=status,
        )

    # -- signing in and out ------------------------------------------------------------------

    def _signed_in(self, response: web.StreamResponse, token: str) -> None:
        response.set_cookie(
            COOKIE,
            token,
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="Lax",
            secure=self.settings.web_secure,
            path="/",
        )

    def _address(self, request: web.Request) -> str:
        return request.remote or "?"

    async def _login(self, request: web.Request) -> web.StreamResponse:
        address = self._address(request)
        if self.failures.blocked(address):
            return await self._refuse(request, 429, texts.WEB_TOO_MANY)
        outcome = await self.sessions.redeem(request.match_info["token"])
        if isinstance(outcome, LinkRefused):
            self.failures.failed(address)
            log.info("newsroom: sign-in link refused (%s)", outcome.value)
            status = 404 if outcome is LinkRefused.UNKNOWN else 410
            return await self._refuse(request, status, texts.WEB_LINK_REFUSED[outcome.value])
        response = web.Response(status=302, headers={"Location": "/"})
        self._signed_in(response, outcome.token)
        security_headers(response)
        log.info("newsroom: user %d signed in with a link", outcome.user_id)
        return response

    async def _webapp_session(self, request: web.Request) -> web.StreamResponse:
        address = self._address(request)
        if self.failures.blocked(address):
            return await self._refuse(request, 429, texts.WEB_TOO_MANY, api=True)
        try:
            body = json.loads(await request.text())
            init_data = body["init_data"] if isinstance(body, dict) else None
        except (ValueError, KeyError):
            init_data = None
        user_id = init_data_user(init_data, self._token) if isinstance(init_data, str) else None
        if user_id is None or not await self.sessions.may_use_web(user_id):
            self.failures.failed(address)
            return await self._refuse(request, 401, texts.WEB_SIGN_IN_NEEDED, api=True)
        signed = await self.sessions.start(user_id, via=BY_WEBAPP)
        response = web.json_response({"ok": True, "next": "/"})
        self._signed_in(response, signed.token)
        security_headers(response)
        log.info("newsroom: user %d signed in from the Mini App", user_id)
        return response

    async def _mini_app(self, request: web.Request) -> web.StreamResponse:
        tr = i18n.translator(i18n.negotiate(request.headers.get("Accept-Language", "")[:2]))
        response = self.render(request, "app.html", tr, {"telegram_script": TELEGRAM_SCRIPT})
        security_headers(response, telegram_script=True)
        return response

    async def _logout(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        await self.sessions.end(request.cookies[COOKIE])
        response = self.render(
            request, "message.html", visit.tr, {"message": visit.tr(texts.WEB_SIGNED_OUT)}
        )
        response.del_cookie(COOKIE, path="/")
        return response
