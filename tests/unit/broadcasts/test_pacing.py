"""The sender's even pacing and the progress bar, on fake clocks."""

from __future__ import annotations

from bot.delivery.broadcasts import SteadyPace
from bot.delivery.progress import RateMeter, bar
from handlers.broadcasts.model import RunCounts


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.overshoot = 0.001  # each sleep wakes a millisecond late, as real ones do

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds + self.overshoot


async def test_pace_is_even_and_sleep_overshoot_does_not_slow_it_down() -> None:
    clock = Clock()
    pace = SteadyPace(30 * 0.98, clock=clock, sleep=clock.sleep)  # the sender's default margin
    sends = []
    for _ in range(301):
        await pace.wait()
        sends.append(clock.now)
    assert (len(sends) - 1) / (sends[-1] - sends[0]) > 29.3
    # never more than 30 in any one-second window: no bursts for a sliding-window flood limit
    assert all(sum(1 for t in sends if s <= t < s + 1) <= 30 for s in sends)


async def test_pace_does_not_burst_to_catch_up_after_a_stall() -> None:
    clock = Clock()
    pace = SteadyPace(10, clock=clock, sleep=clock.sleep)
    await pace.wait()
    clock.now += 5  # a slow claim, or a 429 pause
    sends = []
    for _ in range(5):
        await pace.wait()
        sends.append(clock.now)
    gaps = [b - a for a, b in zip(sends, sends[1:], strict=False)]
    assert min(gaps) >= 0.1 * 0.75


def test_progress_bar_shows_counts_rate_and_eta() -> None:
    counts = RunCounts(total=1000, pending=400, sent=590, failed=2, unreachable=8)
    text = bar(counts, 20.0, width=10)
    assert text.startswith("[######....]  60%")
    for part in ("sent 590", "failed 2", "unreachable 8", "remaining 400", "20.0 msg/s", "ETA 0:00:20"):
        assert part in text


def test_rate_meter_smooths_successive_counts() -> None:
    now = [0.0]
    meter = RateMeter(clock=lambda: now[0])
    assert meter.observe(0) is None
    now[0] = 1.0
    assert meter.observe(30) == 30.0
    now[0] = 2.0
    assert meter.observe(40) == 20.0


async def test_a_429_widens_the_spacing_down_to_ninety_percent() -> None:
    clock = Clock()
    clock.overshoot = 0.0
    pace = SteadyPace(10, clock=clock, sleep=clock.sleep)
    for _ in range(50):
        pace.slow_down()
    await pace.wait()
    await pace.wait()
    start = clock.now
    await pace.wait()
    assert abs((clock.now - start) - 1 / 9) < 1e-9
