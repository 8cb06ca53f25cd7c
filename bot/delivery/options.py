"""Tuning of the delivery engine. The composition root passes them in (from the settings,
where they are read once with everything else); the engine never reads the environment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

MAX_BACKOFF_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class DeliveryOptions:
    # Telegram's limits for one bot token; `rate_limits=False` is for paid broadcasts (up to
    # 1000/s, no per-chat spacing) and for test emulators that do not enforce limits
    rate_limits: bool = True
    per_second: float = 30.0
    private_interval: float = 1.0  # one message per second in a private chat
    group_per_minute: int = 20  # in a group, supergroup or channel
    concurrency: int = 64  # requests in flight at once
    claim_batch: int = 200  # rows claimed per database round trip
    lease_seconds: float = 300.0
    max_attempts: int = 5  # for timeouts, network errors and 5xx; 429 never counts
    backoff_seconds: float = 2.0  # first retry; doubles each time, capped at 5 minutes
    send_timeout: float = 10.0  # seconds to wait for Telegram's answer to one message
    leader_poll_seconds: float = 1.0  # how often a standby replica tries to take over

    def backoff(self, attempts: int) -> timedelta:
        """How long a row waits after its `attempts`-th failed try (timeouts, 5xx)."""
        return timedelta(
            seconds=min(MAX_BACKOFF_SECONDS, self.backoff_seconds * 2 ** (attempts - 1))
        )
