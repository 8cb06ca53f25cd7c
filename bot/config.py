"""Settings: one frozen object, read once from the environment (and a `.env` file).

`load_settings()` is the one place that reads the environment; real environment variables
win over `.env`. `Settings(...)` itself holds exactly what it is given and reads nothing, so
tests and benches build one without the machine's environment leaking in.

Every setting keeps its environment name: a field `database_url` is `DATABASE_URL`, and the
delivery engine's tuning, `settings.delivery`, comes from `DELIVERY_CONCURRENCY` and its
siblings. A bad value stops start-up with one line that names the setting (`ConfigError`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from bot.config_values import (
    WEBHOOK_SECRET,
    WEBHOOK_SECRET_RULE,
    ConfigError,
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
    """DELIVERY_* variables (gathered by pydantic-settings into a dict) into the options."""
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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        frozen=True,
        extra="ignore",
        case_sensitive=False,
        env_file_encoding="utf-8",
        # DELIVERY_CONCURRENCY → settings.delivery.concurrency; the other names stay whole
        env_nested_delimiter="_",
        env_nested_max_split=1,
    )

    bot_token: SecretStr | None = None
    database_url: str = DEFAULT_DATABASE_URL
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
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
    delivery: DeliveryOptions = DeliveryOptions()
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

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)  # only what the caller gave; `load_settings` reads the rest

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

    @field_validator("bot_token", mode="before")
    @classmethod
    def _token(cls, value: object) -> object:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        return text_of(value)

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url(cls, value: object) -> str:
        return normalize_database_url(text_of(value) or DEFAULT_DATABASE_URL)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admins(cls, value: object) -> frozenset[int]:
        return admin_ids(value)

    @field_validator("telegram_api_url", mode="before")
    @classmethod
    def _api_url(cls, value: object) -> str:
        return text_of(value) or TELEGRAM_API_URL

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, value: object) -> str:
        level = (text_of(value) or "INFO").upper()
        if level not in LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR; got {level!r}")
        return level

    @field_validator("timezone", mode="before")
    @classmethod
    def _timezone(cls, value: object) -> str:
        name = text_of(value) or "UTC"
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"TIMEZONE must be an IANA name like Europe/Rome; got {name!r}"
            ) from None
        return name

    @field_validator(
        "delivery_poll_seconds",
        "feed_interval_seconds",
        "listing_cache_seconds",
        "schedule_poll_seconds",
        "delivery_keep_days",
        "audit_keep_days",
        mode="before",
    )
    @classmethod
    def _seconds(cls, value: object, info: Any) -> float:
        field = cls.model_fields[info.field_name]
        number = positive_number(
            info.field_name.upper(),
            value,
            field.default,
            zero=info.field_name == "listing_cache_seconds",  # 0 turns the cache off
        )
        return int(number) if field.annotation in (int, "int") else number

    @field_validator("redis_url", mode="before")
    @classmethod
    def _redis_url(cls, value: object) -> str | None:
        url = text_of(value)
        if url is not None and not url.startswith(REDIS_SCHEMES):
            raise ConfigError(
                "REDIS_URL must start with redis://, rediss:// or unix://; "
                f"got {url.split('://')[0]!r}"
            )
        return url

    @field_validator("delivery", mode="before")
    @classmethod
    def _delivery_options(cls, value: object) -> DeliveryOptions:
        return _delivery(value)

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _webhook(cls, value: object) -> str | None:
        return webhook_url(value)

    @field_validator("web_url", mode="before")
    @classmethod
    def _web(cls, value: object) -> str | None:
        return web_url(value)

    @field_validator("web_listen", mode="before")
    @classmethod
    def _web_listen(cls, value: object) -> str:
        raw = text_of(value) or DEFAULT_WEB_LISTEN
        listen_address("WEB_LISTEN", raw)
        return raw

    @field_validator("click_tracking", mode="before")
    @classmethod
    def _click_tracking(cls, value: object) -> bool:
        raw = (text_of(value) or "off").lower()
        if raw not in ("on", "off", "true", "false", "1", "0", "yes", "no"):
            raise ConfigError(f"CLICK_TRACKING must be on or off; got {raw!r}")
        return raw in ("on", "true", "1", "yes")

    @field_validator("webhook_listen", mode="before")
    @classmethod
    def _webhook_listen(cls, value: object) -> str:
        raw = text_of(value) or DEFAULT_WEBHOOK_LISTEN
        listen_address("WEBHOOK_LISTEN", raw)
        return raw

    @field_validator("metrics_listen", mode="before")
    @classmethod
    def _metrics_listen(cls, value: object) -> str | None:
        raw = text_of(value)
        if raw is not None:
            listen_address("METRICS_LISTEN", raw)
        return raw

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, value: object) -> str | None:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        raw = None if value is None else str(value).strip() or None
        if raw is not None and not WEBHOOK_SECRET.fullmatch(raw):
            # the value itself is a secret: never quoted
            raise ConfigError(f"WEBHOOK_SECRET must be {WEBHOOK_SECRET_RULE}")
        return raw

    @field_validator("webhook_max_connections", mode="before")
    @classmethod
    def _max_connections(cls, value: object) -> int:
        raw = text_of(value)
        if raw is None:
            return DEFAULT_WEBHOOK_MAX_CONNECTIONS
        if not raw.isdigit() or not 1 <= int(raw) <= 100:
            raise ConfigError(f"WEBHOOK_MAX_CONNECTIONS must be a whole number 1–100; got {raw!r}")
        return int(raw)

    @model_validator(mode="after")
    def _webhook_mode(self) -> Settings:
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
        return self


class _FromEnvironment(Settings):
    """Settings as `load_settings` reads them: arguments, then the environment, then `.env`."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, dotenv_settings)


def load_settings(env_file: str | Path | None = ".env", **overrides: Any) -> Settings:
    """Build the settings from the environment; a `.env` file fills in what is unset."""
    try:
        return _FromEnvironment(_env_file=env_file, **overrides)
    except ValidationError as exc:  # a type our validators did not take; name the setting
        error = exc.errors()[0]
        name = "_".join(str(part) for part in error["loc"]).upper()
        raise ConfigError(f"{name} is not usable: {error['msg']}") from None
    except SettingsError as exc:  # a value pydantic-settings could not even parse
        raise ConfigError(str(exc).splitlines()[0]) from None
