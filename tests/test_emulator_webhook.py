"""The emulator's webhook mode: setWebhook and delivery to a tiny receiver in the test."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from telegram import Bot
from telegram.error import BadRequest, Conflict

from emulator import BotApiEmulator, WebhookTargetStats

TOKEN = "123456:TEST-TOKEN"
USER = 42
OTHER = 43
SECRET = "s3cret_-TOKEN"


@dataclass
class Received:
    update_id: int
    chat_id: int | None
    kind: str
    path: str
    query: str
    secret: str | None
    status: int = 0


Responder = Callable[[Received], Awaitable[int]]


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records each POST and its concurrency.

    `respond` decides the HTTP status of each request (200 when not set) and may block to
    hold the request open.
    """

    def __init__(self, respond: Responder | None = None) -> None:
        self.respond = respond
        self.requests: list[Received] = []
        self.concurrent = 0
        self.peak = 0
        self.chat_concurrent: Counter[int | None] = Counter()
        self.chat_peak: Counter[int | None] = Counter()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        # a request the emulator gave up on (timeout) must not linger at teardown
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def acknowledged(self, chat_id: int | None = None) -> list[int]:
        return [
            r.update_id
            for r in self.requests
            if 200 <= r.status <= 299 and (chat_id is None or r.chat_id == chat_id)
        ]

    async def _handle(self, request: web.Request) -> web.Response:
        update: dict[str, Any] = await request.json()
        kind = next(k for k in update if k != "update_id")
        payload = update[kind]
        chat = payload.get("chat") or payload.get("message", {}).get("chat")
        received = Received(
            update["update_id"],
            chat["id"] if chat else None,
            kind,
            request.path,
            request.query_string,
            request.headers.get("X-Telegram-Bot-Api-Secret-Token"),
        )
        self.requests.append(received)
        chat_id = received.chat_id
        self.concurrent += 1
        self.chat_concurrent[chat_id] += 1
        self.peak = max(self.peak, self.concurrent)
        self.chat_peak[chat_id] = max(self.chat_peak[chat_id], self.chat_concurrent[chat_id])
        try:
            received.status = await self.respond(received) if self.respond else 200
        finally:
            self.concurrent -= 1
            self.chat_concurrent[chat_id] -= 1
        return web.Response(status=received.status)


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as emulator:
        emulator.webhook_retry_delays = (0.01, 0.1)
        yield emulator


@pytest_asyncio.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emu.base_url) as client:
        yield client


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as running:
        yield running


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fail_first(*update_ids: int, status: int = 500) -> Responder:
    """Answer `status` to the first POST of each of `update_ids`, 200 otherwise."""
    failed: set[int] = set()

    async def respond(received: Received) -> int:
        if received.update_id in update_ids and received.update_id not in failed:
            failed.add(received.update_id)
            return status
        return 200

    return respond


# -- setWebhook, getWebhookInfo, deleteWebhook ----------------------------------------------


async def test_delivers_with_secret_header(
    bot: Bot, emu: BotApiEmulator, receiver: Receiver
) -> None:
    assert await bot.set_webhook(f"{receiver.url}/tg/hook", secret_token=SECRET, max_connections=5)
    sent = emu.send_message("hello", user_id=USER)
    await emu.wait_webhook_idle()
    [request] = receiver.requests
    assert (request.update_id, request.kind, request.chat_id) == (1, "message", USER)
    assert (request.path, request.secret) == ("/tg/hook", SECRET)
    assert sent["text"] == "hello"
    info = await bot.get_webhook_info()
    assert info.url == f"{receiver.url}/tg/hook"
    assert (info.pending_update_count, info.max_connections) == (0, 5)
    assert info.has_custom_certificate is False
    assert info.last_error_date is None and info.last_error_message is None
    assert emu.webhook_stats == {f"{receiver.url}/tg/hook": WebhookTargetStats(1, 0)}
    assert emu.pending_updates == 0
    assert 1 in emu.update_handed_out_at

    assert await bot.set_webhook(f"{receiver.url}/tg/hook")  # no secret any more
    emu.send_message("again", user_id=USER)
    await emu.wait_webhook_idle()
    assert receiver.requests[-1].secret is None
    assert (await bot.get_webhook_info()).max_connections == 40


