"""One sending budget for all the bot's processes: a slot clock in PostgreSQL or Redis.

Telegram counts messages per token, so when several `coopbot run` processes share a token
(replies from any of them, broadcasts from the leader), each one pacing itself at 30/s would
send N × 30/s together. Here every message first takes its slot in one central place:

* the global slot clock: one value, `next`. Taking a slot gives `slot = max(next, now)` and
  moves `next` to `slot + interval` (the in-process `Budget`'s spacing: 1.03/30 s);
* the chat's own limit, checked and recorded in the same atomic step: a private chat's next
  free moment (1.03 s after its last message) or a group's last 20 slots (a sliding window of
  61.8 s). A chat that is not free by the slot takes nothing: the caller is told when it will
  be, waits, and asks again. A reply to a person skips that check (as in `Budget`: two quick
  answers go at once), but is counted;
* replies before broadcasts, across processes: a reply (URGENT) reserves the next slot however
  far ahead it is and sleeps until it; a broadcast (BULK) is granted a slot only when it is due
  (up to 5 ms early), else it is told when to come back and reserves nothing. So broadcasts
  never hold slots ahead of now, and a reply from any process goes within about one slot. It
  also keeps a late process from bunching its messages: a broadcast slot is taken at the
  moment it is used, so a process held up (a busy event loop, a slow network) takes a later
  slot instead of sending a stale one next to someone else's. Inside a process, its waiting
  requests are ordered replies first, as in `Budget`;
* a 429 moves `next` to now + retry_after: every process holds back until it passes;
* time is the store's clock (PostgreSQL `clock_timestamp()`, Redis `TIME`); answers carry
  durations from the store's now, so the processes' own clocks never need to agree.

One pump per process asks the store for one slot at a time: one statement per message (a
PL/pgSQL function, or a Lua script in Redis). After a broadcast slot it waits locally until
the next one is due, so a steady broadcast costs one round trip per message, not a poll loop.

If the store cannot be reached, the process falls back to its in-process `Budget` for a few
seconds at a time (each process then keeps Telegram's limits on its own; together they may
draw 429s, which are waited out) and logs it once per outage.

Here: `client.py` holds `SharedBudget` and what every store answers to (`SlotStore`,
`SlotSession`, `Slot`, `Limits`); `postgres.py` the store in the bot's database (its tables and
function come from migration 0011); `redis.py` the store in Redis; `budget_for` below picks one.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery.budget import Budget
from bot.delivery.options import DeliveryOptions
from bot.delivery.shared_budget.client import (
    PRUNE_SECONDS,
    STORE_RETRY_SECONDS,
    Limits,
    SharedBudget,
    Slot,
    SlotSession,
    SlotStore,
    StoreUnavailable,
)
from bot.delivery.shared_budget.postgres import PostgresSlots, SlotSchemaMissing
from bot.delivery.shared_budget.redis import RedisSlots

__all__ = [
    "PRUNE_SECONDS",
    "STORE_RETRY_SECONDS",
    "Limits",
    "PostgresSlots",
    "RedisSlots",
    "SharedBudget",
    "Slot",
    "SlotSchemaMissing",
    "SlotSession",
    "SlotStore",
    "StoreUnavailable",
    "budget_for",
]


def budget_for(
    options: DeliveryOptions, engine: AsyncEngine, *, bot_id: str, redis_url: str | None = None
) -> Budget:
    """Redis when REDIS_URL is set, else PostgreSQL when that is the database: shared by all
    of the token's processes. SQLite (one process only) keeps the in-process budget."""
    if not options.rate_limits:
        return Budget(options)
    limits = Limits.of(options)
    if redis_url:
        return SharedBudget(options, RedisSlots(redis_url, bot_id, limits))
    if engine.dialect.name == "postgresql":
        return SharedBudget(options, PostgresSlots(engine, bot_id, limits))
    return Budget(options)
