"""Tuning of the delivery engine, read from the environment once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from bot.config import ConfigError, positive_number


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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DeliveryOptions:
        env = os.environ if env is None else env
        limits = env.get("DELIVERY_RATE_LIMITS", "").strip().lower() or "on"
        if limits not in {"on", "off"}:
            raise ConfigError(f"DELIVERY_RATE_LIMITS must be on or off; got {limits!r}")
        default = cls()
        return cls(
            rate_limits=limits == "on",
            concurrency=int(_number(env, "DELIVERY_CONCURRENCY", default.concurrency)),
            max_attempts=int(_number(env, "DELIVERY_MAX_ATTEMPTS", default.max_attempts)),
            send_timeout=_number(env, "DELIVERY_SEND_TIMEOUT", default.send_timeout),
            backoff_seconds=_number(env, "DELIVERY_BACKOFF_SECONDS", default.backoff_seconds),
            lease_seconds=_number(env, "DELIVERY_LEASE_SECONDS", default.lease_seconds),
        )


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    return positive_number(name, env.get(name), default)
