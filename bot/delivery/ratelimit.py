"""Outgoing pace within Telegram's flood limits; no framework, no I/O besides sleeping.

Telegram's documented limits: about one message per second in a chat (short bursts are tolerated),
20 messages per minute in a group, about 30 messages per second overall. A 429 answer carries
`retry_after`: then *all* sending pauses that long, since the flood control is per bot.

Lanes (issue 17): an emergency's messages go before anything else, within the same limits.
- A lower lane waits while a higher one has a message ready to go (campaigns yield to replies, replies
  to urgent messages and /alert deliveries): priority decides who gets the next send, never how many.
- While a broadcast sends (a bulk send in the last second), every lane takes evenly spaced slots of one
  shared pace, so an alert takes a campaign's slot instead of adding a burst on top of it; otherwise
  replies may burst as before.
- A chat's burst keeps one message in reserve for the urgent lane (when the burst allows three or more),
  so the advice to a resident with a full queue need not wait for that chat's next second.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum

from bot.settings import DeliverySettings

# Evenly spaced slots while a campaign sends: this share of the overall rate, so that a sliding
# one-second window never sees more than the limit (the broadcast sender's own default margin).
PACE_MARGIN = 0.98
# A campaign counts as sending for this long after its last send (Telegram's window is one second).
BULK_WINDOW = 1.0
# A higher-lane message that must wait longer than this for its own chat does not hold the others up.
_PARKED = 0.05
_YIELD = 0.002  # how long a lower lane waits before looking again while a higher one goes first


class Lane(IntEnum):
    """Who goes first when several senders want the next send."""

    BULK = 0  # campaign deliveries (an /alert's deliveries are urgent)
    REPLY = 1  # answers, cards, reminders: what people are waiting for
    URGENT = 2  # emergency advice and alerts, "possible emergency" questions, /alert broadcasts


URGENT_PRIORITY = 100  # handlers.messages.DeliveryPriority.URGENT; broadcasts' PRIORITY_EMERGENCY


def lane_of(priority: int, *, bulk: bool = False) -> Lane:
    """The lane of a queued row: its priority, and whether it belongs to a broadcast."""
    if priority >= URGENT_PRIORITY:
        return Lane.URGENT
    return Lane.BULK if bulk else Lane.REPLY


@dataclass(frozen=True)
class Limits:
    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3  # a reply and its follow-up question need not wait a second
    per_group_per_minute: int = 20
    overall_per_second: float = 30.0

    @property
    def urgent_reserve(self) -> int:
        """Messages of a chat's burst only the urgent lane may use."""
        return 1 if self.per_chat_burst >= 3 else 0


def limits_from(settings: DeliverySettings) -> Limits:
    return Limits(
        per_chat_per_second=settings.per_chat_per_second,
        per_chat_burst=settings.per_chat_burst,
        per_group_per_minute=settings.per_group_per_minute,
        overall_per_second=settings.overall_per_second,
    )


class _Bucket:
    """A token bucket: `rate` tokens a second, at most `burst` saved up."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, now

    def wait_time(self, now: float, keep: float = 0.0) -> float:
        """Seconds until a token can be taken leaving at least `keep` behind."""
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        need = 1 + keep
        return 0.0 if self.tokens >= need else (need - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


class _Waiter:
    """A send waiting for its turn: its lane and when its own chat's limits let it go."""

    def __init__(self, lane: Lane, now: float) -> None:
        self.lane, self.ready_at = lane, now


