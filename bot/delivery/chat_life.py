"""The one owner of a chat's life, for every kind of send at once.

- gone (blocked, kicked, chat not found): the chat is marked inactive and every pending push,
  correction, digest and notice for it is cancelled, in one transaction; this process makes no
  further call to it (one failing call per chat, not one per kind);
- moved (a group became a supergroup): settings, subscriptions, pushes, digests and notices
  move to the new id, and the sends already claimed here follow them there;
- reachable again (unblocked, re-added): sends to it may start again;
- forgotten (/forget erased it): the sends this process had claimed for it are dropped.

Whoever notices (a kind of send meeting Telegram's error, or a service told by an update)
calls the same method, so the same event has the same result.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar

from bot.delivery.store.chats import ChatRepository, Migrated

log = logging.getLogger(__name__)

REMEMBERED = 100_000  # chats remembered as gone or moved at once (the database keeps them all)
# when the work a task carries out was claimed (time.monotonic()): work claimed before its
# chat was found gone is dropped without a call; work claimed after it (the chat came back,
# perhaps through another process) goes out
CLAIMED_AT: ContextVar[float] = ContextVar("claimed_at", default=float("inf"))


class ChatLife:
    def __init__(self, chats: ChatRepository) -> None:
        self._chats = chats
        self._gone: dict[int, float] = {}  # chat id -> when it was found gone
        self._moved: dict[int, int] = {}  # old id -> new id

    def current(self, chat_id: int) -> int:
        """Where a chat is now, as far as this process has seen it move."""
        if chat_id not in self._moved:  # (nearly always)
            return chat_id
        seen = {chat_id}
        while chat_id in self._moved and self._moved[chat_id] not in seen:
            chat_id = self._moved[chat_id]
            seen.add(chat_id)
        return chat_id

    def is_gone(self, chat_id: int) -> bool:
        """Found gone after the work at hand was claimed (see CLAIMED_AT)."""
        gone_at = self._gone.get(chat_id)
        return gone_at is not None and CLAIMED_AT.get() <= gone_at

    async def gone(self, chat_id: int, reason: str) -> int:
        """The chat is unreachable: nothing more goes to it. Returns the pushes cancelled."""
        if len(self._gone) >= REMEMBERED:
            self._gone.clear()
        self._gone[chat_id] = time.monotonic()
        cancelled = await self._chats.deactivate(chat_id, reason)
        log.info("chat %s is gone (%s): %d pending push(es) cancelled", chat_id, reason, cancelled)
        return cancelled

    async def moved(self, old_chat_id: int, new_chat_id: int) -> Migrated:
        """The group became a supergroup: everything pending goes on there."""
        if len(self._moved) >= REMEMBERED:
            self._moved.clear()
        self._moved[old_chat_id] = new_chat_id
        self._gone.pop(new_chat_id, None)
        migrated = await self._chats.migrate(old_chat_id, new_chat_id)
        log.info(
            "chat %s moved to %s (%d push(es), %d digest(s), %d notice(s) moved)",
            old_chat_id,
            new_chat_id,
            migrated.moved_deliveries,
            migrated.moved_digests,
            migrated.moved_notices,
        )
        return migrated

    def forgotten(self, chat_id: int) -> None:
        """/forget erased the chat (its rows are gone already): what this process claimed for
        it before is dropped without a call, as for a chat gone; work claimed later (the chat
        started afresh) goes out."""
        if len(self._gone) >= REMEMBERED:
            self._gone.clear()
        self._gone[chat_id] = time.monotonic()

    def reachable(self, chat_id: int) -> None:
        """The chat let the bot back in (unblocked, re-added)."""
        self._gone.pop(chat_id, None)
