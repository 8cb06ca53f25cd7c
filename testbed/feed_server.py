"""A feed server on 127.0.0.1 for tests: serves fixture files, misbehaves on request, and
counts what it was asked for."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
BIG = 20 * 1024 * 1024


@dataclass
class FeedServer:
    """Serves feeds on 127.0.0.1: set `docs[path]` to bytes; special paths misbehave."""

    base_url: str = ""
    docs: dict[str, bytes] = field(default_factory=dict)
    conditional: bool = True  # honour If-None-Match / If-Modified-Since
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    big_bytes_sent: int = 0
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path}"

    def serve_fixture(self, path: str, fixture: str) -> str:
        self.docs[path] = (FIXTURES / fixture).read_bytes()
        return self.url(path)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        self.requests.append((path, dict(request.headers)))
        if path == "garbage":
            return web.Response(body=bytes(range(256)) * 40, content_type="application/rss+xml")
        if path == "huge":
            return await self._huge(request)
        if path == "declared-huge":  # says so in Content-Length: refused before the body
            return web.Response(body=b" " * (6 * 1024 * 1024), content_type="application/xml")
        if path == "hang":
            await self._release.wait()  # never answers while the test runs
            return web.Response(status=204)
        body = self.docs.get(path)
        if body is None:
            return web.Response(status=404, text="not found")
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        modified = "Thu, 26 Nov 2026 16:00:00 GMT"
        if self.conditional and request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=body,
            headers={"ETag": etag, "Last-Modified": modified},
            content_type="application/rss+xml",
        )

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        # 20 MB made on the fly, chunked without a length: only the streamed cap can stop it
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = b"<rss version='2.0'><channel>" + b"x" * (256 * 1024)
        try:
            while self.big_bytes_sent < BIG:
                await response.write(chunk)
                self.big_bytes_sent += len(chunk)
            await response.write_eof()
        except (ConnectionResetError, ConnectionError, asyncio.CancelledError):
            pass
        return response

    def fetches(self, path: str) -> int:
        """How often `path` was requested."""
        return sum(1 for requested, _headers in self.requests if requested == path)


@contextlib.asynccontextmanager
async def serving_feeds() -> AsyncIterator[FeedServer]:
    server = FeedServer()
    app = web.Application()
    app.router.add_get("/{path:.*}", server.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    server.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield server
    finally:
        server._release.set()
        await runner.cleanup()
