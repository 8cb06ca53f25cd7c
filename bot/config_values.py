"""The rules each setting's value follows, and the one error a bad value raises: parsing
and checking single values (numbers, ids, listen addresses, the webhook's and the newsroom's
URLs). `bot.config` puts them together into `Settings`."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# WEB_URL may be plain http only on the machine itself (local use, the sandbox)
LOCAL_WEB_HOSTS = ("127.0.0.1", "localhost", "::1")
# what Telegram accepts as secret_token for setWebhook
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
WEBHOOK_SECRET_RULE = "1 to 256 characters among A-Z, a-z, 0-9, _ and -"
# paths the bot's web server answers itself; the webhook cannot take one of them
HEALTH_PATHS = ("/healthz", "/readyz", "/metrics")
# the first part of the web newsroom's paths (bot/newsroom), when it shares the listener
NEWSROOM_PATHS = ("login", "logout", "app", "api", "static", "items", "feeds", "audit", "r")


class SecretStr:
    """A secret setting (the token, the webhook's secret): its value is only had by asking,
    and it shows as stars in a repr, a log line or an error."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "SecretStr('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class ConfigError(Exception):
    """A setting is missing or unusable; the message names the setting.

    Not a ValueError: callers catch it alone, and the operator reads this one line.
    """


def text_of(value: object) -> str | None:
    """The raw value as text; None when it is unset or blank (then the default applies)."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def positive_number(name: str, value: object, default: float, *, zero: bool = False) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        raw = text_of(value)
        if raw is None:
            return default
        try:
            number = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number; got {raw!r}") from None
    if number < 0 or (number == 0 and not zero):
        raise ConfigError(f"{name} must be greater than 0; got {str(value).strip()!r}")
    return number


def admin_ids(value: object) -> frozenset[int]:
    if isinstance(value, frozenset | set | list | tuple):
        return frozenset(int(v) for v in value)
    ids = set()
    for part in (text_of(value) or "").replace(";", ",").split(","):
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


def listen_address(name: str, value: object) -> tuple[str, int]:
    """`host:port` (`[::1]:8080` for IPv6) into its parts; port 0 picks any free port."""
    raw = text_of(value) or ""
    host, colon, port = raw.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"{name} must be host:port, e.g. 127.0.0.1:8080; got {raw!r}")
    return host, int(port)


def webhook_url(value: object) -> str | None:
    raw = text_of(value)
    if raw is None:
        return None
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        parts = None
    if parts is None or parts.scheme != "https" or not parts.hostname:
        raise ConfigError(
            f"WEBHOOK_URL must be the public https:// URL Telegram posts updates to; got {raw!r}"
        )
    if (parts.path or "/") in HEALTH_PATHS:
        raise ConfigError(f"WEBHOOK_URL cannot use the path {parts.path}: the bot serves it itself")
    return raw


def web_url(value: object) -> str | None:
    raw = text_of(value)
    if raw is None:
        return None
    try:
        parts = urlsplit(raw.rstrip("/"))
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        parts = None
    local = parts is not None and parts.scheme == "http" and parts.hostname in LOCAL_WEB_HOSTS
    if parts is None or not parts.hostname or not (parts.scheme == "https" or local):
        raise ConfigError(
            "WEB_URL must be the newsroom's public https:// base URL "
            f"(http:// only for 127.0.0.1 or localhost); got {raw!r}"
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"WEB_URL must be a base URL, without ? or #; got {raw!r}")
    return raw.rstrip("/")


def newsroom_path(path: str) -> bool:
    """A path the web newsroom answers (bot/newsroom), which a webhook cannot share."""
    return path == "/" or path.split("/")[1] in NEWSROOM_PATHS
