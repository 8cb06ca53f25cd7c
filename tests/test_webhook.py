"""Webhook mode: the bot listens on 127.0.0.1 and the test plays Telegram, posting updates
with the secret header to the path of WEBHOOK_URL, as Telegram does. The bot still answers
through the Bot API emulator, where the tests read its replies."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from telegram import Update
from telegram.ext import Application, TypeHandler

from bot.cli import main
from bot.config import ConfigError, load_settings
from bot.db.engine import create_engine, create_session_factory
from bot.lifecycle import prepare_database, running_bot
from bot.services.updates import UpdateService
from bot.web import SECRET_HEADER, WebServer
from emulator import BotApiEmulator, methods
from emulator.shapes import bot_command_entities, user_dict
from testbed.harness import BOT_USERNAME, TOKEN, Harness, bot_harness, until
from testbed.harness import test_settings as settings_for

SECRET = "s3cret_token-for-TESTS"
HOOK_URL = "https://bot.example.org/tg/hook"
HOOK_PATH = "/tg/hook"
WEBHOOK = {
    "webhook_url": HOOK_URL,
    "webhook_secret": SECRET,
    "webhook_listen": "127.0.0.1:0",  # any free port
    "webhook_max_connections": 7,
}


@pytest.fixture(autouse=True)
def emulator_takes_set_webhook(monkeypatch: pytest.MonkeyPatch) -> None:
    """This branch's emulator does not know setWebhook yet: until it does, it answers True
    (and records the call's parameters like any other)."""
    if "setwebhook" not in methods.METHODS:
        monkeypatch.setitem(methods.METHODS, "setwebhook", methods.accept)


class Telegram:
    """Telegram's side of a webhook: updates posted to the bot's listener."""

    _update_ids = itertools.count(900_000_001)

    def __init__(self, emu: BotApiEmulator, server: WebServer, http: aiohttp.ClientSession):
        self.emu = emu
        self.server = server
        self.http = http

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def message(self, text: str, *, chat_id: int, user_id: int | None = None) -> dict[str, Any]:
        """A `message` update, in a chat the emulator knows (so the bot may answer there)."""
        user_id = user_id or chat_id
        chat_type = "private" if chat_id > 0 else "supergroup"
        chat = self.emu.register_chat(chat_id, chat_type, first_name="Ada")
        message: dict[str, Any] = {
            "message_id": self.emu.next_message_id(chat_id),
            "from": user_dict(user_id, "Ada"),
            "chat": chat,
            "date": self.emu.now(),
            "text": text,
        }
        if entities := bot_command_entities(text):
            message["entities"] = entities
        return {"update_id": next(self._update_ids), "message": message}

    async def post(
        self,
        update: object,
        *,
        secret: str | None = SECRET,
        path: str = HOOK_PATH,
        method: str = "POST",
        body: bytes | None = None,
    ) -> tuple[int, str]:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        async with self.http.request(
            method,
            self.base + path,
            json=update if body is None else None,
            data=body,
            headers=headers,
        ) as response:
            return response.status, await response.text()

    async def get(self, path: str) -> tuple[int, str, str]:
        async with self.http.get(self.base + path) as response:
            return response.status, await response.text(), response.headers["Content-Type"]


def server_of(application: Application) -> WebServer:
    return application.bot_data["services"].runtime.web_servers[0]


@contextlib.asynccontextmanager
async def webhook_bot(
    database_url: str, **overrides: object
) -> AsyncIterator[tuple[Harness, Telegram]]:
    async with (
        bot_harness(database_url, **{**WEBHOOK, **overrides}) as harness,
        aiohttp.ClientSession() as http,
    ):
        yield harness, Telegram(harness.emu, server_of(harness.application), http)


class Seen:
    """A handler ahead of all others that notes every update reaching the handlers."""

    def __init__(self, application: Application) -> None:
        self.updates: list[int] = []
        application.add_handler(TypeHandler(Update, self._seen), group=-100)

    async def _seen(self, update: Update, _context: object) -> None:
        self.updates.append(update.update_id)


async def test_requests_not_from_telegram_reach_no_handler(database_url: str) -> None:
    async with webhook_bot(database_url) as (harness, telegram):
        seen = Seen(harness.application)
        update = telegram.message("/start", chat_id=5001)

        assert (await telegram.post(update, secret="wrong"))[0] == 403
        assert (await telegram.post(update, secret=None))[0] == 403
        assert (await telegram.post(update, secret=SECRET[:-1]))[0] == 403
        assert (await telegram.post(update, path="/tg/other"))[0] == 404
        assert (await telegram.post(update, path="/"))[0] == 404
        assert (await telegram.post(update, method="GET"))[0] == 405
        assert (await telegram.post(update, method="PUT"))[0] == 405
        assert (await telegram.post(None, body=b"{not json"))[0] == 400
        assert (await telegram.post({"message": update["message"]}))[0] == 400  # no update_id
        assert (await telegram.post([update]))[0] == 400
        assert (await telegram.post({"update_id": "7"}))[0] == 400
        too_big = {**update, "padding": "x" * (1024 * 1024)}
        assert (await telegram.post(too_big))[0] == 413

        assert seen.updates == []
        assert harness.emu.messages(5001) == []


async def test_an_update_is_answered_once_handled(database_url: str) -> None:
    async with webhook_bot(database_url) as (harness, telegram):
        status, _body = await telegram.post(telegram.message("/start", chat_id=5002))
        assert status == 200
        # the 200 comes after the handlers ran: the reply is already there
        replies = harness.emu.messages(5002)
        assert len(replies) == 1
        assert "Ada" in replies[0].text


async def test_the_same_update_twice_is_handled_once(database_url: str) -> None:
    async with webhook_bot(database_url) as (harness, telegram):
        seen = Seen(harness.application)
        update = telegram.message("/help", chat_id=5003)
        assert (await telegram.post(update))[0] == 200
        assert (await telegram.post(update))[0] == 200  # Telegram's resend
        assert len(harness.emu.messages(5003)) == 1

        # a resend that arrives while the first attempt is still being handled
        twice = telegram.message("/latest", chat_id=5003)
        answers = await asyncio.gather(telegram.post(twice), telegram.post(twice))
        assert [status for status, _ in answers] == [200, 200]
        assert len(harness.emu.messages(5003)) == 2
        assert seen.updates == [update["update_id"], twice["update_id"]]


async def test_the_bot_registers_its_webhook(database_url: str) -> None:
    async with webhook_bot(database_url) as (harness, _telegram):
        calls = [c for c in harness.emu.calls if c.method.lower() == "setwebhook"]
        assert len(calls) == 1
        params = calls[0].params
        assert params["url"] == HOOK_URL
        assert params["secret_token"] == SECRET
        assert int(params["max_connections"]) == 7
        assert params["drop_pending_updates"] in (False, "false")
        assert "message" in params["allowed_updates"]
        assert "callback_query" in params["allowed_updates"]
        # no polling in webhook mode
        assert not [c for c in harness.emu.calls if c.method.lower() == "getupdates"]
        assert not harness.application.updater.running


async def test_one_chat_at_a_time_other_chats_meanwhile(database_url: str) -> None:
    async with webhook_bot(database_url) as (harness, telegram):
        gate = asyncio.Event()
        order: list[str] = []

        async def slow(update: Update, _context: object) -> None:
            if update.effective_chat.id != 5004:
                return
            order.append(f"start {update.update_id}")
            if len(order) == 1:
                await gate.wait()  # the first update of the chat holds it
            order.append(f"end {update.update_id}")

        harness.application.add_handler(TypeHandler(Update, slow), group=-50)
        first = telegram.message("/start", chat_id=5004)
        second = telegram.message("/help", chat_id=5004)
        posting = [asyncio.create_task(telegram.post(first))]
        await harness.emu.wait_for(lambda: order == [f"start {first['update_id']}"])
        posting.append(asyncio.create_task(telegram.post(second)))
        updates: UpdateService = harness.application.bot_data["services"].runtime.updates
        # the second is in, waiting for the chat
        await harness.emu.wait_for(lambda: updates.in_progress(5004) == 2)

        # another chat is not held up by it
        assert (await telegram.post(telegram.message("/start", chat_id=5005)))[0] == 200
        assert len(harness.emu.messages(5005)) == 1
        assert order == [f"start {first['update_id']}"]

        gate.set()
        assert [(await task)[0] for task in posting] == [200, 200]
        assert order == [
            f"start {first['update_id']}",
            f"end {first['update_id']}",
            f"start {second['update_id']}",
            f"end {second['update_id']}",
        ]
        assert len(harness.emu.messages(5004)) == 2


async def test_a_database_failure_in_a_handler_is_answered_503_and_the_resend_handled(
    database_url: str,
) -> None:
    async with webhook_bot(database_url) as (harness, telegram):
        attempts: list[int] = []

        async def store_down_once(update: Update, _context: object) -> None:
            attempts.append(update.update_id)
            if len(attempts) == 1:
                raise OperationalError("SELECT 1", {}, ConnectionRefusedError("store down"))

        harness.application.add_handler(TypeHandler(Update, store_down_once), group=-50)
        update = telegram.message("/start", chat_id=5006)
        assert (await telegram.post(update))[0] == 503
        assert (await telegram.post(update))[0] == 200  # Telegram's resend is handled
        assert attempts == [update["update_id"]] * 2
        assert (await telegram.post(update))[0] == 200  # and only that once
        assert len(attempts) == 2


async def test_a_database_failure_before_handling_is_answered_503(database_url: str) -> None:
    async with webhook_bot(database_url) as (harness, telegram):
        seen = Seen(harness.application)
        engine = harness.application.bot_data["services"].runtime.database
        async with engine.begin() as connection:  # the claim cannot be taken now
            await connection.execute(text("DROP TABLE updates_seen"))
        assert (await telegram.post(telegram.message("/start", chat_id=5007)))[0] == 503
        assert seen.updates == []
        assert harness.emu.messages(5007) == []


async def test_updates_are_turned_away_while_the_bot_stops(database_url: str) -> None:
    # the bot's own stop (what SIGTERM runs), with an update still being handled
    async with (
        BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME) as emu,
        aiohttp.ClientSession() as http,
    ):
        stack = contextlib.AsyncExitStack()
        application = await stack.enter_async_context(
            running_bot(settings_for(database_url, emu.base_url, **WEBHOOK))
        )
        try:
            server = server_of(application)
            telegram = Telegram(emu, server, http)
            gate = asyncio.Event()

            async def slow(update: Update, _context: object) -> None:
                if update.effective_chat.id == 5008:
                    await gate.wait()

            application.add_handler(TypeHandler(Update, slow), group=-50)
            in_flight = asyncio.create_task(telegram.post(telegram.message("/start", chat_id=5008)))
            await emu.wait_for(lambda: server.in_flight == 1)
            # on a second connection, which stays open (kept alive) after its answer
            assert (await telegram.get("/readyz"))[0] == 200

            stopping = asyncio.create_task(stack.aclose())
            await server.stopping.wait()
            # the kept-alive connection still answers: not ready, and no new update is taken
            assert (await telegram.get("/readyz"))[0] == 503
            assert (await telegram.post(telegram.message("/start", chat_id=5009)))[0] == 503
            assert not stopping.done()  # the update in flight is awaited
            gate.set()
            assert (await in_flight)[0] == 200
            await stopping
        finally:
            await stack.aclose()
        assert len(emu.messages(5008)) == 1
        assert emu.messages(5009) == []
        with pytest.raises(aiohttp.ClientConnectionError):
            await telegram.get("/healthz")  # the listener is closed


