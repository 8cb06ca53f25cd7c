"""Webhook delivery: POST queued updates to the URL the bot set with setWebhook.

Modelled on Telegram's Bot API server: updates wait in per-chat queues, a chat's next update
is sent only once the previous one was acknowledged (any 2xx answer), different chats are
served in parallel over at most ``max_connections`` connections, and a failed update is sent
again after a growing delay while it stays pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import heapq
import itertools
import json
import time
from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

import aiohttp

from .shapes import takes

if TYPE_CHECKING:
    from .state import EmulatorState

__all__ = ["LOOPBACK_HOSTS", "WebhookAttempt", "WebhookSender", "WebhookTargetStats"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

Entry = tuple[int, str, dict[str, Any]]


@dataclass
class WebhookTargetStats:
    """POSTs to one target: ``delivered`` were acknowledged, ``failed`` were not."""

    delivered: int = 0
    failed: int = 0


@dataclass(slots=True)
class WebhookAttempt:
    """One POST of an update: where it went, how it ended, monotonic start and end times."""

    update_id: int
    target: str
    url: str
    started_at: float
    finished_at: float
    status: int | None  # HTTP status; None when no answer came (connection error, timeout)
    error: str | None  # what getWebhookInfo shows as last_error_message; None if acknowledged

    @property
    def ok(self) -> bool:
        return self.error is None


class WebhookSender:
    """The delivery side of one emulator; the Bot API methods and test helpers drive it."""

    def __init__(self, state: EmulatorState, max_attempts: int) -> None:
        self.state = state
        self.url = ""
        self.secret_token = ""
        self.max_connections = 0
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None
        self.targets: list[str] = []
        self.stats: dict[str, WebhookTargetStats] = {}
        self.attempts: deque[WebhookAttempt] = deque(maxlen=max_attempts)
        self.used = False  # a webhook was set at least once
        self._parts: SplitResult | None = None
        self._round_robin = 0
        self._generation = 0
        self._queues: dict[Hashable, deque[Entry]] = {}
        self._ready: list[tuple[float, int, Hashable]] = []  # heap of (send at, seq, queue key)
        self._sequence = itertools.count()
        self._delays: dict[int, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- configuration -------------------------------------------------------------------------

    def same_as(self, url: str, secret_token: str, max_connections: int) -> bool:
        return (url, secret_token, max_connections) == (
            self.url,
            self.secret_token,
            self.max_connections,
        )

    def start(self, url: str, parts: SplitResult, secret_token: str, max_connections: int) -> None:
        """Deliver to ``url`` from now on: a fresh sender, as Telegram makes on a new webhook."""
        self._reset()
        self.url, self._parts = url, parts
        self.secret_token = secret_token
        self.max_connections = max_connections
        self.last_error_date = self.last_error_message = None
        self.used = True
        self._loop = asyncio.get_running_loop()
        for entry in list(self.state._updates):
            self._enqueue(entry)
        self._pump()

    def stop(self) -> None:
        """Forget the webhook; unacknowledged updates stay queued for getUpdates."""
        self._reset()
        self.url, self._parts = "", None
        self.secret_token = ""
        self.max_connections = 0
        self.last_error_date = self.last_error_message = None

    def set_targets(self, targets: Iterable[str] | None) -> None:
        bases = []
        for target in targets or ():
            parts = urlsplit(target)
            if (
                parts.scheme not in ("http", "https")
                or parts.hostname not in LOOPBACK_HOSTS
                or parts.path not in ("", "/")
                or parts.query
            ):
                raise ValueError(f"a target is scheme://host:port on loopback, not {target!r}")
            bases.append(urlunsplit((parts.scheme, parts.netloc, "", "", "")))
        self.targets = bases
        self._round_robin = 0

    async def aclose(self) -> None:
        self._reset()
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _reset(self) -> None:
        self._generation += 1
        for task in self._tasks:
            task.cancel()
        self._tasks = set()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._queues.clear()
        self._ready.clear()
        self._delays.clear()

    # -- queueing ------------------------------------------------------------------------------

    def on_queued(self, entry: Entry) -> None:
        self._enqueue(entry)
        self._pump()

    def _enqueue(self, entry: Entry) -> None:
        update_id, kind, update = entry
        if not takes(self.state._allowed_updates, kind):
            self._forget(entry)  # Telegram never delivers an update type the bot did not allow
            return
        key = _queue_key(update_id, update.get(kind))
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
            self._schedule(key, self._now())
        queue.append(entry)

    def _forget(self, entry: Entry) -> None:
        with contextlib.suppress(ValueError):
            self.state._updates.remove(entry)

    def _schedule(self, key: Hashable, at: float) -> None:
        heapq.heappush(self._ready, (at, next(self._sequence), key))

    def _now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    def _pump(self) -> None:
        """Start sends for queues whose head is due, up to ``max_connections`` at once."""
        if not self.url or self._loop is None:
            return
        now = self._now()
        ready = self._ready
        while ready and len(self._tasks) < self.max_connections and ready[0][0] <= now:
            _, _, key = heapq.heappop(ready)
            queue = self._queues.get(key)
            if queue:
                task = self._loop.create_task(self._deliver(key, queue[0], self._generation))
                self._tasks.add(task)
        if ready and len(self._tasks) < self.max_connections:
            wake_at = ready[0][0]
            if self._timer is None or wake_at < self._timer.when():
                if self._timer is not None:
                    self._timer.cancel()
                self._timer = self._loop.call_at(wake_at, self._wake)

    def _wake(self) -> None:
        self._timer = None
        self._pump()

    # -- sending -------------------------------------------------------------------------------

    def _destination(self) -> tuple[str, str]:
        """(stats label, URL to POST to) for the next attempt."""
        assert self._parts is not None
        parts = self._parts
        if not self.targets:
            return self.url, urlunsplit(parts)
        base = self.targets[self._round_robin % len(self.targets)]
        self._round_robin += 1
        target = urlsplit(base)
        url = urlunsplit((target.scheme, target.netloc, parts.path, parts.query, ""))
        return base, url

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        return self._session

    async def _deliver(self, key: Hashable, entry: Entry, generation: int) -> None:
        update_id, _, update = entry
        label, url = self._destination()
        headers = {"Content-Type": "application/json"}
        if self.secret_token:
            headers[SECRET_HEADER] = self.secret_token
        body = json.dumps(update, ensure_ascii=False, separators=(",", ":")).encode()
        state = self.state
        started = time.monotonic()
        status, error, retry_after = await self._post(url, headers, body)
        if generation != self._generation:
            return  # the webhook was changed or deleted meanwhile
        self._tasks.discard(asyncio.current_task())
        if state.record_calls:
            self.attempts.append(
                WebhookAttempt(update_id, label, url, started, time.monotonic(), status, error)
            )
        stats = self.stats.get(label)
        if stats is None:
            stats = self.stats[label] = WebhookTargetStats()
        if error is None:
            stats.delivered += 1
            queue = self._queues[key]
            queue.popleft()
            self._forget(entry)
            self._delays.pop(update_id, None)
            state.update_handed_out_at.setdefault(update_id, started)
            state._last_activity = time.monotonic()
            if queue:
                self._schedule(key, self._now())
            else:
                del self._queues[key]
        else:
            stats.failed += 1
            self.last_error_date = state.now()
            self.last_error_message = error
            previous = self._delays.get(update_id)
            initial, longest = state.webhook_retry_delays
            delay = initial if previous is None else min(previous * 2, longest)
            self._delays[update_id] = delay
            self._schedule(key, self._now() + min(max(delay, retry_after), longest))
        state.notify_changed()
        self._pump()

    async def _post(
        self, url: str, headers: dict[str, str], body: bytes
    ) -> tuple[int | None, str | None, float]:
        """(status, error text as Telegram words it, Retry-After seconds)."""
        host = urlsplit(url).hostname
        if host not in LOOPBACK_HOSTS:
            # the emulator never contacts other machines: give it targets on loopback instead
            return None, "Failed to resolve host: Name or service not known", 0.0
        try:
            async with self._client().post(
                url,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.state.webhook_timeout),
            ) as response:
                await response.read()
                if 200 <= response.status <= 299:
                    return response.status, None, 0.0
                error = f"Wrong response from the webhook: {response.status} {response.reason}"
                return response.status, error, _retry_after(response.headers.get("Retry-After"))
        except TimeoutError:
            return None, "Read timeout expired", 0.0
        except aiohttp.ClientConnectorError as exc:
            refused = exc.os_error.errno == errno.ECONNREFUSED
            return None, "Connection refused" if refused else f"Can't connect: {exc.strerror}", 0.0
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
            return None, "Webhook connection closed", 0.0
        except (aiohttp.ClientError, OSError) as exc:
            return None, f"Webhook connection error: {exc}", 0.0

    # -- inspection ----------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def info(self) -> dict[str, Any]:
        """What getWebhookInfo answers."""
        state = self.state
        result: dict[str, Any] = {
            "url": self.url,
            "has_custom_certificate": False,
            "pending_update_count": len(state._updates),
        }
        if self.last_error_date is not None:
            result["last_error_date"] = self.last_error_date
            result["last_error_message"] = self.last_error_message
        if self.max_connections:
            result["max_connections"] = self.max_connections
        if self._parts is not None and self._parts.hostname in LOOPBACK_HOSTS:
            result["ip_address"] = "::1" if self._parts.hostname == "::1" else "127.0.0.1"
        if state._allowed_updates is not None:
            result["allowed_updates"] = sorted(state._allowed_updates)
        return result


def _queue_key(update_id: int, payload: Any) -> Hashable:
    """Updates of one chat share a queue (stricter than Telegram, which queues a user's
    callback queries apart from the chat's messages); updates without a chat get their own."""
    if isinstance(payload, dict):
        chat = payload.get("chat")
        message = payload.get("message")
        if chat is None and isinstance(message, dict):
            chat = message.get("chat")
        if isinstance(chat, dict) and "id" in chat:
            return chat["id"]
    return ("update", update_id)


def _retry_after(value: str | None) -> float:
    try:
        return max(float(value), 0.0) if value else 0.0
    except ValueError:
        return 0.0
