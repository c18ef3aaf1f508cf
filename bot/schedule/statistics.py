"""The statistics roll-up for the Ticker: recompute the day rows that changed orders touched.

The database keeps what is due (the roll-up's mark and the dirty days), so a restart or a second replica
repeats or loses nothing; each tick recomputes at most `max_days` days (a first run's backfill of a long
history spreads over several ticks, newest days first).
"""

from __future__ import annotations

from bot.schedule.scheduler import Tick
from handlers.ports import Clock, UnitOfWorkFactory
from handlers.statistics.rollup import roll_up


def statistics_tick(
    uow_factory: UnitOfWorkFactory, clock: Clock, every_seconds: float = 300.0, max_days: int = 62
) -> Tick:
    return Tick("statistics-rollup", lambda: roll_up(uow_factory, clock, max_days), every_seconds)