# -- the lock across processes (PostgreSQL) ----------------------------------------------------


async def test_two_processes_take_one_chat_in_turn(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several processes share a database on PostgreSQL only")
    await prepare_database(settings_for(database_url, "http://127.0.0.1:9/bot"))
    engines = [create_engine(database_url), create_engine(database_url)]
    first, second = (UpdateService(e, create_session_factory(e)) for e in engines)
    try:
        # a second process waits for the chat while the first handles an update of it
        async with first.claim(11, chat_id=-100_777) as claim:
            assert not claim.duplicate
            waiting = asyncio.create_task(_claim(second, 12, -100_777))
            await until(lambda: _lock_waiters(engines[0]), "a process waiting for the chat", 10.0)
            assert not waiting.done()
        assert await waiting == "handled"

        # the same update posted to both: whichever comes second finds it handled
        async with first.claim(13, chat_id=-100_777) as claim:
            resend = asyncio.create_task(_claim(second, 13, -100_777))
            await until(lambda: _lock_waiters(engines[0]), "the resend waiting", 10.0)
        assert await resend == "duplicate"

        # an attempt that lost the store leaves no claim: the resend is handled
        async with first.claim(14, chat_id=-100_777) as claim:
            claim.abandon()
        assert await _claim(second, 14, -100_777) == "handled"

        # chats of their own do not wait for each other
        async with first.claim(15, chat_id=-100_778):
            assert await asyncio.wait_for(_claim(second, 16, -100_779), 10) == "handled"
    finally:
        for engine in engines:
            await engine.dispose()


async def _claim(service: UpdateService, update_id: int, chat_id: int) -> str:
    async with service.claim(update_id, chat_id) as claim:
        return "duplicate" if claim.duplicate else "handled"


async def _lock_waiters(engine: Any) -> bool:
    async with engine.connect() as connection:
        waiting = await connection.scalar(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        )
    return bool(waiting)


# -- configuration -------------------------------------------------------------------------


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("WEBHOOK_", "METRICS_")) or name in ("BOT_TOKEN", "DATABASE_URL"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"WEBHOOK_URL": HOOK_URL}, "WEBHOOK_SECRET must be set when WEBHOOK_URL is"),
        (
            {"WEBHOOK_URL": HOOK_URL, "WEBHOOK_SECRET": "no spaces or !"},
            "WEBHOOK_SECRET must be 1 to 256 characters among A-Z, a-z, 0-9, _ and -",
        ),
        (
            {"WEBHOOK_URL": HOOK_URL, "WEBHOOK_SECRET": "x" * 257},
            "WEBHOOK_SECRET must be 1 to 256 characters",
        ),
        ({"WEBHOOK_URL": "http://bot.example.org/hook"}, "WEBHOOK_URL must be the public https"),
        ({"WEBHOOK_LISTEN": "8080"}, "WEBHOOK_LISTEN must be host:port"),
        ({"WEBHOOK_MAX_CONNECTIONS": "0"}, "WEBHOOK_MAX_CONNECTIONS must be a whole number 1–100"),
        ({"METRICS_LISTEN": "127.0.0.1:http"}, "METRICS_LISTEN must be host:port"),
    ],
)
def test_webhook_settings_refuse_to_start_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    environment: dict[str, str],
    message: str,
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123456789:TEST-token-for-the-emulator-abcdefgh")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert message in str(refused.value)
    assert "no spaces" not in str(refused.value)  # a secret is never quoted

    assert main(["run"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [f"Configuration error: {refused.value}"]


@pytest.mark.usefixtures("clean_environment")
def test_webhook_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org:8443/tg/hook")
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("WEBHOOK_LISTEN", "[::1]:9000")
    monkeypatch.setenv("METRICS_LISTEN", "0.0.0.0:9100")
    settings = load_settings()
    assert settings.webhook_path == "/tg/hook"
    assert settings.webhook_address == ("::1", 9000)
    assert settings.metrics_address == ("0.0.0.0", 9100)
    assert settings.webhook_max_connections == 40
    assert SECRET not in repr(settings)

    monkeypatch.delenv("WEBHOOK_URL")
    monkeypatch.delenv("WEBHOOK_LISTEN")
    polling = load_settings()
    assert polling.webhook_url is None and polling.webhook_path is None
    assert polling.webhook_address == ("127.0.0.1", 8080)
