"""/healthz, /readyz and /metrics: on the webhook's listener, or on METRICS_LISTEN when the bot
polls; and what the metrics count."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.app import build_application
from bot.config import SecretStr, Settings
from bot.metrics import Metrics
from bot.web import WebServer
from testbed.harness import ADMIN_ID, TOKEN, Harness, bot_harness
from tests.test_webhook import (
    emulator_takes_set_webhook,  # noqa: F401 (autouse here too)
    server_of,
    webhook_bot,
)


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, str, str]:
    async with http.get(url) as response:
        return response.status, await response.text(), response.headers["Content-Type"]


def _lines(exposition: str) -> set[str]:
    return set(exposition.splitlines())


async def test_health_and_metrics_beside_the_webhook(database_url: str) -> None:
    async with webhook_bot(database_url) as (_harness, telegram):
        assert (await telegram.get("/healthz"))[:2] == (200, "ok")
        assert (await telegram.get("/readyz"))[0] == 200
        assert (await telegram.post(telegram.message("/start", chat_id=6001)))[0] == 200
        assert (await telegram.post(telegram.message("/start", chat_id=6001), secret="x"))[0] == 403

        status, body, content_type = await telegram.get("/metrics")
        assert status == 200
        assert content_type.startswith("text/plain")
        lines = _lines(body)
        assert {
            "# HELP coopbot_updates_total Updates from Telegram, by type",
            "# TYPE coopbot_updates_total counter",
            'coopbot_updates_total{type="message"} 1.0',
            "# TYPE coopbot_update_handling_seconds histogram",
            "coopbot_update_handling_seconds_count 1.0",
            'coopbot_webhook_requests_total{status="200"} 1.0',
            'coopbot_webhook_requests_total{status="403"} 1.0',
            'coopbot_bot_api_requests_total{method="sendMessage",outcome="ok"} 1.0',
            'coopbot_bot_api_requests_total{method="setWebhook",outcome="ok"} 1.0',
            "coopbot_leader 1.0",
            "coopbot_delivery_backlog 0.0",
            'coopbot_deliveries_total{outcome="sent"} 0.0',
            "# TYPE coopbot_telegram_429_total counter",
            "# TYPE coopbot_telegram_retry_after_seconds_total counter",
            "# TYPE coopbot_feed_polls_total counter",
        } <= lines
        assert any(line.startswith('coopbot_build_info{version="') for line in lines)
        # the application's and the sender's bots both asked who they are
        assert 'coopbot_bot_api_requests_total{method="getMe",outcome="ok"} 2.0' in lines
        # nothing of other registries, no per-chat label
        assert "python_gc_objects_collected_total" not in body
        assert not [line for line in lines if "{" in line and "6001" in line.partition("}")[0]]


@pytest.fixture
async def polling(database_url: str) -> AsyncIterator[Harness]:
    async with bot_harness(database_url, metrics_listen="127.0.0.1:0") as harness:
        yield harness


async def test_polling_bot_serves_health_and_metrics_on_metrics_listen(polling: Harness) -> None:
    harness = polling
    server = server_of(harness.application)
    base = f"http://127.0.0.1:{server.port}"
    reader = harness.private()
    await reader.reply("/subscribe all")
    await harness.admin().send("/add News | Counted | https://coop.example/counted")
    await harness.emu.wait_for_messages(reader.chat_id, 2)
    metrics: Metrics = harness.application.bot_data["services"].runtime.metrics
    await harness.emu.wait_for(
        lambda: metrics.registry.get_sample_value("coopbot_deliveries_total", {"outcome": "sent"})
    )

    async with aiohttp.ClientSession() as http:
        assert (await _get(http, base + "/healthz"))[:2] == (200, "ok")
        assert (await _get(http, base + "/readyz"))[0] == 200
        _status, body, _type = await _get(http, base + "/metrics")
        # polling mode has no webhook
        async with http.post(base + "/tg/hook", json={"update_id": 1}) as response:
            assert response.status == 404
    lines = _lines(body)
    assert {
        'coopbot_updates_total{type="message"} 2.0',
        'coopbot_deliveries_total{outcome="sent"} 1.0',
        'coopbot_deliveries_total{outcome="failed"} 0.0',
        "coopbot_leader 1.0",
    } <= lines
    assert any(
        line.startswith('coopbot_bot_api_requests_total{method="getUpdates",outcome="ok"}')
        for line in lines
    )
    labels = [line.partition("}")[0] for line in lines if "{" in line]
    assert not [label for label in labels if str(reader.chat_id) in label or str(ADMIN_ID) in label]


async def test_without_metrics_listen_a_polling_bot_listens_nowhere(harness: Harness) -> None:
    assert harness.application.bot_data["services"].runtime.web_servers == []


async def test_not_ready_while_the_database_does_not_answer() -> None:
    # nothing listens on port 1: connecting is refused at once
    settings = Settings(
        bot_token=SecretStr(TOKEN),
        database_url="postgresql://coopbot@127.0.0.1:1/coopbot",
        telegram_api_url="http://127.0.0.1:9/bot",
    )
    application = build_application(settings)
    server = WebServer(
        host="127.0.0.1",
        port=0,
        application=application,
        updates=application.bot_data["services"].runtime.updates,
        metrics=application.bot_data["services"].runtime.metrics,
    )
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            base = f"http://127.0.0.1:{server.port}"
            assert (await _get(http, base + "/healthz"))[0] == 200
            # as while the bot starts: the server is up before the rest
            assert (await _get(http, base + "/readyz"))[:2] == (503, "starting or stopping")
            server.ready = True  # everything else is up: only the database fails the check
            status, text, _type = await _get(http, base + "/readyz")
            assert (status, text) == (503, "database not answering")
            assert (await _get(http, base + "/metrics"))[0] == 200  # the backlog keeps its value
    finally:
        await server.stop()
        await application.bot_data["services"].runtime.database.dispose()


def test_429_answers_count_their_wait() -> None:
    metrics = Metrics()
    body = b'{"ok":false,"error_code":429,"parameters":{"retry_after":3}}'
    metrics.api_response("sendMessage", 429, body)
    metrics.api_response("sendMessage", 429, b"not json")
    metrics.api_response("sendMessage", 403)
    metrics.api_response("editMessageText", 502)
    metrics.api_response("getUpdates", None)
    value = metrics.registry.get_sample_value
    assert value("coopbot_telegram_429_total") == 2
    assert value("coopbot_telegram_retry_after_seconds_total") == 3
    assert value("coopbot_bot_api_requests_total", {"method": "sendMessage", "outcome": "429"}) == 2
    assert value("coopbot_bot_api_requests_total", {"method": "sendMessage", "outcome": "4xx"}) == 1
    assert value("coopbot_bot_api_requests_total", {"method": "editMessageText", "outcome": "5xx"})
    assert value("coopbot_bot_api_requests_total", {"method": "getUpdates", "outcome": "network"})


async def test_a_stopping_bot_is_not_ready(database_url: str) -> None:
    async with webhook_bot(database_url) as (_harness, telegram):
        assert (await telegram.get("/readyz"))[0] == 200
        telegram.server.begin_stop()  # the first thing the bot's stop does
        assert (await telegram.get("/readyz"))[0] == 503
        assert (await telegram.get("/healthz"))[0] == 200
