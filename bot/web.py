"""The bot's HTTP side: Telegram's webhook, /healthz, /readyz and /metrics, and the web
newsroom's routes (`bot.newsroom`) on the server that serves WEB_LISTEN.

Built on aiohttp.web rather than PTB's `run_webhook`/`Updater.start_webhook`: PTB's server
(tornado) takes only the webhook, answers Telegram as soon as the update is queued (before any
handler ran, so a failure is never resent) and runs its own start and stop. With aiohttp (a
dependency already) one server, in the bot's process and on its event loop, takes the webhook
and the health and metrics routes; a webhook request is answered only after its update was
handled, and the server stops as one step of `bot.app.running_bot`'s stop.

Webhook requests (POST to the path of WEBHOOK_URL):

- 403 without the right `X-Telegram-Bot-Api-Secret-Token` (compared in constant time), 413
  over 1 MB, 400 for a body that is not an Update, 405 for another method; 404 elsewhere.
  None of those reach a handler; each is logged in one line, never with the body.
- 503 while the bot starts or stops, or when the database failed during the update (taking
  its claim, in a handler, or recording it): Telegram sends the update again later.
- 200 once the update was handled (or found handled before: a resend).

The one-update-once and one-chat-at-a-time rules live in `bot.services.updates`.
"""

from __future__ import annotations

import asyncio
import contextvars
import hmac
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web
from telegram import Update
from telegram.ext import Application, ExtBot

from bot.metrics import CONTENT_TYPE, Metrics
from bot.services.errors import STORE_UNAVAILABLE
from bot.services.updates import UpdateService

if TYPE_CHECKING:
    from bot.newsroom import Newsroom

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024  # Telegram's updates are far smaller
READY_CHECK_SECONDS = 2.0  # /readyz: how long `SELECT 1` may take
# how long a stop lets webhook updates in flight finish, then how long the server's own
# shutdown may take; their sum stays under the stop step's bound (bot.app)
DRAIN_SECONDS = 7.0
SHUTDOWN_SECONDS = 1.0


@dataclass(frozen=True)
class Webhook:
    path: str
    secret: str


@dataclass
class _Attempt:
    store_failed: bool = False


# the webhook update being handled in this task, so the error handler can mark it
_ATTEMPT: contextvars.ContextVar[_Attempt | None] = contextvars.ContextVar(
    "webhook_attempt", default=None
)


async def note_store_failure(update: object, context: object) -> None:
    """An error handler: a handler of a webhook update failed for want of the database.

    PTB passes a handler's exception to the error handlers and returns normally from
    `process_update`, so this is how the webhook learns it must answer 503. Error handlers
    run in the task of `process_update` (they are blocking), where `_ATTEMPT` is set.
    """
    attempt = _ATTEMPT.get()
    if attempt is not None and isinstance(getattr(context, "error", None), STORE_UNAVAILABLE):
        attempt.store_failed = True


