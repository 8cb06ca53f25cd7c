"""Settings, read once from the environment (and a `.env` file) into a frozen object."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import load_dotenv

TELEGRAM_API_URL = "https://api.telegram.org/bot"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///coopbot.db"
SANDBOX_DATABASE_URL = "sqlite+aiosqlite:///coopbot-sandbox.db"


class ConfigError(Exception):
    """A setting is missing or unusable; the message names the setting."""


class Secret(str):
    """A string that never shows itself in reprs or logs."""

    def __repr__(self) -> str:
        return "Secret('**********')"

    def reveal(self) -> str:
        return str.__str__(self)


@dataclass(frozen=True)
class Settings:
    bot_token: Secret | None = None
    database_url: str = DEFAULT_DATABASE_URL
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    telegram_api_url: str = TELEGRAM_API_URL
    log_level: str = "INFO"
    timezone: str = "UTC"
    delivery_poll_seconds: float = 5.0
    feed_interval_seconds: int = 900
    listing_cache_seconds: float = 30.0
    schedule_poll_seconds: float = 30.0  # scheduled items and broadcast reports

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def normalize_database_url(url: str) -> str:
    """Pick SQLAlchemy's async driver for the plain URLs people usually write."""
    url = url.strip()
    for plain, async_form in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return async_form + url[len(plain) :]
    return url


def _parse_admin_ids(raw: str) -> frozenset[int]:
    ids = set()
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            ids.add(int(part))
        except ValueError:
            raise ConfigError(
                f"ADMIN_IDS must be numeric Telegram user ids separated by commas; got {part!r}"
            ) from None
    return frozenset(ids)


def _non_negative_number(name: str, raw: str | None, default: float) -> float:
    if raw is not None and raw.strip() in {"0", "0.0"}:
        return 0.0
    return positive_number(name, raw, default)


def positive_number(name: str, raw: str | None, default: float) -> float:
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number; got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than 0; got {raw!r}")
    return value


def load_settings(env_file: str | Path | None = ".env", **overrides: object) -> Settings:
    """Build the settings from the environment; a `.env` file fills in what is unset."""
    if env_file and Path(env_file).is_file():
        load_dotenv(env_file, override=False)
    env = os.environ
    token = env.get("BOT_TOKEN", "").strip()
    timezone = env.get("TIMEZONE", "").strip() or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"TIMEZONE must be an IANA name like Europe/Rome; got {timezone!r}"
        ) from None
    log_level = (env.get("LOG_LEVEL", "").strip() or "INFO").upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR; got {log_level!r}")
    values: dict[str, object] = {
        "bot_token": Secret(token) if token else None,
        "database_url": normalize_database_url(
            env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
        ),
        "admin_ids": _parse_admin_ids(env.get("ADMIN_IDS", "")),
        "telegram_api_url": env.get("TELEGRAM_API_URL", "").strip() or TELEGRAM_API_URL,
        "log_level": log_level,
        "timezone": timezone,
        "delivery_poll_seconds": positive_number(
            "DELIVERY_POLL_SECONDS", env.get("DELIVERY_POLL_SECONDS"), 5.0
        ),
        "listing_cache_seconds": _non_negative_number(
            "LISTING_CACHE_SECONDS", env.get("LISTING_CACHE_SECONDS"), 30.0
        ),
        "feed_interval_seconds": int(
            positive_number("FEED_INTERVAL_SECONDS", env.get("FEED_INTERVAL_SECONDS"), 900)
        ),
        "schedule_poll_seconds": positive_number(
            "SCHEDULE_POLL_SECONDS", env.get("SCHEDULE_POLL_SECONDS"), 30.0
        ),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
