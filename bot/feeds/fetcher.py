"""Fetch a feed document over HTTP: conditional GET, a size cap and a timeout.

The body is read by us and handed to the parser as bytes; feedparser never fetches.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass

import aiohttp

USER_AGENT = "CoopNewsBot/0.1 (+https://github.com/; RSS/Atom reader)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
CHUNK = 64 * 1024


class FeedErrorCode(enum.Enum):
    HTTP_STATUS = "http_status"
    TOO_BIG = "too_big"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    NOT_A_FEED = "not_a_feed"


class FeedError(Exception):
    """A feed could not be read; `code` says why, `detail` adds a short fact (a status...)."""

    def __init__(self, code: FeedErrorCode, detail: str = "") -> None:
        super().__init__(f"{code.value}: {detail}" if detail else code.value)
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class FetchLimits:
    timeout_seconds: float = 20.0  # the whole request, body included
    max_bytes: int = 5 * 1024 * 1024  # after decompression, so a gzip bomb stops early


@dataclass(frozen=True, slots=True)
class Fetched:
    """A 200 response (body set) or a 304 (not_modified, no body)."""

    url: str  # after redirects
    body: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


async def fetch(
    http: aiohttp.ClientSession,
    url: str,
    limits: FetchLimits,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Fetched:
    """GET `url`; raises FeedError for anything but a usable 200 or a 304."""
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        async with asyncio.timeout(limits.timeout_seconds):
            async with http.get(url, headers=headers, max_redirects=5) as response:
                if response.status == 304:
                    return Fetched(url=str(response.url), not_modified=True)
                if response.status != 200:
                    raise FeedError(FeedErrorCode.HTTP_STATUS, str(response.status))
                declared = response.content_length
                if declared is not None and declared > limits.max_bytes:
                    raise FeedError(FeedErrorCode.TOO_BIG, str(declared))
                body = bytearray()
                async for chunk in response.content.iter_chunked(CHUNK):
                    body += chunk
                    if len(body) > limits.max_bytes:
                        # stop reading: leaving the block closes the connection
                        raise FeedError(FeedErrorCode.TOO_BIG, f">{limits.max_bytes}")
                return Fetched(
                    url=str(response.url),
                    body=bytes(body),
                    content_type=response.headers.get("Content-Type"),
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                )
    except TimeoutError:
        raise FeedError(FeedErrorCode.TIMEOUT, f"{limits.timeout_seconds:g}s") from None
    except aiohttp.TooManyRedirects:
        raise FeedError(FeedErrorCode.UNREACHABLE, "too many redirects") from None
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        # ValueError: aiohttp's answer to some malformed URLs
        raise FeedError(FeedErrorCode.UNREACHABLE, exc.__class__.__name__) from None


def client_session(limits: FetchLimits) -> aiohttp.ClientSession:
    timeout = aiohttp.ClientTimeout(total=limits.timeout_seconds)
    return aiohttp.ClientSession(timeout=timeout, raise_for_status=False)
