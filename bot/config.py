"""Settings: one frozen object, read once from the environment (and a `.env` file).

`load_settings()` is the one place that reads the environment; real environment variables
win over `.env`. `Settings(...)` itself holds exactly what it is given and reads nothing, so
tests and benches build one without the machine's environment leaking in.

Every setting keeps its environment name: a field `database_url` is `DATABASE_URL`, and the
delivery engine's tuning, `settings.delivery`, comes from `DELIVERY_CONCURRENCY` and its
siblings. A bad value stops start-up with one line that names the setting (`ConfigError`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from bot.config_values import (
    WEBHOOK_SECRET,
    WEBHOOK_SECRET_RULE,
    ConfigError,
    SecretStr,
    admin_ids,
    listen_address,
    newsroom_path,
    positive_number,
    text_of,
    web_url,
    webhook_url,
)
from bot.db.engine import normalize_database_url
from bot.delivery.options import DeliveryOptions

TELEGRAM_API_URL = "https://api.telegram.org/bot"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///coopbot.db"
SANDBOX_DATABASE_URL = "sqlite+aiosqlite:///coopbot-sandbox.db"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_WEBHOOK_LISTEN = "127.0.0.1:8080"
DEFAULT_WEBHOOK_MAX_CONNECTIONS = 40
DEFAULT_WEB_LISTEN = "127.0.0.1:8081"
# the delivery options an operator may set, as DELIVERY_<NAME>; the others are Telegram's
# limits or internal tuning, changed only by code (benches, tests)
DELIVERY_SETTINGS = (
    "rate_limits",
    "concurrency",
    "max_attempts",
    "send_timeout",
    "backoff_seconds",
    "lease_seconds",
)


def _delivery(value: object) -> DeliveryOptions:
    """DELIVERY_* variables (gathered by `load_settings` into a dict) into the options."""
    if isinstance(value, DeliveryOptions):
        return value
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"DELIVERY_* settings must be separate variables; got {value!r}")
    raw = {str(k).lower(): v for k, v in value.items()}
    default = DeliveryOptions()
    values: dict[str, Any] = {}
    limits = (text_of(raw.get("rate_limits")) or "on").lower()
    if limits not in {"on", "off"}:
        raise ConfigError(f"DELIVERY_RATE_LIMITS must be on or off; got {limits!r}")
    values["rate_limits"] = limits == "on"
    for option in fields(DeliveryOptions):
        if option.name not in DELIVERY_SETTINGS or option.name == "rate_limits":
            continue
        current = getattr(default, option.name)
        number = positive_number(f"DELIVERY_{option.name.upper()}", raw.get(option.name), current)
        values[option.name] = int(number) if isinstance(current, int) else number
    return DeliveryOptions(**values)


def _secret(value: object) -> SecretStr | None:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    raw = text_of(value)
    return None if raw is None else SecretStr(raw)


def _database_url(value: object) -> str:
    return normalize_database_url(text_of(value) or DEFAULT_DATABASE_URL)


def _log_level(value: object) -> str:
    level = (text_of(value) or "INFO").upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR; got {level!r}")
    return level


def _timezone(value: object) -> str:
    name = text_of(value) or "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"TIMEZONE must be an IANA name like Europe/Rome; got {name!r}") from None
    return name


def _redis_url(value: object) -> str | None:
    url = text_of(value)
    if url is not None and not url.startswith(REDIS_SCHEMES):
        raise ConfigError(
            f"REDIS_URL must start with redis://, rediss:// or unix://; got {url.split('://')[0]!r}"
        )
    return url


def _listen(name: str, default: str | None) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        raw = text_of(value) or default
        if raw is not None:
            listen_address(name, raw)
        return raw

    return check


def _on_off(name: str) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        if isinstance(value, bool):
            return value
        raw = (text_of(value) or "off").lower()
        if raw not in ("on", "off", "true", "false", "1", "0", "yes", "no"):
            raise ConfigError(f"{name} must be on or off; got {raw!r}")
        return raw in ("on", "true", "1", "yes")

    return check


def _webhook_secret(value: object) -> SecretStr | None:
    secret = _secret(value)
    if secret is not None and not WEBHOOK_SECRET.fullmatch(secret.get_secret_value()):
        # the value itself is a secret: never quoted
        raise ConfigError(f"WEBHOOK_SECRET must be {WEBHOOK_SECRET_RULE}")
    return secret


def _max_connections(value: object) -> int:
    raw = text_of(value)
    if raw is None:
        return DEFAULT_WEBHOOK_MAX_CONNECTIONS
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise ConfigError(f"WEBHOOK_MAX_CONNECTIONS must be a whole number 1–100; got {raw!r}")
    return int(raw)


def _positive(
    name: str, default: float, *, whole: bool, zero: bool = False
) -> Callable[[object], float]:
    def check(value: object) -> float:
        number = positive_number(name.upper(), value, default, zero=zero)
        return int(number) if whole else number

    return check


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What the bot runs with. Each value is checked (and put in its one form: a token as
    `SecretStr`, a database URL with its async driver…) when the object is built, by the
    rules in `_CHECKS`, so a bad one raises ConfigError naming its setting."""

    bot_token: SecretStr | None = None
    database_url: str = DEFAULT_DATABASE_URL
    admin_ids: frozenset[int] = frozenset()
    telegram_api_url: str = TELEGRAM_API_URL
    log_level: str = "INFO"
    timezone: str = "UTC"
    delivery_poll_seconds: float = 5.0
    feed_interval_seconds: int = 900
    listing_cache_seconds: float = 30.0
    schedule_poll_seconds: float = 30.0  # scheduled items and broadcast reports
    # retention: finished deliveries, corrections, digests and filtered pushes of items older
    # than this are removed (their daily figures stay); admins' actions after AUDIT_KEEP_DAYS
    delivery_keep_days: int = 30
    audit_keep_days: int = 365
    delivery: DeliveryOptions = dataclasses.field(default_factory=DeliveryOptions)
    # webhook mode when set: Telegram posts updates to this URL instead of the bot polling
    webhook_url: str | None = None
    webhook_listen: str = DEFAULT_WEBHOOK_LISTEN
    webhook_secret: SecretStr | None = None
    webhook_max_connections: int = DEFAULT_WEBHOOK_MAX_CONNECTIONS
    # polling mode: where /healthz, /readyz and /metrics are served; None: nowhere
    metrics_listen: str | None = None
    # the web newsroom: its public base URL (None: no web) and where it listens; when
    # WEB_LISTEN equals WEBHOOK_LISTEN one listener serves both
    web_url: str | None = None
    web_listen: str = DEFAULT_WEB_LISTEN
    # links of pushed items and digests go through {WEB_URL}/r/<code>, counting opens
    click_tracking: bool = False
    # where the processes of one token share their sending budget; unset: in PostgreSQL
    # (DATABASE_URL), or within the one process on SQLite
    redis_url: str | None = None

    def __post_init__(self) -> None:
        for name, check in _CHECKS.items():
            object.__setattr__(self, name, check(getattr(self, name)))
        self._check_together()

    def __repr__(self) -> str:  # the secrets show as SecretStr('**********')
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))
        return f"Settings({shown})"

    __str__ = __repr__

    def model_copy(self, *, update: Mapping[str, Any]) -> Settings:
        """These settings with some changed (checked again, like any new ones)."""
        return dataclasses.replace(self, **update)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def webhook_path(self) -> str | None:
        """The path of WEBHOOK_URL, where the bot's server takes Telegram's posts."""
        if self.webhook_url is None:
            return None
        return urlsplit(self.webhook_url).path or "/"

    @property
    def webhook_address(self) -> tuple[str, int]:
        return listen_address("WEBHOOK_LISTEN", self.webhook_listen)

    @property
    def web_address(self) -> tuple[str, int]:
        return listen_address("WEB_LISTEN", self.web_listen)

    @property
    def web_secure(self) -> bool:
        """Served over https: cookies are Secure and Telegram may open it as a Mini App."""
        return self.web_url is not None and self.web_url.startswith("https://")

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        if self.metrics_listen is None:
            return None
        return listen_address("METRICS_LISTEN", self.metrics_listen)

    def _check_together(self) -> None:
        if self.webhook_url is not None and self.webhook_secret is None:
            raise ConfigError(
                f"WEBHOOK_SECRET must be set when WEBHOOK_URL is ({WEBHOOK_SECRET_RULE}), "
                "so that only Telegram can post updates"
            )
        if (
            self.web_url is not None
            and self.webhook_url is not None
            and self.web_address == self.webhook_address
            and newsroom_path(self.webhook_path or "/")
        ):
            raise ConfigError(
                f"WEBHOOK_URL's path {self.webhook_path} is one of the newsroom's, which shares "
                "its listener (WEB_LISTEN = WEBHOOK_LISTEN): give the webhook a path of its own, "
                "e.g. /telegram"
            )
        if self.click_tracking and self.web_url is None:
            raise ConfigError("CLICK_TRACKING=on needs WEB_URL: opened links go through the web")


