"""Webhook mode end to end with two `coopbot run` processes on one PostgreSQL database.

The emulator stands in for Telegram and for a load balancer in front of the two workers: it
POSTs webhook updates round-robin to each worker's listener (`set_webhook_targets`) and sends
again whatever was not acknowledged. Covered: a guided /add whose steps land on alternating
workers, an update posted twice, the leader killed mid-broadcast, a SIGTERM drain, and a
worker killed under load.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot import texts
from bot.db.engine import create_engine, create_session_factory
from bot.db.models import Delivery, Item
from bot.lifecycle import prepare_database
from bot.services.news import NewsService
from emulator import BotApiEmulator
from emulator.shapes import bot_command_entities, user_dict
from testbed.cli_runner import child_env
from testbed.databases import scratch_postgres
from testbed.delivery_kit import add_subscribers, publish
from testbed.harness import ADMIN_ID, BOT_USERNAME, TOKEN
from testbed.harness import test_settings as settings_for
from testbed.harness import until as wait_until

ROOT = Path(__file__).resolve().parent.parent
HOOK_URL = "https://bot.example.org/tg/hook"
HOOK_PATH = "/tg/hook"
SECRET = "e2e-webhook-secret"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CONCURRENCY = 4  # DELIVERY_CONCURRENCY of each worker
HANG_GUARD = 60.0  # seconds: only against a hang, never a measure


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    raw = os.environ.get("TEST_DATABASE_URL")
    if not raw:
        pytest.skip("TEST_DATABASE_URL is not set")
    async with scratch_postgres(raw, "coopbot_workers") as url:
        yield url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Worker:
    name: str
    process: asyncio.subprocess.Process
    port: int
    log: Path

    @property
    def target(self) -> str:
        """What the emulator's load balancer posts to (webhook_stats are keyed by it)."""
        return f"http://127.0.0.1:{self.port}"

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


async def spawn_worker(
    name: str, database_url: str, emu: BotApiEmulator, tmp_path: Path, **env: str
) -> Worker:
    port = free_port()
    log = tmp_path / f"{name}.log"
    with log.open("ab") as stderr:  # the child keeps its own copy of the file
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=child_env(
                {
                    "BOT_TOKEN": TOKEN,
                    "TELEGRAM_API_URL": emu.base_url,
                    "DATABASE_URL": database_url,
                    "ADMIN_IDS": str(ADMIN_ID),
                    "WEBHOOK_URL": HOOK_URL,
                    "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
                    "WEBHOOK_SECRET": SECRET,
                    "DELIVERY_POLL_SECONDS": "0.3",
                    "DELIVERY_RATE_LIMITS": "off",
                    "DELIVERY_CONCURRENCY": str(CONCURRENCY),
                    "LOG_LEVEL": "INFO",
                    **env,
                }
            ),
            cwd=str(ROOT),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )
    return Worker(name, process, port, log)


async def until(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    return await wait_until(check, what, HANG_GUARD)


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, str] | None:
    """(status, body), or None while nothing listens there."""
    try:
        async with http.get(url) as response:
            return response.status, await response.text()
    except aiohttp.ClientConnectionError:
        return None


async def wait_ready(http: aiohttp.ClientSession, worker: Worker) -> None:
    async def ready() -> bool:
        if worker.process.returncode is not None:
            raise AssertionError(f"{worker.name} exited at start:\n{worker.tail()}")
        answer = await get(http, f"{worker.target}/readyz")
        return answer is not None and answer[0] == 200

    await until(ready, f"{worker.name} ready")


async def is_leader(http: aiohttp.ClientSession, worker: Worker) -> bool:
    answer = await get(http, f"{worker.target}/metrics")
    assert answer is not None and answer[0] == 200, f"{worker.name}: /metrics {answer}"
    found = re.search(r"^coopbot_leader (\S+)$", answer[1], re.MULTILINE)
    assert found, "no coopbot_leader gauge"
    return float(found.group(1)) == 1.0


async def kill(worker: Worker) -> None:
    with contextlib.suppress(ProcessLookupError):
        worker.process.send_signal(signal.SIGKILL)
    await worker.process.wait()


