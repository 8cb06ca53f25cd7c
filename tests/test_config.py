"""Settings are read once, from the environment and `.env`, into one object; a bad value is
one line that names the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings
from bot.delivery import DeliveryOptions

NAMES = (
    "BOT_TOKEN",
    "DATABASE_URL",
    "ADMIN_IDS",
    "TIMEZONE",
    "LOG_LEVEL",
    "DELIVERY_POLL_SECONDS",
    "DELIVERY_CONCURRENCY",
    "DELIVERY_RATE_LIMITS",
    "DELIVERY_MAX_ATTEMPTS",
    "LISTING_CACHE_SECONDS",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_environment_and_env_file_fill_one_object(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        "BOT_TOKEN=123:from-the-file\nDELIVERY_MAX_ATTEMPTS=9\nADMIN_IDS=7; 8\nUNRELATED=x\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("BOT_TOKEN", "123:from-the-environment")  # the environment wins
    monkeypatch.setenv("DELIVERY_CONCURRENCY", "8")
    monkeypatch.setenv("DELIVERY_RATE_LIMITS", "off")
    monkeypatch.setenv("DELIVERY_POLL_SECONDS", "2")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@127.0.0.1/db")
    monkeypatch.setenv("LISTING_CACHE_SECONDS", "0")  # 0 turns the cache off

    settings = load_settings()

    assert settings.bot_token is not None
    assert settings.bot_token.get_secret_value() == "123:from-the-environment"
    assert "from-the" not in repr(settings) and "from-the" not in str(settings)
    assert settings.delivery == DeliveryOptions(concurrency=8, rate_limits=False, max_attempts=9)
    assert settings.delivery_poll_seconds == 2.0
    assert settings.admin_ids == frozenset({7, 8})
    assert settings.database_url == "postgresql+asyncpg://u@127.0.0.1/db"
    assert settings.listing_cache_seconds == 0.0


def test_defaults_without_environment() -> None:
    settings = load_settings()
    assert settings.bot_token is None
    assert settings.delivery == DeliveryOptions()
    assert settings.database_url == "sqlite+aiosqlite:///coopbot.db"
    assert settings.feed_interval_seconds == 900


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DELIVERY_CONCURRENCY", "many", "DELIVERY_CONCURRENCY must be a number; got 'many'"),
        ("DELIVERY_RATE_LIMITS", "maybe", "DELIVERY_RATE_LIMITS must be on or off"),
        ("DELIVERY_POLL_SECONDS", "0", "DELIVERY_POLL_SECONDS must be greater than 0"),
        ("ADMIN_IDS", "1, bob", "ADMIN_IDS must be numeric Telegram user ids"),
        ("TIMEZONE", "Mars/Base", "TIMEZONE must be an IANA name"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR"),
    ],
)
def test_a_bad_value_names_its_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as failure:
        load_settings()
    assert message in str(failure.value)
    assert "\n" not in str(failure.value)


def test_settings_built_in_code_read_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELIVERY_CONCURRENCY", "3")
    monkeypatch.setenv("TIMEZONE", "Asia/Tokyo")
    settings = Settings(database_url="sqlite:///x.db")
    assert settings.delivery.concurrency == DeliveryOptions().concurrency
    assert settings.timezone == "UTC"
    assert settings.database_url == "sqlite+aiosqlite:///x.db"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WEB_URL": "http://news.example.coop"}, "WEB_URL must be the newsroom's public https://"),
        ({"WEB_URL": "ftp://127.0.0.1"}, "WEB_URL must be"),
        ({"WEB_URL": "https://n.example/?x=1"}, "WEB_URL must be a base URL"),
        ({"WEB_LISTEN": "anywhere"}, "WEB_LISTEN must be host:port"),
        ({"CLICK_TRACKING": "sometimes"}, "CLICK_TRACKING must be on or off"),
        ({"CLICK_TRACKING": "on"}, "CLICK_TRACKING=on needs WEB_URL"),
        (
            {
                "WEB_URL": "https://n.example",
                "WEB_LISTEN": "127.0.0.1:8080",
                "WEBHOOK_URL": "https://n.example/",
                "WEBHOOK_SECRET": "s3cret",
            },
            "WEBHOOK_URL's path / is one of the newsroom's",
        ),
    ],
)
def test_the_newsroom_s_settings_are_checked(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as failure:
        load_settings()
    assert message in str(failure.value)


def test_the_newsroom_may_share_the_webhook_s_listener(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "WEB_URL": "https://news.example.coop/",
        "WEB_LISTEN": "127.0.0.1:8080",
        "WEBHOOK_URL": "https://news.example.coop/telegram",
        "WEBHOOK_SECRET": "s3cret",
        "CLICK_TRACKING": "on",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.web_url == "https://news.example.coop" and settings.web_secure
    assert settings.web_address == settings.webhook_address and settings.click_tracking
