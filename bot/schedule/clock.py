"""Clocks. Work-order numbers and schedules use the community's local time zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


class SystemClock:
    def __init__(self, timezone: str = "Asia/Shanghai") -> None:
        self.zone = ZoneInfo(timezone)

    def now(self) -> datetime:
        return datetime.now(self.zone)


class ConsoleClock:
    """The real clock, moved forward (or set) by the console's /tick and /clock to show timed flows."""

    def __init__(self, base: SystemClock) -> None:
        self._base = base
        self._offset = timedelta()

    def now(self) -> datetime:
        return self._base.now() + self._offset

    def advance(self, delta: timedelta) -> None:
        self._offset += delta

    def set(self, moment: datetime) -> None:
        self._offset = moment.replace(tzinfo=moment.tzinfo or self._base.zone) - self._base.now()
