"""What signing in to the newsroom checks that needs no database: Telegram's signature on a
Mini App's init data, the CSRF token of a form, and the cap on failed sign-ins per address."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import deque
from collections.abc import Callable
from urllib.parse import parse_qsl

INIT_DATA_MAX_AGE = 24 * 3600  # Telegram's auth_date may be at most this old
FAILURES_PER_MINUTE = 10  # failed sign-ins an address may make; the rest get 429
MAX_ADDRESSES = 10_000  # addresses remembered; the oldest are forgotten first


def init_data_user(init_data: str, token: str, *, now: float | None = None) -> int | None:
    """The Telegram user id in a Mini App's init data, when it is signed for this bot's
    token (HMAC-SHA256 keyed with HMAC("WebAppData", token), as Telegram documents) and at
    most a day old; None otherwise."""
    try:
        pairs = dict(parse_qsl(init_data, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        return None
    given = pairs.pop("hash", "")
    checked = "\n".join(f"{key}={pairs[key]}" for key in sorted(pairs))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    expected = hmac.new(secret, checked.encode(), hashlib.sha256).hexdigest()
    if not given or not hmac.compare_digest(given, expected):
        return None
    try:
        signed_at = int(pairs.get("auth_date", ""))
        user = json.loads(pairs.get("user", ""))
        user_id = user["id"]
    except (ValueError, TypeError, KeyError):
        return None
    age = (time.time() if now is None else now) - signed_at
    if not 0 <= age <= INIT_DATA_MAX_AGE + 60 or not isinstance(user_id, int):
        return None  # (a minute's grace for clocks that disagree)
    return user_id


def sign_init_data(fields: dict[str, str], token: str) -> str:
    """Init data as Telegram signs it (for tests, the sandbox and benches)."""
    from urllib.parse import urlencode

    checked = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    signature = hmac.new(secret, checked.encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": signature})


def same_token(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class FailedSignIns:
    """Failed sign-ins per address in the last minute, in this process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str) -> deque[float]:
        now = self._clock()
        failures = self._failures.get(address)
        if failures is None:
            if len(self._failures) >= MAX_ADDRESSES:
                self._failures.pop(next(iter(self._failures)))
            failures = self._failures[address] = deque()
        while failures and now - failures[0] >= 60:
            failures.popleft()
        return failures

    def blocked(self, address: str) -> bool:
        return len(self._recent(address)) >= FAILURES_PER_MINUTE

    def failed(self, address: str) -> None:
        self._recent(address).append(self._clock())
