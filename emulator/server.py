"""The HTTP front: an aiohttp server speaking the Telegram Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import time
from types import TracebackType
from typing import Any

from aiohttp import web

from .errors import ApiError
from .faults import DROP_CONNECTION, SERVER_ERROR
from .inline import INLINE_METHODS, InlineSide
from .methods import ASYNC_METHODS, FAULTABLE, METHODS, RATE_LIMITED
from .models import CallRecord
from .params import Params
from .webhook import LOOPBACK_HOSTS

__all__ = ["BotApiEmulator"]

logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

_NOT_FOUND = ApiError(404, "Not Found")
_UNAUTHORIZED = ApiError(401, "Unauthorized")
_JSON = "application/json"


class _ConnectionDropped(Exception):
    """The request was answered by closing the socket."""


class BotApiEmulator(InlineSide):
    """A fake Telegram Bot API server for python-telegram-bot.

    Point PTB at it with ``Application.builder().token(emu.token).base_url(emu.base_url)``.
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "CoopNewsBot",
        **kwargs: Any,
    ) -> None:
        super().__init__(token, bot_username, **kwargs)
        self.host = "127.0.0.1"
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on loopback; ``port=0`` picks a free port (see :attr:`port`)."""
        if host not in LOOPBACK_HOSTS:
            raise ValueError("the emulator only binds to the loopback interface")
        # room for a photo upload over Telegram's 10 MB, so it gets Telegram's answer
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._file)
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self._closing = False
        self.host = "127.0.0.1" if host == "localhost" else host
        self.port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Release long polls and shut the server down."""
        if self._runner is None:
            return
        self._closing = True
        self._updates_event.set()
        await self._webhook.aclose()
        await self.files.aclose()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- request handling --------------------------------------------------------------------

    async def _file(self, request: web.Request) -> web.Response:
        return _response(_NOT_FOUND.status, _NOT_FOUND.payload())

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        received_at = time.monotonic()
        method = request.match_info["method"]
        key = method.lower()
        stats = self.stats
        stats.requests += 1
        stats.per_method[method] += 1
        polling = key == "getupdates"
        if not polling:
            self._inflight += 1
            self._last_activity = received_at
        params: dict[str, Any] = {}
        status = 0  # stays 0 if the connection is dropped or the client goes away
        try:
            if request.match_info["token"] != self.token:
                raise _UNAUTHORIZED
            params, files = await _read_params(request)
            result = await self._dispatch(request, key, Params(params, received_at, files))
            status = 200
            return _response(200, {"ok": True, "result": result})
        except ApiError as exc:
            status = exc.status
            stats.errors += 1
            if status == 429:
                stats.too_many_requests += 1
            return _response(status, exc.payload())
        except _ConnectionDropped:
            raise asyncio.CancelledError from None
        finally:
            if self.record_calls:
                self.calls.append(CallRecord(method, params, status, received_at))
            if not polling:
                self._inflight -= 1
                self._last_activity = time.monotonic()
                self.notify_changed()

    async def _dispatch(self, request: web.Request, key: str, params: Params) -> Any:
        if key in ASYNC_METHODS and key not in FAULTABLE:
            return await ASYNC_METHODS[key](self, params)
        if key not in METHODS and key not in ASYNC_METHODS and key not in INLINE_METHODS:
            raise _NOT_FOUND
        if key in FAULTABLE and self.faults.active:
            return await self._with_faults(request, key, params)
        self._check_rate_limit(key, params)
        return await self._call(key, params)

    async def _call(self, key: str, params: Params) -> Any:
        handler = METHODS.get(key) or INLINE_METHODS.get(key) or ASYNC_METHODS[key]
        result = handler(self, params)
        if inspect.isawaitable(result):  # sendPhoto fetches its URL first
            result = await result
        return result

    def _check_rate_limit(self, key: str, params: Params) -> None:
        if self.enforce_limits and key in RATE_LIMITED:
            chat_id = _chat_id(params)
            if chat_id is not None:
                retry_after = self.limits.acquire(chat_id, params.received_at)
                if retry_after is not None:
                    raise ApiError(
                        429,
                        f"Too Many Requests: retry after {retry_after}",
                        {"retry_after": retry_after},
                    )

    async def _with_faults(self, request: web.Request, key: str, params: Params) -> Any:
        faults = self.faults
        chat_id = _chat_id(params)
        delay = faults.delay_for(chat_id)
        if delay:
            await asyncio.sleep(delay)
        error = faults.chat_error(chat_id)
        if error is not None:
            raise error
        fault = faults.pick(chat_id)
        if fault is None:
            self._check_rate_limit(key, params)
            return await self._call(key, params)
        if fault.kind == SERVER_ERROR:
            raise fault.error()
        result: Any = None
        if fault.delivered:
            with contextlib.suppress(ApiError):
                result = await self._call(key, params)
        if fault.kind == DROP_CONNECTION:
            if request.transport is not None:
                request.transport.close()
            raise _ConnectionDropped
        await asyncio.sleep(fault.seconds)  # the client normally gave up long before this
        if result is None:
            raise fault.error()
        return result


def _chat_id(params: Params) -> int | None:
    value = params.raw.get("chat_id")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The request's parameters, and its uploaded files by field name (a file field's
    parameter is its file name, as the call log shows it)."""
    params: dict[str, Any] = dict(request.query) if request.query_string else {}
    files: dict[str, bytes] = {}
    if not request.body_exists:
        return params, files
    if request.content_type == _JSON:
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: JSON object expected")
        params.update(body)
        return params, files
    form = await request.post()
    for name, value in form.items():
        if isinstance(value, str):
            params[name] = value
        elif isinstance(value, web.FileField):
            params[name] = value.filename or "file"
            files[name] = value.file.read()
        else:  # a part with a binary content type and no file name: an upload all the same
            params[name] = "file"
            files[name] = bytes(value)
    return params, files


def _response(status: int, payload: dict[str, Any]) -> web.Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return web.Response(body=body, status=status, content_type=_JSON)
