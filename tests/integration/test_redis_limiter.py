"""The Redis-backed limiter on the real local Redis: two limiter objects stand for two replicas."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.delivery.ratelimit import Limits, RateLimiter
from bot.delivery.redis_limiter import RedisRateLimiter, bot_prefix, make_limiter
from tests.services import require

REDIS_URL = os.environ.get("GRIDBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def _redis_problem() -> str | None:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=1.0)
    try:
        await client.ping()
        return None
    except Exception as error:  # any failure to connect means "not available"
        return f"{type(error).__name__}: {error}"
    finally:
        await client.aclose()


Replicas = Callable[[Limits], tuple[RedisRateLimiter, RedisRateLimiter]]


@pytest.fixture
async def replicas() -> AsyncIterator[Replicas]:
    """Make two limiters sharing one fresh key prefix, as two replicas of one bot would."""
    problem = await _redis_problem()
    require(problem, f"Redis at {REDIS_URL}")
    from redis.asyncio import Redis

    prefix = f"gridbot:test:{uuid.uuid4().hex[:10]}"
    made: list[RedisRateLimiter] = []

    def make(limits: Limits) -> tuple[RedisRateLimiter, RedisRateLimiter]:
        pair = tuple(RedisRateLimiter(Redis.from_url(REDIS_URL), limits, prefix=prefix) for _ in range(2))
        made.extend(pair)
        return pair[0], pair[1]

    yield make
    cleaner = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in cleaner.scan_iter(f"{prefix}:*")]
        if keys:
            await cleaner.delete(*keys)
    finally:
        await cleaner.aclose()
        for limiter in made:
            await limiter.close()


async def _timed(*calls: Awaitable[None]) -> float:
    start = time.monotonic()
    await asyncio.gather(*calls)
    return time.monotonic() - start


async def test_overall_rate_is_shared_by_replicas(replicas: Replicas) -> None:
    a, b = replicas(Limits(overall_per_second=100, per_chat_per_second=100, per_chat_burst=100))
    # 100 may burst, the next 100 need a second at 100/s however they are split between replicas.
    elapsed = await _timed(*(a.acquire(i) for i in range(100)), *(b.acquire(1000 + i) for i in range(100)))
    assert 0.85 <= elapsed < 3.0, elapsed


async def test_one_replica_alone_may_burst(replicas: Replicas) -> None:
    a, _ = replicas(Limits(overall_per_second=100, per_chat_per_second=100, per_chat_burst=100))
    assert await _timed(*(a.acquire(i) for i in range(90))) < 0.5


async def test_per_chat_pace_is_shared(replicas: Replicas) -> None:
    a, b = replicas(Limits(per_chat_per_second=5, per_chat_burst=2, overall_per_second=1000))
    # Burst of 2 for the chat, then one every 0.2 s: the 3rd and 4th wait, whichever replica sends.
    elapsed = await _timed(a.acquire(7), b.acquire(7), a.acquire(7), b.acquire(7))
    assert 0.35 <= elapsed < 1.5, elapsed
    assert await a.chat_delay(8) == 0  # another chat is not held up


async def test_group_minute_limit_is_shared(replicas: Replicas) -> None:
    a, b = replicas(Limits(per_group_per_minute=3, per_chat_per_second=100, per_chat_burst=100))
    group = -1001234567
    await a.acquire(group)
    await b.acquire(group)
    await a.acquire(group)
    assert await b.chat_delay(group) > 59  # the fourth in a minute waits for the first to age out
    assert await b.chat_delay(12345) == 0  # private chats have no minute limit


async def test_a_chat_held_by_the_other_replica_is_deferred_in_one_round_trip(replicas: Replicas) -> None:
    """The sender asks "take, unless this chat must wait longer than 0.5 s" in one script run: a chat
    the other replica filled is refused without counting anything; the overall pace never defers."""
    a, b = replicas(Limits(per_chat_per_second=1, per_chat_burst=1, overall_per_second=1000))
    assert await a.acquire(7, defer_after=0.5) is True
    assert await b.acquire(7, defer_after=0.5) is False  # ~1 s to wait: set aside
    assert 0.5 < await b.chat_delay(7) <= 1.0  # and nothing was counted by the refusal
    assert await b.acquire(8, defer_after=0.5) is True  # another chat goes at once
    group = -1001234567
    c, d = replicas(Limits(per_group_per_minute=1, per_chat_per_second=100, per_chat_burst=100))
    assert await c.acquire(group, defer_after=0.5) is True
    assert await d.acquire(group, defer_after=0.5) is False  # the group's minute is used up


async def test_a_429_in_one_replica_pauses_the_other(replicas: Replicas) -> None:
    a, b = replicas(Limits(overall_per_second=1000))
    a.pause(0.6)
    await asyncio.sleep(0.05)  # the pause is shared in the background
    assert 0.3 < await b.pause_remaining() <= 0.6
    start = time.monotonic()
    await b.acquire(42)
    assert time.monotonic() - start >= 0.4
    # A shorter pause never cuts a longer one short.
    a.pause(5)
    b.pause(0.1)
    await asyncio.sleep(0.05)
    assert await b.pause_remaining() > 4


async def test_keys_expire_when_idle(replicas: Replicas) -> None:
    from redis.asyncio import Redis

    a, _ = replicas(Limits())
    await a.acquire(5)
    await a.acquire(-1005)
    a.pause(1)
    await asyncio.sleep(0.05)
    client = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(f"{a._prefix}:*")]
        ttls = [await client.pttl(key) for key in keys]
    finally:
        await client.aclose()
    assert len(keys) == 5  # pause, overall, chat, group's chat bucket, group log
    assert all(0 < ttl <= 61_000 for ttl in ttls), ttls


async def test_unreachable_redis_falls_back_to_this_process(caplog: pytest.LogCaptureFixture) -> None:
    limiter = make_limiter(Limits(), "redis://127.0.0.1:1/0")  # nothing listens on port 1
    assert isinstance(limiter, RedisRateLimiter)
    try:
        async with asyncio.timeout(10):
            await limiter.acquire(1)
            assert await limiter.chat_delay(1) >= 0
            limiter.pause(0.01)
            assert await limiter.pause_remaining() <= 0.01
    finally:
        await limiter.close()
    assert "pacing this replica on its own" in caplog.text


def test_without_redis_url_the_limiter_is_in_process() -> None:
    limiter = make_limiter(Limits(), None)
    assert type(limiter) is RateLimiter
    assert bot_prefix("123456:secret") == "gridbot:rl:123456"
    assert bot_prefix(None) == "gridbot:rl"