async def test_error_answer_is_resent_once_and_the_error_kept(
    bot: Bot, emu: BotApiEmulator, receiver: Receiver
) -> None:
    receiver.respond = fail_first(1)
    await bot.set_webhook(f"{receiver.url}/hook")
    emu.send_message("one", user_id=USER)
    await emu.wait_webhook_idle()
    assert [(r.update_id, r.status) for r in receiver.requests] == [(1, 500), (1, 200)]
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    assert info.last_error_date is not None
    assert info.pending_update_count == 0
    assert emu.webhook_stats[f"{receiver.url}/hook"] == WebhookTargetStats(1, 1)
    assert [a.ok for a in emu.webhook_attempts] == [False, True]

    # a later success does not clear it (Telegram keeps the last error until a new webhook)
    emu.send_message("two", user_id=USER)
    await emu.wait_webhook_idle()
    assert receiver.acknowledged() == [1, 2]
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    await bot.set_webhook(f"{receiver.url}/other")
    assert (await bot.get_webhook_info()).last_error_message is None


async def test_timeout_is_resent(bot: Bot, emu: BotApiEmulator, receiver: Receiver) -> None:
    never = asyncio.Event()
    emu.webhook_timeout = 0.2

    async def respond(received: Received) -> int:
        if len(receiver.requests) == 1:
            await never.wait()  # the emulator gives up and sends it again
        return 200

    receiver.respond = respond
    await bot.set_webhook(f"{receiver.url}/hook")
    emu.send_message("slow", user_id=USER)
    await emu.wait_webhook_idle()
    assert [r.update_id for r in receiver.requests] == [1, 1]
    assert receiver.acknowledged() == [1]
    assert (await bot.get_webhook_info()).last_error_message == "Read timeout expired"


async def test_refused_connection_keeps_updates_for_get_updates(
    bot: Bot, emu: BotApiEmulator
) -> None:
    await bot.set_webhook(f"http://127.0.0.1:{closed_port()}/hook")
    emu.send_message("one", user_id=USER)
    emu.send_message("two", user_id=USER)
    await emu.wait_for(lambda: emu.webhook_info().get("last_error_message"))
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Connection refused"
    assert info.pending_update_count == 2
    assert emu.pending_updates == 2

    assert await bot.delete_webhook()
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count, info.last_error_message) == ("", 2, None)
    assert emu.pending_updates == 2
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [1, 2]
    assert emu.pending_updates == 0


async def test_get_updates_conflicts_while_a_webhook_is_set(
    bot: Bot, emu: BotApiEmulator, receiver: Receiver
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=3600, read_timeout=3700))
    await emu.wait_for(lambda: emu._poll_generation >= 1, description="a long poll")
    await bot.set_webhook(f"{receiver.url}/hook")
    with pytest.raises(Conflict, match="terminated by setWebhook request"):
        await poll
    with pytest.raises(Conflict) as info:
        await bot.get_updates(timeout=0)
    assert info.value.message == (
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
        "delete the webhook first"
    )
    assert emu.calls[-1].status == 409

    await bot.delete_webhook()
    emu.send_message("polled", user_id=USER)
    [update] = await bot.get_updates(timeout=0)
    assert update.message is not None and update.message.text == "polled"
    assert receiver.requests == []


async def test_drop_pending_updates(bot: Bot, emu: BotApiEmulator, receiver: Receiver) -> None:
    await bot.set_webhook(f"http://127.0.0.1:{closed_port()}/hook")
    emu.send_message("lost", user_id=USER)
    await bot.set_webhook(f"{receiver.url}/hook", drop_pending_updates=True)
    emu.send_message("kept", user_id=USER)
    await emu.wait_webhook_idle()
    assert receiver.acknowledged() == [2]
    emu.send_message("also lost", user_id=USER)
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates(timeout=0) == ()


