"""The slot clock in the bot's own PostgreSQL database (the default there): one call per
message to the PL/pgSQL function `send_budget_take_v1`, on two small UNLOGGED tables.

Migration 0011 creates them (`migrations/versions/0011_shared_budget.py`); the bot only checks
that they are there, once per process, and until they are it keeps Telegram's limits on its
own, as in any other outage of the store, saying what to run.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.delivery.shared_budget.client import (
    Limits,
    Slot,
    SlotSession,
    SlotStore,
    StoreUnavailable,
)

# the signature migration 0011 creates. A changed one takes a new name (and a new migration
# that keeps the old function): during a rolling update the old processes still call it.
TAKE_FUNCTION = (
    "send_budget_take_v1(text, text, boolean, boolean, boolean, double precision, "
    "double precision, double precision, integer, double precision)"
)
_PRESENT = text(
    "SELECT to_regclass('send_budget') IS NOT NULL "
    "AND to_regclass('send_budget_chats') IS NOT NULL "
    f"AND to_regprocedure('{TAKE_FUNCTION}') IS NOT NULL"
)
_TAKE = text(
    "SELECT granted, chat_busy, slot_at, wait_s FROM send_budget_take_v1("
    ":bot, :chat, :private, :urgent, :check_chat, :interval, :early, :private_interval, "
    ":group_limit, :group_window)"
)
_PENALIZE = text(
    "INSERT INTO send_budget AS b (bot, next_slot) "
    "VALUES (:bot, extract(epoch FROM clock_timestamp()) + :seconds) "
    "ON CONFLICT (bot) DO UPDATE SET next_slot = greatest(b.next_slot, excluded.next_slot)"
)
_PRUNE = text("DELETE FROM send_budget_chats WHERE expires < extract(epoch FROM clock_timestamp())")


class SlotSchemaMissing(StoreUnavailable):
    """The database lacks the budget's tables or function: its migrations have not run."""


class PostgresSlots(SlotStore):
    """The slot clock in the bot's own database, in the objects migration 0011 creates."""

    def __init__(self, engine: AsyncEngine, bot: str, limits: Limits) -> None:
        self._engine = engine
        self._bot = bot
        self.limits = limits
        self._checked = False

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[SlotSession]:
        # held while this process has messages waiting, returned to the pool when idle
        async with self._engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await self._check(connection)
            yield _PostgresSession(connection, self._bot, self.limits)

    async def penalize(self, seconds: float) -> None:
        async with self._engine.connect() as connection:
            await self._check(connection)
            await connection.execute(_PENALIZE, {"bot": self._bot, "seconds": seconds})
            await connection.commit()

    async def _check(self, connection: AsyncConnection) -> None:
        if self._checked:
            return
        if not await connection.scalar(_PRESENT):
            raise SlotSchemaMissing(
                "the tables send_budget, send_budget_chats or the function "
                "send_budget_take_v1 are missing from the database: run `coopbot db upgrade` "
                "(migration 0011 creates them)"
            )
        self._checked = True


class _PostgresSession(SlotSession):
    def __init__(self, connection: AsyncConnection, bot: str, limits: Limits) -> None:
        self._connection = connection
        self._params: dict[str, Any] = {
            "bot": bot,
            "interval": limits.interval,
            "early": limits.early,
            "private_interval": limits.private_interval,
            "group_limit": limits.group_limit,
            "group_window": limits.group_window,
        }

    async def take(self, chat: str, *, private: bool, urgent: bool, check_chat: bool) -> Slot:
        result = await self._connection.execute(
            _TAKE,
            {
                **self._params,
                "chat": chat,
                "private": private,
                "urgent": urgent,
                "check_chat": check_chat,
            },
        )
        granted, chat_busy, at, wait = result.one()
        return Slot(bool(granted), bool(chat_busy), float(at), max(0.0, float(wait)))

    async def prune(self) -> None:
        await self._connection.execute(_PRUNE)
