"""Sliding-window flood limits modelled on Telegram's documented bot limits."""

from __future__ import annotations

import math
from collections import deque

__all__ = ["RateLimiter"]


class RateLimiter:
    """Per-token, per-private-chat and per-group sliding windows.

    A message is allowed when fewer than ``*_limit`` messages were accepted within the last
    ``*_window`` seconds, so a bot that spaces messages by exactly ``window / limit`` complies.
    """

    def __init__(self) -> None:
        self.global_limit = 30
        self.global_window = 1.0
        self.private_limit = 1
        self.private_window = 1.0
        self.group_limit = 20
        self.group_window = 60.0
        self._global: deque[float] = deque()
        self._chats: dict[int, deque[float]] = {}

    def reset(self) -> None:
        self._global.clear()
        self._chats.clear()

    def acquire(self, chat_id: int, now: float) -> int | None:
        """Record a message at monotonic ``now``; return ``retry_after`` seconds if refused."""
        private = chat_id > 0
        limit = self.private_limit if private else self.group_limit
        window = self.private_window if private else self.group_window
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = deque()
        retry = _retry_after(chat, limit, window, now)
        if retry is None:
            retry = _retry_after(self._global, self.global_limit, self.global_window, now)
        if retry is not None:
            return retry
        chat.append(now)
        self._global.append(now)
        return None


def _retry_after(stamps: deque[float], limit: int, window: float, now: float) -> int | None:
    horizon = now - window
    while stamps and stamps[0] <= horizon:
        stamps.popleft()
    if len(stamps) < limit:
        return None
    return max(1, math.ceil(stamps[len(stamps) - limit] + window - now))