async def test_refused_webhooks(bot: Bot, emu: BotApiEmulator, receiver: Receiver) -> None:
    cases = [
        ({"secret_token": "not allowed!"}, "secret token contains unallowed characters"),
        ({"secret_token": "é"}, "secret token contains unallowed characters"),
        ({"secret_token": "a" * 257}, "secret token is too long"),
        ({"url": "http://example.org/hook"}, "an https url must be provided for webhook"),
        ({"url": "https://example.org:8080/hook"}, "only on ports 80, 88, 443 or 8443"),
        ({"url": "ftp://example.org/hook"}, "invalid webhook url specified"),
    ]
    for kwargs, reason in cases:
        await bot.set_webhook(f"{receiver.url}/hook")
        with pytest.raises(BadRequest) as info:
            await bot.set_webhook(**{"url": f"{receiver.url}/hook", **kwargs})
        assert reason in info.value.message.lower(), kwargs
        assert emu.webhook_url == ""  # Telegram closes the old webhook before checking
    assert await bot.set_webhook(f"{receiver.url}/hook", secret_token="a" * 256)
    assert await bot.set_webhook("https://bot.example.org:8443/hook", max_connections=500)
    assert (await bot.get_webhook_info()).max_connections == 100
    assert await bot.set_webhook("https://bot.example.org/hook", max_connections=0)
    assert (await bot.get_webhook_info()).max_connections == 1


# -- delivery ------------------------------------------------------------------------------


async def test_max_connections_is_respected(
    bot: Bot, emu: BotApiEmulator, receiver: Receiver
) -> None:
    limit = 3
    release = asyncio.Event()

    async def respond(received: Received) -> int:
        await release.wait()
        return 200

    receiver.respond = respond
    await bot.set_webhook(f"{receiver.url}/hook", max_connections=limit)
    for chat in range(12):
        emu.send_message("hi", user_id=1000 + chat)
    # every POST the emulator has open is held at the receiver, so none can hide
    await emu.wait_for(
        lambda: receiver.concurrent > 1 and receiver.concurrent == emu.webhook_in_flight,
        description="the receiver holding every open POST",
    )
    assert receiver.concurrent == limit
    release.set()
    await emu.wait_webhook_idle()
    assert 1 < receiver.peak <= limit
    assert sorted(receiver.acknowledged()) == list(range(1, 13))
    assert max(receiver.chat_peak.values()) == 1
    assert emu.webhook_in_flight == 0


async def test_one_chat_at_a_time_in_order(
    bot: Bot, emu: BotApiEmulator, receiver: Receiver
) -> None:
    both_open = asyncio.Event()
    failing = fail_first(3)  # USER's second update fails once

    async def respond(received: Received) -> int:
        if receiver.concurrent >= 2:
            both_open.set()
        if received.update_id in (1, 2):  # each chat's first update waits for the other's
            await both_open.wait()
        for _ in range(3):
            await asyncio.sleep(0)  # let other requests interleave
        return await failing(received)

    receiver.respond = respond
    await bot.set_webhook(f"{receiver.url}/hook", max_connections=10)
    expected: dict[int, list[int]] = {USER: [], OTHER: []}
    for n in range(5):
        for chat in (USER, OTHER):
            emu.send_message(f"{n}", user_id=chat)
            expected[chat].append(emu.last_update_id)
    await emu.wait_webhook_idle()
    assert receiver.peak == 2  # the two chats in parallel
    assert receiver.chat_peak == {USER: 1, OTHER: 1}
    for chat in (USER, OTHER):
        assert receiver.acknowledged(chat) == expected[chat]
    user_posts = [(r.update_id, r.status) for r in receiver.requests if r.chat_id == USER]
    assert user_posts[:4] == [(1, 200), (3, 500), (3, 200), (5, 200)]


