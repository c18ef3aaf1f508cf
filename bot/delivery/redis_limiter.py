"""Telegram's outgoing limits shared by every replica: the RateLimiter's accounting, kept in Redis.

Telegram counts per bot, not per process, so with N replicas each one pacing itself at 30 msg/s would
send 30·N. Here every check-and-take is one Lua script run atomically by Redis on Redis's own clock
(`TIME`), so replicas on machines with skewed clocks still agree:

- overall and per-chat pace: GCRA (a token bucket kept as one "theoretical arrival time" per key);
- groups: a sliding 60-second log (a sorted set) of at most `per_group_per_minute` sends;
- a 429: one key holding "paused until"; every replica waits it out before its next send.

Keys expire as soon as they hold nothing (an idle chat's bucket is full anyway), so memory stays bounded.
If Redis cannot be reached, sending is not stopped: this process falls back to its own accounting (the
parent class) and says so in the log, once per outage.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from bot.delivery.ratelimit import Limits, RateLimiter

log = logging.getLogger(__name__)

# KEYS: pause, overall, chat, group. ARGV: mode ("take" | "peek"), overall interval µs, overall tolerance µs,
# chat interval µs, chat tolerance µs, group limit (0 = not a group), group window µs, log member.
# Returns the wait in µs (0: allowed, and counted when mode is "take").
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local take = ARGV[1] == 'take'
local wait = 0
if take then
  local paused = tonumber(redis.call('GET', KEYS[1]) or '0')
  if paused > now then wait = paused - now end
end
local function tat_of(key)
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  return tat
end
local overall_tat = 0
if take then
  overall_tat = tat_of(KEYS[2])
  wait = math.max(wait, overall_tat - tonumber(ARGV[3]) - now)
end
local chat_tat = tat_of(KEYS[3])
wait = math.max(wait, chat_tat - tonumber(ARGV[5]) - now)
local group_limit = tonumber(ARGV[6])
local window = tonumber(ARGV[7])
if group_limit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - window)
  if redis.call('ZCARD', KEYS[4]) >= group_limit then
    local oldest = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + window - now)
  end
end
if wait > 0 or not take then return math.ceil(wait) end
local function advance(key, tat, interval)
  local next_tat = tat + interval
  redis.call('SET', key, string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1)
end
advance(KEYS[2], overall_tat, tonumber(ARGV[2]))
advance(KEYS[3], chat_tat, tonumber(ARGV[4]))
if group_limit > 0 then
  redis.call('ZADD', KEYS[4], now, ARGV[8])
  redis.call('PEXPIRE', KEYS[4], math.ceil(window / 1000) + 1)
end
return 0
"""

# KEYS: pause. ARGV: seconds (µs). Extends the pause (never shortens it); returns µs left.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local untill = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < untill then
  redis.call('SET', KEYS[1], string.format('%.0f', untill), 'PX', math.ceil(tonumber(ARGV[1]) / 1000) + 1)
  current = untill
end
return math.ceil(current - now)
"""

# KEYS: pause. Returns µs left of a pause.
_PAUSED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current > now then return math.ceil(current - now) end
return 0
"""

_MICRO = 1_000_000
GROUP_WINDOW = 60.0


class RedisRateLimiter(RateLimiter):
    """The same interface as RateLimiter, with the counts in Redis: the limits hold for all replicas.

    Args:
        redis: a `redis.asyncio.Redis` client (this limiter closes it in `close`).
        limits: the pace, as for RateLimiter.
        prefix: key prefix; one per bot (its numeric id), so two bots sharing a Redis do not share limits.
    """

    def __init__(
        self,
        redis: Any,
        limits: Limits | None = None,
        *,
        prefix: str = "gridbot:rl",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(limits, clock=clock, sleep=sleep)
        self._redis = redis
        self._prefix = prefix
        self._acquire_script = redis.register_script(_ACQUIRE)
        self._pause_script = redis.register_script(_PAUSE)
        self._paused_script = redis.register_script(_PAUSED)
        self._tasks: set[asyncio.Task[None]] = set()
        self._degraded = False
        limits = self.limits
        overall = 1.0 / limits.overall_per_second
        chat = 1.0 / limits.per_chat_per_second
        self._pace_args = (
            round(overall * _MICRO),
            round(overall * (max(1.0, limits.overall_per_second) - 1) * _MICRO),
            round(chat * _MICRO),
            round(chat * (max(1, limits.per_chat_burst) - 1) * _MICRO),
        )

    def _keys(self, chat_id: int) -> list[str]:
        p = self._prefix
        return [f"{p}:pause", f"{p}:all", f"{p}:c:{chat_id}", f"{p}:g:{chat_id}"]

    def _args(self, mode: str, chat_id: int) -> list[Any]:
        group_limit = self.limits.per_group_per_minute if chat_id < 0 else 0
        return [mode, *self._pace_args, group_limit, round(GROUP_WINDOW * _MICRO), uuid.uuid4().hex]

    async def acquire(self, chat_id: int) -> None:
        """Wait until a message to `chat_id` may go out (by every replica's count), and count it."""
        while True:
            try:
                wait = int(await self._acquire_script(self._keys(chat_id), self._args("take", chat_id)))
            except Exception as error:  # Redis down: keep sending at this process's own pace
                self._lost(error)
                await super().acquire(chat_id)
                return
            self._back()
            if wait <= 0:
                return
            await self._sleep(wait / _MICRO)

    async def chat_delay(self, chat_id: int) -> float:
        try:
            wait = int(await self._acquire_script(self._keys(chat_id), self._args("peek", chat_id)))
        except Exception as error:
            self._lost(error)
            return await super().chat_delay(chat_id)
        self._back()
        return wait / _MICRO

    def pause(self, seconds: float) -> None:
        """A 429: pause here at once, and in Redis for every other replica (written in the background)."""
        super().pause(seconds)
        task = asyncio.get_running_loop().create_task(self._share_pause(seconds))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _share_pause(self, seconds: float) -> None:
        try:
            await self._pause_script([f"{self._prefix}:pause"], [max(1, round(seconds * _MICRO))])
        except Exception as error:
            self._lost(error)

    async def pause_remaining(self) -> float:
        local = self.paused_for
        try:
            shared = int(await self._paused_script([f"{self._prefix}:pause"], [])) / _MICRO
        except Exception as error:
            self._lost(error)
            return local
        self._back()
        return max(local, shared)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._redis.aclose()

    def _lost(self, error: Exception) -> None:
        if not self._degraded:
            self._degraded = True
            log.warning(
                "redis limiter unreachable (%s): pacing this replica on its own", type(error).__name__
            )

    def _back(self) -> None:
        if self._degraded:
            self._degraded = False
            log.info("redis limiter reachable again: limits shared across replicas")


def bot_prefix(token: str | None) -> str:
    """Key prefix for one bot: its numeric id (the public part of the token), never the secret."""
    bot_id = (token or "").split(":", 1)[0]
    return f"gridbot:rl:{bot_id}" if bot_id.isdigit() else "gridbot:rl"


def make_limiter(limits: Limits, redis_url: str | None, token: str | None = None) -> RateLimiter:
    """The Redis-backed limiter when `redis_url` is set (GRIDBOT_REDIS_URL), else this process's own."""
    if not redis_url:
        return RateLimiter(limits)
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
    return RedisRateLimiter(client, limits, prefix=bot_prefix(token))
