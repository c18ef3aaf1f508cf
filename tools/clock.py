"""A clock standing still: a reproducible "now" for benchmarks (the core's ``Clock`` port)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

__all__ = ["MONDAY_MORNING", "FixedClock"]

# A working day at 9:00 in the community's time zone: everybody on duty, no quiet hours.
MONDAY_MORNING = datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


class FixedClock:
    """Always answers the same timezone-aware moment."""

    def __init__(self, now: datetime = MONDAY_MORNING) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current
