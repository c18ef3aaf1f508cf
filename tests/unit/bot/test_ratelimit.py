"""The outgoing limiter against a fake clock: no real waiting."""

from __future__ import annotations

from bot.delivery.ratelimit import Limits, RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def limiter(limits: Limits, time: FakeTime) -> RateLimiter:
    return RateLimiter(limits, clock=time.clock, sleep=time.sleep)


async def test_one_message_a_second_per_chat_after_a_short_burst() -> None:
    time = FakeTime()
    pace = limiter(Limits(per_chat_per_second=1, per_chat_burst=2, overall_per_second=100), time)
    for _ in range(4):
        await pace.acquire(42)
    assert time.now - 100.0 == 2.0  # two free (burst), then one a second
    await pace.acquire(43)  # another chat is not held up by 42's pace
    assert time.now - 100.0 == 2.0


async def test_twenty_a_minute_in_a_group() -> None:
    time = FakeTime()
    pace = limiter(Limits(per_chat_per_second=100, per_chat_burst=100, overall_per_second=100), time)
    for _ in range(20):
        await pace.acquire(-100123)
    assert pace.chat_wait(-100123) > 59
    await pace.acquire(-100123)
    assert time.now - 100.0 >= 60.0


async def test_overall_limit_and_429_pause_apply_to_every_chat() -> None:
    time = FakeTime()
    pace = limiter(Limits(overall_per_second=2, per_chat_burst=10), time)
    for chat in range(1, 5):
        await pace.acquire(chat)
    assert time.now - 100.0 >= 1.0  # 4 messages at 2 a second (burst 2)
    start = time.now
    pace.pause(5)
    await pace.acquire(99)
    assert time.now - start >= 5.0
