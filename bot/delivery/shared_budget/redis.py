"""The slot clock in Redis (when REDIS_URL is set): one key for the clock and one per chat,
each changed by one Lua script per message, with keys that expire by themselves."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from bot.delivery.shared_budget.client import Limits, Slot, SlotSession, SlotStore

if TYPE_CHECKING:
    from redis.asyncio import Redis

# KEYS: the slot clock, the chat. ARGV: urgent, check_chat, private (1/0), interval, early,
# private_interval, group_limit, group_window. Keys expire once they no longer matter.
_REDIS_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local urgent, check, private = ARGV[1] == '1', ARGV[2] == '1', ARGV[3] == '1'
local interval, early = tonumber(ARGV[4]), tonumber(ARGV[5])
local private_interval, limit = tonumber(ARGV[6]), tonumber(ARGV[7])
local window = tonumber(ARGV[8])
local function num(x) return string.format('%.6f', x) end
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
if not urgent and slot > now + early then
  return {'0', '0', num(slot - early), num(slot - early - now)}
end
local ready = 0
if private then
  ready = tonumber(redis.call('GET', KEYS[2]) or '0')
else
  local n = redis.call('LLEN', KEYS[2])
  if n >= limit then
    ready = tonumber(redis.call('LINDEX', KEYS[2], n - limit)) + window
  end
end
if check and ready > slot then
  return {'0', '1', num(ready), num(ready - now)}
end
local next_slot = slot + interval
redis.call('SET', KEYS[1], num(next_slot), 'PX', math.ceil((next_slot - now) * 1000) + 60000)
if private then
  local free = slot + private_interval
  redis.call('SET', KEYS[2], num(free), 'PX', math.ceil((free - now) * 1000) + 1000)
else
  redis.call('RPUSH', KEYS[2], num(slot))
  redis.call('LTRIM', KEYS[2], -limit, -1)
  redis.call('PEXPIRE', KEYS[2], math.ceil((slot + window - now) * 1000) + 1000)
end
return {'1', '0', num(slot), num(slot - now)}
"""
_REDIS_PENALIZE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local until_ = now + tonumber(ARGV[1])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot > until_ then until_ = slot end
redis.call('SET', KEYS[1], string.format('%.6f', until_), 'PX',
  math.ceil((until_ - now) * 1000) + 60000)
return 1
"""


class RedisSlots(SlotStore, SlotSession):
    """The slot clock in Redis: one key for the clock and one per chat, each changed by a Lua
    script (atomic, one round trip); all of a bot's keys share a hash slot (`{...}`)."""

    def __init__(self, url: str, bot: str, limits: Limits) -> None:
        self._url = url
        self._prefix = f"coopbot:budget:{{{bot}}}"
        self._clock_key = f"{self._prefix}:next"
        self.limits = limits
        self._client: Redis | None = None
        self._take: Any = None
        self._penalize: Any = None

    def _redis(self) -> Redis:
        if self._client is None:
            from redis.asyncio import Redis

            self._client = Redis.from_url(self._url)
            self._take = self._client.register_script(_REDIS_TAKE)
            self._penalize = self._client.register_script(_REDIS_PENALIZE)
        return self._client

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[SlotSession]:
        self._redis()
        yield self

    async def take(self, chat: str, *, private: bool, urgent: bool, check_chat: bool) -> Slot:
        self._redis()
        limits = self.limits
        answer = await self._take(
            keys=[self._clock_key, f"{self._prefix}:chat:{chat}"],
            args=[
                int(urgent),
                int(check_chat),
                int(private),
                repr(limits.interval),
                repr(limits.early),
                repr(limits.private_interval),
                limits.group_limit,
                repr(limits.group_window),
            ],
        )
        granted, chat_busy, at, wait = (x.decode() if isinstance(x, bytes) else x for x in answer)
        return Slot(granted == "1", chat_busy == "1", float(at), max(0.0, float(wait)))

    async def penalize(self, seconds: float) -> None:
        self._redis()
        await self._penalize(keys=[self._clock_key], args=[repr(float(seconds))])

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
