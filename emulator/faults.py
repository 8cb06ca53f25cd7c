"""Fault injection for delivery tests: blocked users, server errors, timeouts, latency."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ApiError, bad_request, forbidden

__all__ = ["Faults", "TransientFault"]

SERVER_ERROR = "server_error"
TIMEOUT = "timeout"
DROP_CONNECTION = "drop_connection"

_STATUS_TEXT = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


@dataclass(slots=True)
class TransientFault:
    """A fault that fires ``remaining`` more times (None = unlimited) with ``probability``."""

    kind: str
    chat_id: int | None
    remaining: int | None
    probability: float
    status: int = 500
    seconds: float = 0.0
    delivered: bool = False

    def error(self) -> ApiError:
        return ApiError(self.status, _STATUS_TEXT.get(self.status, "Internal Server Error"))


class Faults:
    """Per-chat or global faults for sendMessage/editMessage*/deleteMessage."""

    def __init__(self, seed: int = 0, on_migrate: Callable[[int, int], None] | None = None) -> None:
        self.rng = random.Random(seed)
        self._on_migrate = on_migrate
        self._chat_errors: dict[int, ApiError] = {}
        self._transient: list[TransientFault] = []
        self._latency: dict[int | None, float] = {}

    def seed(self, value: int) -> None:
        self.rng.seed(value)

    def block(self, chat_id: int) -> None:
        self._chat_errors[chat_id] = forbidden("bot was blocked by the user")

    def deactivate(self, chat_id: int) -> None:
        self._chat_errors[chat_id] = forbidden("user is deactivated")

    def kick(self, chat_id: int) -> None:
        self._chat_errors[chat_id] = forbidden("bot was kicked from the group chat")

    def not_member(self, chat_id: int) -> None:
        self._chat_errors[chat_id] = forbidden("bot is not a member of the group chat")

    def chat_not_found(self, chat_id: int) -> None:
        self._chat_errors[chat_id] = bad_request("chat not found")

    def migrate(self, chat_id: int, new_chat_id: int | None = None) -> int:
        """Make ``chat_id`` a migrated group; returns the supergroup id it moved to."""
        if new_chat_id is None:
            new_chat_id = -(10**12) - abs(chat_id)
        self._chat_errors[chat_id] = ApiError(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": new_chat_id},
        )
        if self._on_migrate is not None:
            self._on_migrate(chat_id, new_chat_id)
        return new_chat_id

    def unblock(self, chat_id: int) -> None:
        self._chat_errors.pop(chat_id, None)

    def server_error(
        self,
        chat_id: int | None = None,
        *,
        count: int | None = None,
        probability: float | None = None,
        status: int = 500,
    ) -> None:
        self._add(TransientFault(SERVER_ERROR, chat_id, *_trigger(count, probability), status))

    def timeout(
        self,
        chat_id: int | None = None,
        *,
        count: int | None = None,
        probability: float | None = None,
        seconds: float = 10.0,
        delivered: bool = True,
    ) -> None:
        """Answer only after ``seconds``; ``delivered`` says whether the send still happens."""
        remaining, prob = _trigger(count, probability)
        self._add(
            TransientFault(TIMEOUT, chat_id, remaining, prob, seconds=seconds, delivered=delivered)
        )

    def drop_connection(
        self,
        chat_id: int | None = None,
        *,
        count: int | None = None,
        probability: float | None = None,
        delivered: bool = False,
    ) -> None:
        remaining, prob = _trigger(count, probability)
        self._add(TransientFault(DROP_CONNECTION, chat_id, remaining, prob, delivered=delivered))

    def latency(self, seconds: float, chat_id: int | None = None) -> None:
        if seconds > 0:
            self._latency[chat_id] = seconds
        else:
            self._latency.pop(chat_id, None)

    def clear(self) -> None:
        self._chat_errors.clear()
        self._transient.clear()
        self._latency.clear()

    @property
    def active(self) -> bool:
        return bool(self._chat_errors or self._transient or self._latency)

    def chat_error(self, chat_id: int | None) -> ApiError | None:
        if chat_id is None:
            return None
        return self._chat_errors.get(chat_id)

    def delay_for(self, chat_id: int | None) -> float:
        return self._latency.get(chat_id, 0.0) + self._latency.get(None, 0.0)

    def pick(self, chat_id: int | None) -> TransientFault | None:
        """Return the transient fault to apply to this request, consuming one shot."""
        for fault in self._transient:
            if fault.chat_id is not None and fault.chat_id != chat_id:
                continue
            if fault.probability < 1.0 and self.rng.random() >= fault.probability:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._transient.remove(fault)
            return fault
        return None

    def _add(self, fault: TransientFault) -> None:
        if fault.remaining is None or fault.remaining > 0:
            self._transient.append(fault)


def _trigger(count: int | None, probability: float | None) -> tuple[int | None, float]:
    return count, 1.0 if probability is None else probability