class WebServer:
    """One listening address. With `webhook`, it takes Telegram's updates too."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        application: Application,
        updates: UpdateService,
        metrics: Metrics,
        webhook: Webhook | None = None,
        newsroom: Newsroom | None = None,
    ) -> None:
        self.host = host
        self.port = port  # the real one once started (0 picks any free port)
        self._application = application
        self._updates = updates
        self._metrics = metrics
        self._webhook = webhook
        self._newsroom = newsroom
        self.ready = False  # set by the composition root once the bot runs
        self.stopping = asyncio.Event()
        self._in_flight = 0
        self._drained = asyncio.Event()
        self._drained.set()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    @property
    def in_flight(self) -> int:
        """Webhook updates being handled now."""
        return self._in_flight

    @property
    def where(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._scrape)
        if self._webhook is not None:
            app.router.add_route("*", self._webhook.path, self._hook)
        if self._newsroom is not None:
            self._newsroom.install(app)
        app.router.add_route("*", "/{anything:.*}", self._not_found)
        return app

    async def start(self) -> None:
        runner = web.AppRunner(self._app(), access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()  # OSError when the address is taken or not ours
        self._site = site
        self.port = int(runner.addresses[0][1])

    def begin_stop(self) -> None:
        """/readyz answers 503 and new updates are turned away (Telegram resends them)."""
        self.ready = False
        self.stopping.set()

    async def stop(self) -> None:
        """Close the listener, let the updates in flight finish (bounded), then shut down."""
        self.begin_stop()
        if self._site is not None:
            await self._site.stop()
        if self._in_flight:
            try:
                async with asyncio.timeout(DRAIN_SECONDS):
                    await self._drained.wait()
            except TimeoutError:
                log.error(
                    "web: %d update(s) still being handled after %.0fs; cutting them off",
                    self._in_flight,
                    DRAIN_SECONDS,
                )
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    # -- health and metrics ------------------------------------------------------------------

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")  # the event loop turns: it answered

    async def _readyz(self, _request: web.Request) -> web.Response:
        if not self.ready or self.stopping.is_set():
            return web.Response(status=503, text="starting or stopping")
        if not await self._updates.store_answers(within=READY_CHECK_SECONDS):
            return web.Response(status=503, text="database not answering")
        return web.Response(text="ready")

    async def _scrape(self, _request: web.Request) -> web.Response:
        await self._metrics.refresh()
        return web.Response(body=self._metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})

    async def _not_found(self, request: web.Request) -> web.Response:
        log.info("web: 404 for %s %s", request.method, _path(request))
        return web.Response(status=404, text="not found")

    # -- the webhook -------------------------------------------------------------------------

    def _answer(self, status: int, reason: str, request: web.Request | None = None) -> web.Response:
        self._metrics.webhook_requests.labels(str(status)).inc()
        if request is not None:  # a refused request: say why, without its body
            log.warning("webhook: %d for %s %s: %s", status, request.method, _path(request), reason)
        return web.Response(status=status, text=reason)

    async def _hook(self, request: web.Request) -> web.Response:
        assert self._webhook is not None
        if request.method != "POST":
            return self._answer(405, "method not allowed", request)
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self._webhook.secret.encode()):
            reason = "wrong secret token" if given else "no secret token"
            return self._answer(403, reason, request)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._answer(413, f"body over {MAX_BODY} bytes", request)
        try:
            data = json.loads(body)
        except ValueError:
            return self._answer(400, "body is not JSON", request)
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return self._answer(400, "body is not an update (no update_id)", request)
        bot = self._application.bot
        try:
            update = Update.de_json(data, bot)
        except Exception as exc:
            return self._answer(400, f"body is not an update ({exc.__class__.__name__})", request)
        if isinstance(bot, ExtBot):  # as PTB's updater does (arbitrary callback data)
            bot.insert_callback_data(update)
        if not self.ready or self.stopping.is_set():
            log.info("webhook: update %d turned away (503): starting or stopping", update_id)
            return self._answer(503, "starting or stopping")
        self._in_flight += 1
        self._drained.clear()
        try:
            return await self._handle(update)
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._drained.set()

    async def _handle(self, update: Update) -> web.Response:
        chat = update.effective_chat
        attempt = _Attempt()
        try:
            async with self._updates.claim(update.update_id, chat.id if chat else None) as claim:
                if claim.duplicate:
                    log.info("webhook: update %d was handled before", update.update_id)
                    return self._answer(200, "seen before")
                token = _ATTEMPT.set(attempt)
                try:
                    await self._application.process_update(update)
                finally:
                    _ATTEMPT.reset(token)
                if attempt.store_failed:
                    claim.abandon()
        except STORE_UNAVAILABLE as exc:
            log.error(
                "webhook: update %d not handled, the database failed (503): %s",
                update.update_id,
                exc.__class__.__name__,
            )
            return self._answer(503, "database unavailable")
        if attempt.store_failed:
            log.error("webhook: update %d met a database failure (503)", update.update_id)
            return self._answer(503, "database unavailable")
        return self._answer(200, "ok")


def _path(request: web.Request) -> str:
    """The path, cut short: it is what a stranger typed."""
    return request.path[:100]
