"""What the bot counts, for Prometheus: served at /metrics by `bot.web`.

One registry per bot (not prometheus_client's global one), so a process that builds several
bots (tests, benches) never mixes their numbers, and nothing else's metrics leak in. Names
start with `coopbot_`, use base units (seconds) and end in `_total` for counters; no label
holds a user or chat id, so the number of series stays small whatever the audience.

The other layers do not import this module: `bot/app.py` hands them callables (the delivery
engine's `on_outcome`, the feed service's `on_poll`) or wraps what they use (the Bot API
requests, the Application's `process_update`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from importlib import metadata
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)
from telegram import Update
from telegram._utils.types import ODVInput
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
# how long a scrape waits for a value read from the database (the delivery backlog)
REFRESH_SECONDS = 2.0
DELIVERY_OUTCOMES = ("sent", "blocked", "failed", "retried", "cancelled")
API_OUTCOMES = ("ok", "429", "4xx", "5xx", "network")


def _version() -> str:
    try:
        return metadata.version("coop-news-bot")
    except metadata.PackageNotFoundError:
        return "unknown"


def update_type(update: object) -> str:
    """`message`, `callback_query`, `my_chat_member`…: the field of the update that is set."""
    if not isinstance(update, Update):
        return "other"
    for kind in Update.ALL_TYPES:
        if getattr(update, kind, None) is not None:
            return kind
    return "other"


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.updates = Counter(
            "coopbot_updates", "Updates from Telegram, by type", ["type"], registry=registry
        )
        self.update_seconds = Histogram(
            "coopbot_update_handling_seconds",
            "Time to run the handlers of one update",
            registry=registry,
        )
        self.webhook_requests = Counter(
            "coopbot_webhook_requests",
            "Requests to the webhook path, by the HTTP status answered",
            ["status"],
            registry=registry,
        )
        self.api_requests = Counter(
            "coopbot_bot_api_requests",
            "Bot API requests, by method and outcome (ok, 429, 4xx, 5xx, network)",
            ["method", "outcome"],
            registry=registry,
        )
        self.too_many_requests = Counter(
            "coopbot_telegram_429", "Bot API answers 429 Too Many Requests", registry=registry
        )
        self.retry_after = Counter(
            "coopbot_telegram_retry_after_seconds",
            "Seconds Telegram asked the bot to wait (retry_after of 429 answers), summed",
            registry=registry,
        )
        self.deliveries = Counter(
            "coopbot_deliveries",
            "Pushed messages by outcome: sent, blocked (chat gone), failed, retried, cancelled",
            ["outcome"],
            registry=registry,
        )
        for outcome in DELIVERY_OUTCOMES:
            self.deliveries.labels(outcome)
        self.backlog = Gauge(
            "coopbot_delivery_backlog",
            "Pushes and corrections waiting to be sent, and items waiting to be fanned out",
            registry=registry,
        )
        self.leader = Gauge(
            "coopbot_leader",
            "1 while this process holds the sender lock (sends and runs the jobs), else 0",
            registry=registry,
        )
        self.feed_polls = Counter(
            "coopbot_feed_polls",
            "Feed fetches by outcome: ok, not_modified, failed (the feed), error (the bot)",
            ["outcome"],
            registry=registry,
        )
        self.build = Info("coopbot_build", "The running release", registry=registry)
        self.build.info({"version": _version()})
        self._refreshers: list[Callable[[], Awaitable[None]]] = []

    # -- hooks handed to the other layers ----------------------------------------------------

    def delivery_outcome(self, outcome: str) -> None:
        self.deliveries.labels(outcome).inc()

    def feed_poll(self, outcome: str) -> None:
        self.feed_polls.labels(outcome).inc()

    def api_response(self, method: str, status: int | None, payload: bytes = b"") -> None:
        """One Bot API request answered with `status` (None: no answer, a network error)."""
        if status is None:
            outcome = "network"
        elif 200 <= status <= 299:
            outcome = "ok"
        elif status == 429:
            outcome = "429"
            self.too_many_requests.inc()
            self.retry_after.inc(_retry_after(payload))
        elif status < 500:
            outcome = "4xx"
        else:
            outcome = "5xx"
        self.api_requests.labels(method, outcome).inc()

    def watch_leadership(self, is_leader: Callable[[], bool]) -> None:
        self.leader.set_function(lambda: 1.0 if is_leader() else 0.0)

    def watch_backlog(self, backlog: Callable[[], Awaitable[int]]) -> None:
        """Read the backlog from the database at each scrape (see `refresh`)."""

        async def refresh() -> None:
            self.backlog.set(await backlog())

        self._refreshers.append(refresh)

    # -- a scrape ----------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Read the values kept elsewhere; one that does not answer in time keeps its last
        value (the scrape must not hang on a slow database)."""
        for refresh in self._refreshers:
            try:
                async with asyncio.timeout(REFRESH_SECONDS):
                    await refresh()
            except Exception as exc:
                log.warning("metrics: could not refresh a value: %s", exc.__class__.__name__)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _retry_after(payload: bytes) -> float:
    try:
        seconds = json.loads(payload)["parameters"]["retry_after"]
        return max(0.0, float(seconds))
    except (ValueError, TypeError, KeyError):
        return 0.0


class MeteredRequest(BaseRequest):
    """A Bot API transport that counts every request it carries, then hands it on.

    Every call of a Bot (replies, menus, getUpdates, the sender's broadcasts) goes through
    its BaseRequest's `do_request`, so wrapping the Application's two requests and the
    sender's one counts them all, whatever the transport (httpx or aiohttp) underneath.
    """

    def __init__(self, inner: BaseRequest, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    @property
    def read_timeout(self) -> float | None:
        return self._inner.read_timeout

    async def initialize(self) -> None:
        await self._inner.initialize()

    async def shutdown(self) -> None:
        await self._inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        api_method = url.rpartition("/")[2]
        try:
            status, payload = await self._inner.do_request(
                url=url,
                method=method,
                request_data=request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        except Exception:
            self._metrics.api_response(api_method, None)
            raise
        self._metrics.api_response(api_method, status, payload if status == 429 else b"")
        return status, payload


class MeteredApplication(Application):
    """The Application, counting each update by type and timing its handlers, whether the
    update came by polling or by the webhook (both end in `process_update`)."""

    def __init__(self, *, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # ApplicationBuilder's arguments, handed on unchanged
        self.metrics = metrics

    async def process_update(self, update: object) -> None:
        self.metrics.updates.labels(update_type(update)).inc()
        started = time.perf_counter()
        try:
            await super().process_update(update)
        finally:
            self.metrics.update_seconds.observe(time.perf_counter() - started)
