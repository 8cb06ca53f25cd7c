"""An image server on 127.0.0.1 for tests and benchmarks: the pictures behind items' image
URLs, which the emulator (standing in for Telegram) fetches. Counts what it was asked for."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web

from emulator.files import make_png


@dataclass
class ImageServer:
    """Serves `images[path] = (body, content type)`; any other path answers 404."""

    base_url: str = ""
    images: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path}"

    def serve(self, path: str, body: bytes | None = None, content_type: str = "image/png") -> str:
        """Serve `body` (by default a small PNG) at `path`; returns its URL."""
        self.images[path] = (make_png(64, 48) if body is None else body, content_type)
        return self.url(path)

    async def handle(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        self.requests[path] += 1
        found = self.images.get(path)
        if found is None:
            return web.Response(status=404, text="not found")
        body, content_type = found
        return web.Response(body=body, headers={"Content-Type": content_type})


@contextlib.asynccontextmanager
async def serving_images() -> AsyncIterator[ImageServer]:
    server = ImageServer()
    app = web.Application()
    app.router.add_get("/{path:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    server.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield server
    finally:
        await runner.cleanup()
