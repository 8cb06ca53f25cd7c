"""The one way a kind of send calls Telegram: within the budget, waiting out 429s, following a
chat that moved, and telling the chat's owner when it is gone. What is left of an error
reaches the kind as `Refused`, with its verdict (`bot.delivery.telegram_errors`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from bot.delivery.budget import Budget
from bot.delivery.chat_life import ChatLife
from bot.delivery.stopping import StopSignal, flood_wait, send_turn
from bot.delivery.telegram_errors import Next, Verdict, answered

T = TypeVar("T")

GONE_HERE = "inactive"  # the chat was found gone earlier: no call was made


class Refused(Exception):
    """Telegram refused the call for good, or for now (see `verdict.next`). `called`: a
    request was made (it counts as an attempt)."""

    def __init__(self, verdict: Verdict, chat_id: int, *, called: bool = True) -> None:
        super().__init__(f"{verdict.next.value}: {verdict.reason}")
        self.verdict = verdict
        self.chat_id = chat_id
        self.called = called


@dataclass
class CallStats:
    flood_waits: int = 0  # 429s answered
    migrated: int = 0  # chats found moved


@dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    value: T
    chat_id: int  # where it went: the chat's new id after a move


class Backlog(Protocol):
    """Outcomes not yet written: no send starts while there are too many."""

    def full(self) -> bool: ...

    async def room(self) -> None: ...


class TelegramCalls:
    def __init__(
        self,
        *,
        stop: StopSignal,
        budget: Budget,
        chats: ChatLife,
        backlog: Backlog,
        stats: CallStats,
    ) -> None:
        self._stop = stop
        self._budget = budget
        self._chats = chats
        self._backlog = backlog  # the runner's back-pressure
        self.stats = stats

    async def call(
        self,
        chat_id: int,
        request: Callable[[int], Awaitable[T]],
        *,
        follow_moves: bool = True,
    ) -> Answer[T]:
        """`request(chat_id)` once it may go; again after a 429, and at the chat's new id after
        a move (`follow_moves`; an edit cannot follow its message). Raises `Refused` for the
        rest, `Stopping` when the sender stops first."""
        chat_id = self._chats.current(chat_id) if follow_moves else chat_id
        while True:
            if self._chats.is_gone(chat_id):
                raise Refused(Verdict(Next.CHAT_GONE, GONE_HERE), chat_id, called=False)
            if self._backlog.full():  # (rarely: the database is slow to record)
                await self._backlog.room()
            await send_turn(self._stop, self._budget, chat_id)
            found = await answered(request(chat_id))
            if not isinstance(found, Verdict):
                return Answer(found, chat_id)
            if found.next is Next.RETRY_AFTER:  # flood control: wait, then the very same call
                self.stats.flood_waits += 1
                await flood_wait(self._stop, self._budget, found.seconds)
                continue
            if found.next is Next.CHAT_MOVED and found.new_chat_id is not None:
                self.stats.migrated += 1
                await self._chats.moved(chat_id, found.new_chat_id)
                if follow_moves:
                    chat_id = found.new_chat_id
                    continue
            elif found.next is Next.CHAT_GONE:
                await self._chats.gone(chat_id, found.reason)
            raise Refused(found, chat_id)