async def stop(worker: Worker) -> None:
    with contextlib.suppress(ProcessLookupError):
        worker.process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(worker.process.wait(), 20)
    except TimeoutError:
        await kill(worker)


@dataclass
class Cluster:
    emu: BotApiEmulator
    http: aiohttp.ClientSession
    workers: list[Worker]
    database_url: str

    async def leader_and_standby(self) -> tuple[Worker, Worker]:
        first, second = self.workers

        async def one_leader() -> tuple[Worker, Worker] | None:
            a, b = await is_leader(self.http, first), await is_leader(self.http, second)
            if a != b:
                return (first, second) if a else (second, first)
            return None

        return await until(one_leader, "exactly one leader")


@contextlib.asynccontextmanager
async def cluster(postgres_url: str, tmp_path: Path, **env: str) -> AsyncIterator[Cluster]:
    """An emulator, a prepared database and two ready workers behind round-robin targets."""
    async with (
        BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME) as emu,
        aiohttp.ClientSession() as http,
    ):
        await prepare_database(settings_for(postgres_url, emu.base_url))
        workers: list[Worker] = []
        ok = False
        try:
            for name in ("first", "second"):  # in turn: the first takes the lead
                worker = await spawn_worker(name, postgres_url, emu, tmp_path, **env)
                workers.append(worker)
                await wait_ready(http, worker)
            await emu.wait_for(lambda: emu.webhook_url == HOOK_URL, HANG_GUARD, "setWebhook")
            emu.set_webhook_targets([w.target for w in workers])
            yield Cluster(emu, http, workers, postgres_url)
            ok = True
        finally:
            for worker in workers:
                await stop(worker)
            if not ok:
                for worker in workers:
                    print(f"--- {worker.name} log (exit {worker.process.returncode}):")
                    print(worker.tail())


def delivered(emu: BotApiEmulator, worker: Worker) -> int:
    """Updates the worker acknowledged, as the emulator counts them."""
    stats = emu.webhook_stats.get(worker.target)
    return 0 if stats is None else stats.delivered


def ok_targets(emu: BotApiEmulator, update_id: int) -> list[str]:
    return [a.target for a in emu.webhook_attempts if a.update_id == update_id and a.ok]


async def handled(emu: BotApiEmulator) -> None:
    """Every queued update acknowledged: each answer comes after the update was handled."""
    await emu.wait_webhook_idle(timeout=HANG_GUARD)


# -- 1. a guided /add across both workers ------------------------------------------------------


