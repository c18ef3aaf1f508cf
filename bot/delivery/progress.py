"""A text progress bar for `gridbot broadcast status [--watch]`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta

from handlers.broadcasts.model import RunCounts
from storage.queues.broadcasts import Progress, SqlDeliveryQueue


def bar(counts: RunCounts, rate: float | None, width: int = 30) -> str:
    """`[#########.....] 60%  sent 600 · failed 0 · unreachable 3 · remaining 397 · 29.4 msg/s · ETA 0:00:14`"""
    total = max(counts.total, 1)
    filled = round(width * counts.done / total)
    parts = [
        f"[{'#' * filled}{'.' * (width - filled)}] {100 * counts.done // total:3d}%",
        f"sent {counts.sent}",
        f"failed {counts.failed}",
        f"unreachable {counts.unreachable}",
        f"remaining {counts.remaining}",
    ]
    if counts.cancelled:
        parts.append(f"cancelled {counts.cancelled}")
    if rate is not None:
        parts.append(f"{rate:.1f} msg/s")
        if counts.remaining and rate > 0:
            parts.append(f"ETA {timedelta(seconds=round(counts.remaining / rate))}")
    return " · ".join(parts)


class RateMeter:
    """Messages a second over the last observations (smoothed), from successive done counts."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: tuple[float, int] | None = None
        self.rate: float | None = None

    def observe(self, done: int) -> float | None:
        now = self._clock()
        if self._last is not None and now > self._last[0]:
            current = (done - self._last[1]) / (now - self._last[0])
            self.rate = current if self.rate is None else 0.5 * self.rate + 0.5 * current
        self._last = (now, done)
        return self.rate


def line(progress: Progress, rate: float | None) -> str:
    label = f"#{progress.broadcast_id} {progress.title}" if progress.broadcast_id else progress.title
    return f"{label}  {bar(progress.counts, rate)}"


async def watch_progress(
    queue: SqlDeliveryQueue,
    broadcast_id: int | None,
    *,
    watch: bool,
    interval: float,
    echo: Callable[..., object],
) -> Progress:
    """Print the progress once, or redraw it in place every `interval` seconds until nothing remains."""
    meter = RateMeter()
    while True:
        progress = await queue.progress(broadcast_id)
        rate = meter.observe(progress.counts.done)
        if not watch:
            echo(line(progress, rate))
            return progress
        echo("\r" + line(progress, rate), nl=False)
        if progress.counts.remaining == 0:
            echo("")
            return progress
        await asyncio.sleep(interval)