# each setting's check: it takes what was given (text from the environment, or a value from
# code) and returns the setting's value, or raises ConfigError naming the setting
_CHECKS: dict[str, Callable[[Any], Any]] = {
    "bot_token": _secret,
    "database_url": _database_url,
    "admin_ids": admin_ids,
    "telegram_api_url": lambda value: text_of(value) or TELEGRAM_API_URL,
    "log_level": _log_level,
    "timezone": _timezone,
    "delivery_poll_seconds": _positive("delivery_poll_seconds", 5.0, whole=False),
    "feed_interval_seconds": _positive("feed_interval_seconds", 900, whole=True),
    # 0 turns the cache off
    "listing_cache_seconds": _positive("listing_cache_seconds", 30.0, whole=False, zero=True),
    "schedule_poll_seconds": _positive("schedule_poll_seconds", 30.0, whole=False),
    "delivery_keep_days": _positive("delivery_keep_days", 30, whole=True),
    "audit_keep_days": _positive("audit_keep_days", 365, whole=True),
    "delivery": _delivery,
    "webhook_url": webhook_url,
    "webhook_listen": _listen("WEBHOOK_LISTEN", DEFAULT_WEBHOOK_LISTEN),
    "webhook_secret": _webhook_secret,
    "webhook_max_connections": _max_connections,
    "metrics_listen": _listen("METRICS_LISTEN", None),
    "web_url": web_url,
    "web_listen": _listen("WEB_LISTEN", DEFAULT_WEB_LISTEN),
    "click_tracking": _on_off("CLICK_TRACKING"),
    "redis_url": _redis_url,
}
DELIVERY_PREFIX = "DELIVERY_"


def load_settings(env_file: str | Path | None = ".env", **overrides: Any) -> Settings:
    """Build the settings from the environment; a `.env` file fills in what is unset.

    Names are matched whatever their case. `DELIVERY_<OPTION>` variables are gathered into
    `delivery` (and `DELIVERY_POLL_SECONDS`, a setting of its own, is read as one too)."""
    given: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        try:
            from_file = dotenv_values(env_file, encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{env_file} cannot be read: {exc}") from None
        given.update({k.upper(): v for k, v in from_file.items() if v is not None})
    given.update({k.upper(): v for k, v in os.environ.items()})  # the environment wins
    values: dict[str, Any] = {}
    for setting in fields(Settings):
        if setting.name == "delivery":
            options = {
                k.removeprefix(DELIVERY_PREFIX).lower(): v
                for k, v in given.items()
                if k.startswith(DELIVERY_PREFIX)
            }
            if options:
                values["delivery"] = options
        elif setting.name.upper() in given:
            values[setting.name] = given[setting.name.upper()]
    values.update(overrides)
    return Settings(**values)