async def test_a_guided_add_whose_steps_alternate_between_workers(
    postgres_url: str, tmp_path: Path
) -> None:
    readers = [8_100_000 + n for n in range(20)]
    engine = create_engine(postgres_url)
    try:
        async with cluster(postgres_url, tmp_path) as c:
            emu = c.emu
            sessions = create_session_factory(engine)
            await add_subscribers(sessions, readers)
            for chat_id in readers:
                emu.register_chat(chat_id)
            steps: list[int] = []  # update ids of the flow

            async def say(text: str) -> list[Any]:
                before = len(emu.messages(ADMIN_ID))
                emu.send_message(text, user_id=ADMIN_ID, first_name="Admin")
                steps.append(emu.last_update_id)
                await handled(emu)
                return emu.messages(ADMIN_ID)[before:]

            async def press(message: Any, label: str) -> list[Any]:
                [data] = [b["callback_data"] for b in message.buttons if label in b["text"]]
                before = len(emu.messages(ADMIN_ID))
                answers = len(emu.callback_answers)
                emu.press_button(ADMIN_ID, message.message_id, data, ADMIN_ID)
                steps.append(emu.last_update_id)
                await handled(emu)
                assert [a.get("text") for a in emu.callback_answers[answers:]] == [None]
                return emu.messages(ADMIN_ID)[before:]

            [ask_title] = await say("/add")
            assert ask_title.html == texts.ADD_ASK_TITLE
            [ask_category] = await say("Workers share a webhook")
            assert ask_category.html == texts.ADD_ASK_CATEGORY_NONE
            [ask_link] = await say("Events")
            assert ask_link.html == texts.ADD_ASK_LINK
            [ask_summary] = await say("https://coop.example/e2e-workers")
            assert ask_summary.html == texts.ADD_ASK_SUMMARY
            [ask_photo] = await press(ask_summary, texts.BUTTON_SKIP)
            assert ask_photo.html == texts.ADD_ASK_PHOTO
            intro, preview = await press(ask_photo, texts.BUTTON_SKIP)
            assert intro.html.startswith(texts.ADD_PREVIEW)
            assert "Workers share a webhook" in preview.text
            [done] = await press(preview, texts.BUTTON_PUBLISH)
            assert done.html == texts.ADD_PUBLISHED_NEW_CATEGORY.format(id=1, category="Events")

            # the steps went to the workers in turn, each handled once
            where = [ok_targets(emu, u) for u in steps]
            assert all(len(t) == 1 for t in where), where
            assert {t[0] for t in where} == {w.target for w in c.workers}
            assert all(where[i] != where[i + 1] for i in range(len(where) - 1)), where
            assert all(delivered(emu, w) >= 3 for w in c.workers)

            # published once; every reader gets it once, from the leader
            await emu.wait_for(
                lambda: all(emu.messages(r) for r in readers), HANG_GUARD, "the item out"
            )
            await until(lambda: _all_sent(engine, 1, len(readers)), "deliveries recorded")
            await handled(emu)
            async with sessions() as session:
                assert await session.scalar(select(func.count()).select_from(Item)) == 1
            got = {r: [m.text.split("\n")[0] for m in emu.messages(r)] for r in readers}
            assert all(lines == ["Workers share a webhook"] for lines in got.values()), got
            await emu.wait_idle(quiet=0.2, timeout=HANG_GUARD)
            assert len(emu.messages(ADMIN_ID)) == 8  # one answer to each step, no more
    finally:
        await engine.dispose()


async def _sent(engine: Any, item_id: int) -> set[int]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(Delivery.chat_id).where(Delivery.item_id == item_id, Delivery.status == "sent")
        )
        return {r[0] for r in rows}


async def _all_sent(engine: Any, item_id: int, total: int) -> bool:
    return len(await _sent(engine, item_id)) >= total


# -- 2. one update posted twice --------------------------------------------------------------


def message_update(emu: BotApiEmulator, update_id: int, chat_id: int, text: str) -> dict:
    """A message update built as Telegram would, outside the emulator's queue."""
    chat = emu.register_chat(chat_id, "private", first_name="Ada")
    message: dict[str, Any] = {
        "message_id": emu.next_message_id(chat_id),
        "from": user_dict(chat_id, "Ada"),
        "chat": chat,
        "date": emu.now(),
        "text": text,
    }
    if entities := bot_command_entities(text):
        message["entities"] = entities
    return {"update_id": update_id, "message": message}


async def post(http: aiohttp.ClientSession, worker: Worker, update: dict) -> int:
    async with http.post(
        worker.target + HOOK_PATH, json=update, headers={SECRET_HEADER: SECRET}
    ) as response:
        await response.read()
        return response.status


async def test_an_update_posted_to_both_workers_is_handled_once(
    postgres_url: str, tmp_path: Path
) -> None:
    async with cluster(postgres_url, tmp_path) as c:
        emu, (first, second) = c.emu, c.workers
        # the same body posted to both at once (a resend racing the first attempt)
        chat = 8_200_001
        update = message_update(emu, 900_000_001, chat, "/help")
        statuses = await asyncio.gather(post(c.http, first, update), post(c.http, second, update))
        assert statuses == [200, 200]
        assert len(emu.messages(chat)) == 1
        # and once more to each, later
        assert await post(c.http, first, update) == 200
        assert await post(c.http, second, update) == 200
        assert len(emu.messages(chat)) == 1

        # the emulator's own resend: the first attempt times out while its worker still
        # handles it (a slow reply), the resend goes to the other worker
        emu.webhook_timeout = 1.0
        slow = 8_200_002
        emu.faults.latency(2.5, chat_id=slow)
        emu.send_message("/help", user_id=slow)
        update_id = emu.last_update_id
        await handled(emu)
        await emu.wait_idle(quiet=0.1, timeout=HANG_GUARD)
        attempts = [a for a in emu.webhook_attempts if a.update_id == update_id]
        # timed out while the first worker still held the chat, then acknowledged
        errors = [a.error for a in attempts]
        assert len(errors) >= 2 and errors[-1] is None, errors
        assert set(errors[:-1]) == {"Read timeout expired"}, errors
        assert {a.target for a in attempts} == {first.target, second.target}
        assert len(emu.messages(slow)) == 1