class RateLimiter:
    """Call `acquire(chat_id, lane)` before each send; `pause(seconds)` after a 429.

    This one counts in this process. With several replicas, `bot.delivery.redis_limiter.RedisRateLimiter` (a
    subclass, chosen when GRIDBOT_REDIS_URL is set) keeps the same accounting in Redis for all of them;
    the lanes' order among this process's senders is kept here in both.
    Senders use the async methods (`acquire` — with `defer_after`, one check-and-take —, `chat_delay` to
    peek, `pause_remaining`), which both implement.
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
        self._waiters: list[_Waiter] = []
        # The shared even pace while a campaign sends: the next slot, and when the campaign last sent.
        self._slot_interval = 1.0 / (self.limits.overall_per_second * PACE_MARGIN)
        self._next_slot = float("-inf")
        self._bulk_at = float("-inf")

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody sends anything for `seconds`."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._clock())

    def chat_wait(self, chat_id: int, lane: Lane = Lane.REPLY) -> float:
        """Seconds until this chat's own limits (not the overall ones) allow a message in `lane`."""
        now = self._clock()
        keep = 0 if lane is Lane.URGENT else self.limits.urgent_reserve
        wait = self._chat(chat_id, now).wait_time(now, keep)
        if chat_id < 0:
            sent = self._groups.get(chat_id, deque())
            while sent and sent[0] <= now - 60:
                sent.popleft()
            if len(sent) >= self.limits.per_group_per_minute:
                wait = max(wait, sent[0] + 60 - now)
        return wait

    async def acquire(
        self, chat_id: int, lane: Lane = Lane.REPLY, *, bulk: bool = False, defer_after: float | None = None
    ) -> bool:
        """Wait until a message to `chat_id` may go out in `lane`, and count it. Groups have negative ids.

        `bulk`: a broadcast delivery (keeps every lane to the even pace while broadcasts send).
        `defer_after`: unless this chat's own limits (not the overall pace) would hold the message longer
        than that many seconds: then nothing is counted and False is returned (the sender sets the chat
        aside). Asked in the same check-and-take, so a shared limiter makes one round trip, not two."""
        waiter = _Waiter(lane, self._clock())
        self._waiters.append(waiter)
        try:
            while True:
                if self._outranked(waiter):
                    await self._sleep(_YIELD)
                    continue
                wait = await self._try_take(chat_id, lane, bulk, defer_after)
                if wait is None:
                    return False
                if wait <= 0:
                    return True
                waiter.ready_at = self._clock() + wait
                await self._sleep(min(wait, _PARKED) if self._waiters_above(lane) else wait)
        finally:
            self._waiters.remove(waiter)

    async def chat_delay(self, chat_id: int, lane: Lane = Lane.REPLY) -> float:
        """Seconds until this chat's own limits allow a message (what `chat_wait` says, shared if Redis)."""
        return self.chat_wait(chat_id, lane)

    async def pause_remaining(self) -> float:
        """Seconds left of a 429 pause."""
        return self.paused_for

    async def close(self) -> None:
        """Release connections (none in-process)."""

    def _outranked(self, me: _Waiter) -> bool:
        """A higher lane has a message ready (or nearly): it takes the next send."""
        horizon = self._clock() + _PARKED
        return any(w.lane > me.lane and w.ready_at <= horizon for w in self._waiters)

    def _waiters_above(self, lane: Lane) -> bool:
        return any(w.lane > lane for w in self._waiters)

    def bulk_active(self, now: float | None = None) -> bool:
        """A campaign sent within the last second: every lane keeps to the even pace."""
        return (self._clock() if now is None else now) - self._bulk_at < BULK_WINDOW

    async def _try_take(
        self, chat_id: int, lane: Lane, bulk: bool, defer_after: float | None = None
    ) -> float | None:
        """Count the send and return 0 if it may go now; else the seconds to wait, or None when the chat's
        own wait is longer than `defer_after` (nothing counted either way)."""
        if defer_after is not None and self.chat_wait(chat_id, lane) > defer_after:
            return None
        now = self._clock()
        wait = self._wait_time(chat_id, lane, bulk, now)
        if wait > 0:
            return wait
        self._overall.take()
        self._chat(chat_id, now).take()
        if chat_id < 0:
            self._groups.setdefault(chat_id, deque()).append(now)
        if bulk or self.bulk_active(now):
            # An even slot: no burst saved up meanwhile, for this lane or the next ones.
            self._next_slot = max(self._next_slot, now - self._slot_interval / 4) + self._slot_interval
            self._overall.tokens = min(self._overall.tokens, 0.0)
        if bulk:
            self._bulk_at = now
        self._forget_idle(now)
        return 0.0

    def _chat(self, chat_id: int, now: float) -> _Bucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            limits = self.limits
            bucket = self._chats[chat_id] = _Bucket(
                limits.per_chat_per_second, max(1, limits.per_chat_burst), now
            )
        return bucket

    def _wait_time(self, chat_id: int, lane: Lane, bulk: bool, now: float) -> float:
        keep = 0 if lane is Lane.URGENT else self.limits.urgent_reserve
        waits = [self._paused_until - now, self._chat(chat_id, now).wait_time(now, keep)]
        overall = self._overall.wait_time(now)  # brings the bucket up to `now` in either case
        waits.append(self._next_slot - now if bulk or self.bulk_active(now) else overall)
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