async def test_round_robin_targets(bot: Bot, emu: BotApiEmulator) -> None:
    url = "https://bot.example.org/tg/hook?worker=any"
    await bot.set_webhook(url, secret_token=SECRET, max_connections=1)
    emu.send_message("before targets", user_id=USER)
    await emu.wait_for(lambda: emu.webhook_info().get("last_error_message"))
    # the emulator never leaves loopback on its own
    assert emu.webhook_info()["last_error_message"].startswith("Failed to resolve host")

    with pytest.raises(ValueError, match="scheme://host:port"):
        emu.set_webhook_targets(["http://127.0.0.1:1/path"])
    with pytest.raises(ValueError, match="scheme://host:port"):
        emu.set_webhook_targets(["http://example.org:80"])
    async with Receiver() as first, Receiver() as second:
        emu.set_webhook_targets([first.url, second.url])
        for n in range(3):
            emu.send_message(f"{n}", user_id=USER)
        await emu.wait_webhook_idle()
    assert first.acknowledged() == [1, 3]
    assert second.acknowledged() == [2, 4]
    for request in first.requests + second.requests:
        assert (request.path, request.query, request.secret) == ("/tg/hook", "worker=any", SECRET)
    assert (await bot.get_webhook_info()).url == url
    assert emu.webhook_stats[first.url] == WebhookTargetStats(2, 0)
    assert emu.webhook_stats[second.url] == WebhookTargetStats(2, 0)
    assert emu.webhook_stats[url].failed >= 1
    [target] = {a.target for a in emu.webhook_attempts if a.ok and a.update_id == 2}
    assert target == second.url


async def test_allowed_updates_filter(bot: Bot, emu: BotApiEmulator, receiver: Receiver) -> None:
    await bot.set_webhook(f"{receiver.url}/hook", allowed_updates=["callback_query"])
    emu.send_message("dropped", user_id=USER)
    emu.press_button(USER, 999, "go", USER)
    emu.send_my_chat_member(USER, USER, "member", "kicked")
    await emu.wait_webhook_idle()
    assert [(r.update_id, r.kind) for r in receiver.requests] == [(2, "callback_query")]
    info = await bot.get_webhook_info()
    assert info.allowed_updates == ("callback_query",)
    assert info.pending_update_count == 0

    # the same webhook again: only allowed_updates change, deliveries go on
    await bot.set_webhook(f"{receiver.url}/hook", allowed_updates=["message"])
    emu.send_message("wanted", user_id=USER)
    await emu.wait_webhook_idle()
    assert receiver.requests[-1].kind == "message"


async def test_wait_idle_understands_webhooks(
    bot: Bot, emu: BotApiEmulator, receiver: Receiver
) -> None:
    release = asyncio.Event()

    async def respond(received: Received) -> int:
        await release.wait()
        return 200

    receiver.respond = respond
    await bot.set_webhook(f"{receiver.url}/hook")
    emu.send_message("held", user_id=USER)
    await emu.wait_for(lambda: receiver.requests, description="the POST")
    assert emu.pending_updates == 1
    with pytest.raises(TimeoutError, match="1 update"):
        await emu.wait_webhook_idle(timeout=0.05)
    release.set()
    await emu.wait_idle(quiet=0.01)
    assert emu.pending_updates == 0


async def test_stopping_the_emulator_abandons_deliveries() -> None:
    release = asyncio.Event()

    async def respond(received: Received) -> int:
        await release.wait()
        return 200

    async with Receiver(respond) as receiver:
        emulator = BotApiEmulator(token=TOKEN)
        await emulator.start()
        async with Bot(TOKEN, base_url=emulator.base_url) as client:
            await client.set_webhook(f"{receiver.url}/hook")
        emulator.send_message("in flight", user_id=USER)
        await emulator.wait_for(lambda: receiver.requests, description="the POST")
        await emulator.stop()
        release.set()
    assert emulator.pending_updates == 1