# -- 3. the leader killed mid-broadcast --------------------------------------------------------


async def test_the_standby_takes_over_a_broadcast_when_the_leader_is_killed(
    postgres_url: str, tmp_path: Path
) -> None:
    readers = [8_300_000 + n for n in range(200)]
    engine = create_engine(postgres_url)
    try:
        async with cluster(postgres_url, tmp_path) as c:
            emu = c.emu
            sessions = create_session_factory(engine)
            await add_subscribers(sessions, readers)
            for chat_id in readers:
                emu.register_chat(chat_id)
            leader, standby = await c.leader_and_standby()
            emu.faults.latency(0.05)  # ~80 messages/s: time to kill mid-broadcast

            class _Services:
                news = NewsService(sessions)

            item = await publish(_Services())  # type: ignore[arg-type]
            await emu.wait_for(lambda: emu.stats.sent_messages >= 50, HANG_GUARD, "50 sent")
            # two workers up, one sender: nobody got the item twice so far
            assert all(len(emu.messages(r)) <= 1 for r in readers)
            await kill(leader)
            killed_at = time.monotonic()
            # the dead leader's requests finish (or not) on the emulator's side first
            await emu.wait_for(lambda: emu.requests_in_flight == 0, HANG_GUARD)
            delivered_at_kill = {r for r in readers if emu.messages(r)}
            assert len(delivered_at_kill) < len(readers)  # really killed mid-broadcast
            sent = emu.stats.sent_messages
            await emu.wait_for(
                lambda: emu.stats.sent_messages > sent, 30, "the standby's first send"
            )
            takeover = time.monotonic() - killed_at
            print(f"\nstandby's first send {takeover:.2f} s after SIGKILL of the leader")
            assert await is_leader(c.http, standby)
            await until(lambda: _all_sent(engine, item.id, len(readers)), "all recorded")
            await emu.wait_for(lambda: emu.requests_in_flight == 0, HANG_GUARD)
        final = {r: len(emu.messages(r)) for r in readers}
        assert [r for r, n in final.items() if n == 0] == []
        duplicated = {r for r, n in final.items() if n > 1}
        print(f"duplicated by the kill: {len(duplicated)}")
        # only messages the dead leader had sent but not yet recorded went out twice
        assert duplicated <= delivered_at_kill
        assert len(duplicated) <= 3 * CONCURRENCY
        assert max(final.values()) <= 2
    finally:
        await engine.dispose()


# -- 4. SIGTERM drains ---------------------------------------------------------------------------


