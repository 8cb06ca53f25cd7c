"""What the newsroom's tests, its browser tests and its bench share: a bot serving the web on
a free port of 127.0.0.1, and a browser-like client signed in with a link from /web."""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import AsyncIterator

import aiohttp

from testbed.delivery_kit import delivery_harness
from testbed.harness import Chatter, Harness

LINK = re.compile(r"(http://127\.0\.0\.1:\d+/login/[A-Za-z0-9_-]+)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def web_harness(database_url: str, **overrides: object) -> AsyncIterator[Harness]:
    """A bot on an emulator that also serves the newsroom at `harness.settings.web_url`."""
    port = free_port()
    async with delivery_harness(
        database_url,
        web_url=f"http://127.0.0.1:{port}",
        web_listen=f"127.0.0.1:{port}",
        **overrides,
    ) as harness:
        yield harness


def browser_like() -> aiohttp.ClientSession:
    """A client that keeps cookies for 127.0.0.1 (aiohttp's jar skips IP hosts by default)
    and does not follow redirects unless asked."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def sign_in_link(chat: Chatter) -> str:
    """The one-time link the bot answers /web with."""
    [reply] = await chat.send("/web")
    found = LINK.search(reply.text or "")
    assert found, reply.text
    return found.group(1)


async def signed_in(chat: Chatter, client: aiohttp.ClientSession) -> str:
    """Sign `client` in as `chat`'s user; returns the page's CSRF token."""
    link = await sign_in_link(chat)
    async with client.get(link, allow_redirects=False) as response:
        assert response.status == 302, await response.text()
    return await csrf_of(client, chat.harness)


async def csrf_of(client: aiohttp.ClientSession, harness: Harness) -> str:
    async with client.get(f"{harness.settings.web_url}/items/new") as response:
        page = await response.text()
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)
