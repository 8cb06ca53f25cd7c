"""Logging set-up that never lets the bot token out."""

from __future__ import annotations

import logging
import re

# A Bot API token: the bot's numeric id, a colon, 35 url-safe characters.
_TOKEN_PATTERN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")


class RedactTokens(logging.Filter):
    """Masks anything shaped like a bot token (and the configured one) in every record."""

    def __init__(self, token: str | None = None) -> None:
        super().__init__()
        self._token = token

    def _clean(self, text: str) -> str:
        if self._token:
            text = text.replace(self._token, "<token>")
        return _TOKEN_PATTERN.sub("<token>", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # tracebacks of network errors can quote the request URL
            record.exc_text = self._clean(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def setup_logging(level: str = "INFO", token: str | None = None) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokens(token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token
    for noisy in (
        "httpx",
        "httpcore",
        "aiohttp.access",
        "apscheduler.executors.default",
        "alembic",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
