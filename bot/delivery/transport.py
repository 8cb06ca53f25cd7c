"""An aiohttp transport for python-telegram-bot, for the broadcast sender.

PTB's default HTTPXRequest costs about a millisecond of CPU per call; aiohttp's client, with a
large keep-alive pool, costs a fraction of that, which is what lets one process push past
1,000 messages a second when paid broadcasts lift the limit.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

import aiohttp
from telegram import Bot
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.delivery.content import large_preview


class BroadcastBot(Bot):
    """A Bot with two extra calls for the broadcast sender: `send_html` and `send_picture`.

    They post a ready-made JSON body through `BaseRequest.post`, so errors (429, 403,
    migration, timeouts …) are raised exactly as `send_message` raises them, but they skip
    what a broadcast does not need: building a `RequestData` from objects, and a `Message`
    from the answer. At 1,000+ messages a second those are most of the CPU.
    """

    def __init__(self, token: str, *, base_url: str, request: BaseRequest) -> None:
        super().__init__(token, base_url=base_url, request=request)
        self._sender_request = request

    async def send_html(
        self,
        chat_id: int,
        text: str,
        *,
        read_timeout: float,
        preview_url: str | None = None,
        markup: str | None = None,
        thread_id: int | None = None,
        silent: bool = False,
    ) -> int:
        """A text message; previews off, or a large preview of `preview_url` above the text.
        `markup`: reply_markup as JSON; `thread_id`: a forum topic; `silent`: no sound.
        Returns the message id."""
        body = _head(chat_id, thread_id, silent) + _html_tail(text, preview_url, markup)
        result = await self._sender_request.post(
            f"{self.base_url}/sendMessage",
            request_data=_Encoded(body),
            read_timeout=read_timeout,
        )
        return int(_message(result)["message_id"])

    async def send_picture(
        self,
        chat_id: int,
        photo: str,
        caption: str,
        *,
        read_timeout: float,
        markup: str | None = None,
        thread_id: int | None = None,
        silent: bool = False,
    ) -> tuple[int, str | None]:
        """A photo by URL or file_id, with an HTML caption (`thread_id`, `silent` as for
        `send_html`). Returns the message id and the file_id of the largest size Telegram
        made of it."""
        body = _head(chat_id, thread_id, silent) + _photo_tail(photo, caption, markup)
        result = await self._sender_request.post(
            f"{self.base_url}/sendPhoto",
            request_data=_Encoded(body),
            read_timeout=read_timeout,
        )
        message = _message(result)
        return int(message["message_id"]), largest_file_id(message)


def _message(result: JSONDict | list[JSONDict] | bool) -> JSONDict:
    """The Message a send returns (PTB types every method's result as one union)."""
    if not isinstance(result, dict):
        raise TypeError(f"a send answered {type(result).__name__}, not a Message")
    return result


def _head(chat_id: int, thread_id: int | None, silent: bool) -> bytes:
    """The body's start: the chat, and the forum topic and quiet flag when there are any."""
    head = b'{"chat_id":%d,' % chat_id
    if thread_id is not None:
        head += b'"message_thread_id":%d,' % thread_id
    if silent:
        head += b'"disable_notification":true,'
    return head


def largest_file_id(message: object) -> str | None:
    """The file_id of a Message's (dict's) largest photo size."""
    sizes = message.get("photo") if isinstance(message, dict) else None
    if not sizes:
        return None
    largest = max(sizes, key=lambda size: size.get("width", 0) * size.get("height", 0))
    return largest.get("file_id")


@functools.lru_cache(maxsize=64)
def _html_tail(text: str, preview_url: str | None = None, markup: str | None = None) -> bytes:
    """Everything after the chat id, encoded once per item."""
    preview: dict[str, object] = (
        large_preview(preview_url).to_dict() if preview_url else {"is_disabled": True}
    )
    payload = {"text": text, "parse_mode": "HTML", "link_preview_options": preview}
    return _tail(payload, markup)


@functools.lru_cache(maxsize=64)
def _photo_tail(photo: str, caption: str, markup: str | None = None) -> bytes:
    return _tail({"photo": photo, "caption": caption, "parse_mode": "HTML"}, markup)


def _tail(payload: Mapping[str, object], markup: str | None) -> bytes:
    encoded = json.dumps(payload, ensure_ascii=False).encode()[1:]
    if markup is None:
        return encoded
    return encoded[:-1] + b',"reply_markup":' + markup.encode() + b"}"


# RequestData is marked @final, but building one costs a dict of objects and their JSON per
# message: at 1,000+ messages a second that is the cost this transport exists to avoid
class _Encoded(RequestData):  # type: ignore[misc]
    """A JSON body encoded beforehand (no files)."""

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self._body = body

    @property
    def json_payload(self) -> bytes:
        return self._body


class AiohttpRequest(BaseRequest):
    def __init__(
        self,
        *,
        connection_pool_size: int = 128,
        read_timeout: float | None = 10.0,
        connect_timeout: float | None = 5.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector)

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

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
        if self._session is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=_given_or(connect_timeout, self._connect_timeout),
            sock_read=_given_or(read_timeout, self._read_timeout),
        )
        kwargs: dict[str, Any] = {"timeout": timeout}
        if request_data is not None and request_data.contains_files:
            form = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():
                form.add_field(name, value)
            for name, part in request_data.multipart_data.items():
                filename, content, mimetype = part[0], part[1], part[2] if len(part) > 2 else None
                form.add_field(name, content, filename=filename, content_type=mimetype)
            kwargs["data"] = form
        elif request_data is not None:
            kwargs["data"] = request_data.json_payload
            kwargs["headers"] = {"Content-Type": "application/json"}
        try:
            async with self._session.request(method, url, **kwargs) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut("Timed out") from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp: {exc.__class__.__name__}") from exc


def _given_or(given: ODVInput[float], ours: float | None) -> float | None:
    """The timeout a call gave, or ours where it left PTB's default (as HTTPXRequest does)."""
    return ours if isinstance(given, DefaultValue) else given
