"""Telegram's outgoing limits shared by every replica: the RateLimiter's accounting, kept in Redis.

Telegram counts per bot, not per process, so with N replicas each one pacing itself at 30 msg/s would
send 30·N. Here every check-and-take is one Lua script run atomically by Redis on Redis's own clock
(`TIME`), so replicas on machines with skewed clocks still agree:

- overall and per-chat pace: GCRA (a token bucket kept as one "theoretical arrival time" per key);
- groups: a sliding 60-second log (a sorted set) of at most `per_group_per_minute` sends;
- a 429: one key holding "paused until"; every replica waits it out before its next send;
- lanes (bot/delivery/ratelimit.py): while any replica's campaign sends (a key that lives one second after
  each bulk send), the overall pace has no burst for anyone, so an alert takes a campaign's slot instead of
  adding a burst on top of it; a chat's urgent reserve is the per-chat tolerance less one interval.

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

from bot.delivery.ratelimit import BULK_WINDOW, Lane, Limits, RateLimiter

log = logging.getLogger(__name__)

# KEYS: pause, overall, chat, group, bulk. ARGV: mode ("take" | "peek"), overall interval µs, overall
# tolerance µs, chat interval µs, chat tolerance µs, group limit (0 = not a group), group window µs, log
# member, lane ("bulk" | "reply" | "urgent"), bulk window µs, urgent reserve µs, bulk ("1" | "0"), and
# optionally defer-after µs (-1: never). Returns the wait in µs (0: allowed, and counted when mode is
# "take"), or -1 (nothing counted) when the chat's own wait is longer than defer-after.
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
local lane = ARGV[9]
local overall_tolerance = tonumber(ARGV[3])
local bulk = ARGV[12] == '1'
if bulk or redis.call('EXISTS', KEYS[5]) == 1 then overall_tolerance = 0 end
local overall_tat = 0
if take then
  overall_tat = tat_of(KEYS[2])
  wait = math.max(wait, overall_tat - overall_tolerance - now)
end
local chat_tat = tat_of(KEYS[3])
local chat_tolerance = tonumber(ARGV[5])
if lane ~= 'urgent' then chat_tolerance = math.max(0, chat_tolerance - tonumber(ARGV[11])) end
local chat_wait = chat_tat - chat_tolerance - now
local group_limit = tonumber(ARGV[6])
local window = tonumber(ARGV[7])
if group_limit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - window)
  if redis.call('ZCARD', KEYS[4]) >= group_limit then
    local oldest = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
    chat_wait = math.max(chat_wait, tonumber(oldest[2]) + window - now)
  end
end
local defer_after = tonumber(ARGV[13] or '-1')
if take and defer_after >= 0 and chat_wait > defer_after then return -1 end
wait = math.max(wait, chat_wait)
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
if bulk then
  redis.call('SET', KEYS[5], '1', 'PX', math.ceil(tonumber(ARGV[10]) / 1000))
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
        self._reserve = round(chat * limits.urgent_reserve * _MICRO)  # a chat's burst kept for urgent

    def _keys(self, chat_id: int) -> list[str]:
        p = self._prefix
        return [f"{p}:pause", f"{p}:all", f"{p}:c:{chat_id}", f"{p}:g:{chat_id}", f"{p}:bulk"]

    def _args(self, mode: str, chat_id: int, lane: Lane, bulk: bool = False) -> list[Any]:
        group_limit = self.limits.per_group_per_minute if chat_id < 0 else 0
        return [
            mode,
            *self._pace_args,
            group_limit,
            round(GROUP_WINDOW * _MICRO),
            uuid.uuid4().hex,
            lane.name.lower(),
            round(BULK_WINDOW * _MICRO),
            self._reserve,
            "1" if bulk else "0",
        ]

    async def _try_take(
        self, chat_id: int, lane: Lane, bulk: bool, defer_after: float | None = None
    ) -> float | None:
        """One check-and-take by every replica's count (the lanes' order in this process: the parent)."""
        try:
            args = self._args("take", chat_id, lane, bulk)
            if defer_after is not None:
                args.append(round(defer_after * _MICRO))
            wait = int(await self._acquire_script(self._keys(chat_id), args))
        except Exception as error:  # Redis down: keep sending at this process's own pace
            self._lost(error)
            return await super()._try_take(chat_id, lane, bulk, defer_after)
        self._back()
        return None if wait < 0 else wait / _MICRO

    async def chat_delay(self, chat_id: int, lane: Lane = Lane.REPLY) -> float:
        try:
            wait = int(await self._acquire_script(self._keys(chat_id), self._args("peek", chat_id, lane)))
        except Exception as error:
            self._lost(error)
            return await super().chat_delay(chat_id, lane)
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
