"""APScheduler only ticks: what is due (SLA steps, check-ins, broadcasts) lives in the database.

Each job is a coroutine that claims due rows in a transaction and acts on them, so a restart loses nothing,
a second replica repeats nothing, and ticks missed while the process was down are caught up by the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Tick:
    name: str
    job: Job
    every_seconds: float = 30.0


class Ticker:
    def __init__(self, ticks: list[Tick], timezone: str = "Asia/Shanghai") -> None:
        self._ticks = ticks
        self._scheduler = AsyncIOScheduler(timezone=timezone)

    def start(self) -> None:
        """Start ticking; must be called from inside the running event loop."""
        for tick in self._ticks:
            self._scheduler.add_job(
                _guarded(tick),
                IntervalTrigger(seconds=tick.every_seconds),
                id=tick.name,
                max_instances=1,  # a slow tick is never overlapped by the next one
                coalesce=True,  # ticks missed while busy or suspended collapse into one
                misfire_grace_time=None,
            )
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def run_once(self) -> None:
        """Run every job now, in order (start-up catch-up, tests, the console's /tick)."""
        for tick in self._ticks:
            await _guarded(tick)()


def _guarded(tick: Tick) -> Job:
    async def run() -> None:
        try:
            await tick.job()
        except Exception:  # one failing job must not stop the others; the next tick retries
            log.exception("tick %s failed", tick.name)

    return run