async def test_sigterm_finishes_the_update_in_flight_and_turns_new_ones_away(
    postgres_url: str, tmp_path: Path
) -> None:
    async with cluster(postgres_url, tmp_path) as c:
        emu = c.emu
        _, draining = await c.leader_and_standby()
        other = next(w for w in c.workers if w is not draining)
        slow = 8_400_001
        emu.faults.latency(3.0, chat_id=slow)  # its reply takes 3 s: in flight meanwhile
        emu.set_webhook_targets([draining.target])
        # two updates at once leave two kept-alive connections from the emulator to the
        # worker: the slow update takes one, an update during the drain finds the other
        for warm in (8_400_201, 8_400_202):
            emu.send_message("/help", user_id=warm)
        await handled(emu)
        emu.send_message("/help", user_id=slow)
        slow_update = emu.last_update_id
        await emu.wait_for(
            lambda: emu.webhook_in_flight == 1 and emu.requests_in_flight == 1,
            HANG_GUARD,
            "the slow update in flight",
        )
        # the draining worker first, so updates sent during the drain try it
        emu.set_webhook_targets([draining.target, other.target])
        readyz = f"{draining.target}/readyz"
        assert await get(c.http, readyz) == (200, "ready")  # a kept-alive connection

        draining.process.send_signal(signal.SIGTERM)
        termed_at = time.monotonic()
        await until(lambda: _is(get(c.http, readyz), 503), "/readyz 503")
        assert emu.messages(slow) == []  # still in flight

        users = [8_400_100 + n for n in range(4)]
        for user in users:
            emu.send_message("/help", user_id=user)
        late = list(range(emu.last_update_id - len(users) + 1, emu.last_update_id + 1))
        async with asyncio.timeout(10):
            code = await draining.process.wait()
        exited = time.monotonic() - termed_at
        print(f"\nSIGTERM: exited {code} after {exited:.2f} s")
        assert code == 0
        await handled(emu)
        await emu.wait_idle(quiet=0.1, timeout=HANG_GUARD)

        # the update in flight was answered by the draining worker, with its reply
        assert ok_targets(emu, slow_update) == [draining.target]
        assert len(emu.messages(slow)) == 1
        # updates posted during the drain were refused there, then handled by the other
        refused = [
            a for a in emu.webhook_attempts if a.update_id in late and a.target == draining.target
        ]
        assert refused, "no update reached the draining worker"
        print("refused during the drain:", sorted({a.error or "" for a in refused}))
        # 503 on a kept-alive connection, refused on a new one (the listener is closed)
        assert all(not a.ok and a.status in (503, None) for a in refused), refused
        assert any(a.status == 503 for a in refused), refused
        assert [ok_targets(emu, u) for u in late] == [[other.target]] * len(late)
        assert [len(emu.messages(u)) for u in users] == [1] * len(users)


async def _is(answer: Awaitable[tuple[int, str] | None], status: int) -> bool:
    got = await answer
    return got is not None and got[0] == status


# -- 5. a worker killed under load ---------------------------------------------------------------


async def test_a_worker_killed_under_load_loses_no_update(
    postgres_url: str, tmp_path: Path
) -> None:
    # four POSTs at a time and slow replies, so the kill lands with updates in flight
    async with cluster(postgres_url, tmp_path, WEBHOOK_MAX_CONNECTIONS="4") as c:
        emu = c.emu
        _, victim = await c.leader_and_standby()
        survivor = next(w for w in c.workers if w is not victim)
        emu.faults.latency(0.1)
        users = [8_500_000 + n for n in range(50)]
        first_update = emu.last_update_id + 1
        for user in users:
            emu.send_message("/help", user_id=user)
        update_of = {user: first_update + n for n, user in enumerate(users)}
        await emu.wait_for(
            lambda: delivered(emu, victim) >= 8 and delivered(emu, survivor) >= 8,
            HANG_GUARD,
            "both workers busy",
        )
        await kill(victim)
        killed_at = time.monotonic()
        emu.set_webhook_targets([survivor.target])  # the load balancer's health check
        await handled(emu)
        await emu.wait_idle(quiet=0.1, timeout=HANG_GUARD)

        replies = {user: len(emu.messages(user)) for user in users}
        assert [u for u, n in replies.items() if n == 0] == []  # no update lost
        # posted to the victim, unanswered when it died: handled again by the survivor
        cut_off = {
            a.update_id
            for a in emu.webhook_attempts
            if a.target == victim.target and not a.ok and a.started_at <= killed_at
        }
        assert all(ok_targets(emu, u) == [survivor.target] for u in cut_off)
        twice = {u for u, n in replies.items() if n > 1}
        print(
            f"\nkilled with {len(cut_off)} update(s) in flight on it; "
            f"{len(twice)} user(s) answered twice"
        )
        # at least once, not exactly once: a reply the victim sent before its claim of the
        # update committed goes out again when the survivor handles the resend (seen in
        # two runs of three, one user); only for updates it held at the kill
        assert {update_of[u] for u in twice} <= cut_off
        assert max(replies.values()) <= 2
