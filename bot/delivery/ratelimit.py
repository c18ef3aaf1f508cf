"""Outgoing pace within Telegram's flood limits; no framework, no I/O besides sleeping.

Telegram's documented limits: about one message per second in a chat (short bursts are tolerated),
20 messages per minute in a group, about 30 messages per second overall. A 429 answer carries
`retry_after`: then *all* sending pauses that long, since the flood control is per bot.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3  # a reply and its follow-up question need not wait a second
    per_group_per_minute: int = 20
    overall_per_second: float = 30.0


class _Bucket:
    """A token bucket: `rate` tokens a second, at most `burst` saved up."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, now

    def wait_time(self, now: float) -> float:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


class RateLimiter:
    """Call `acquire(chat_id)` before each send; `pause(seconds)` after a 429.

    This one counts in this process. With several replicas, `bot.delivery.redis_limiter.RedisRateLimiter` (a
    subclass, chosen when GRIDBOT_REDIS_URL is set) keeps the same accounting in Redis for all of them.
    Senders use the async methods (`acquire`, `chat_delay`, `pause_remaining`), which both implement.
    """

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = limits or Limits()
        self._clock, self._sleep = clock, sleep
        now = clock()
        self._overall = _Bucket(self.limits.overall_per_second, max(1.0, self.limits.overall_per_second), now)
        self._chats: dict[int, _Bucket] = {}
        self._groups: dict[int, deque[float]] = {}
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody sends anything for `seconds`."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._clock())

    def chat_wait(self, chat_id: int) -> float:
        """Seconds until this chat's own limits (not the overall ones) allow a message."""
        now = self._clock()
        wait = self._chat(chat_id, now).wait_time(now)
        if chat_id < 0:
            sent = self._groups.get(chat_id, deque())
            while sent and sent[0] <= now - 60:
                sent.popleft()
            if len(sent) >= self.limits.per_group_per_minute:
                wait = max(wait, sent[0] + 60 - now)
        return wait

    async def acquire(self, chat_id: int) -> None:
        """Wait until a message to `chat_id` may go out, and count it. Group chats have negative ids."""
        async with self._lock:  # one waiter at a time keeps the accounting simple and fair (FIFO)
            while (wait := self._wait_time(chat_id)) > 0:
                await self._sleep(wait)
            now = self._clock()
            self._overall.take()
            self._chat(chat_id, now).take()
            if chat_id < 0:
                self._groups.setdefault(chat_id, deque()).append(now)
            self._forget_idle(now)

    async def chat_delay(self, chat_id: int) -> float:
        """Seconds until this chat's own limits allow a message (what `chat_wait` says, shared if Redis)."""
        return self.chat_wait(chat_id)

    async def pause_remaining(self) -> float:
        """Seconds left of a 429 pause."""
        return self.paused_for

    async def close(self) -> None:
        """Release connections (none in-process)."""

    def _chat(self, chat_id: int, now: float) -> _Bucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            limits = self.limits
            bucket = self._chats[chat_id] = _Bucket(
                limits.per_chat_per_second, max(1, limits.per_chat_burst), now
            )
        return bucket

    def _wait_time(self, chat_id: int) -> float:
        now = self._clock()
        waits = [
            self._paused_until - now,
            self._overall.wait_time(now),
            self._chat(chat_id, now).wait_time(now),
        ]
        if chat_id < 0:
            sent = self._groups.setdefault(chat_id, deque())
            while sent and sent[0] <= now - 60:
                sent.popleft()
            if len(sent) >= self.limits.per_group_per_minute:
                waits.append(sent[0] + 60 - now)
        return max(waits)

    def _forget_idle(self, now: float) -> None:
        # Keep memory bounded over a long run: a chat idle long enough has a full bucket anyway.
        if len(self._chats) > 10_000:
            idle = [c for c, b in self._chats.items() if now - b.at > 60]
            for chat_id in idle:
                del self._chats[chat_id]
                self._groups.pop(chat_id, None)
