"""Chinese working days (public holidays and make-up workdays) from the maintained chinesecalendar package."""

from __future__ import annotations

import logging
from datetime import date

import chinese_calendar

from handlers.workorders.sla import WeekdayCalendar

log = logging.getLogger(__name__)


class ChineseWorkCalendar:
    """Official holiday data where the package has it; Monday-Friday beyond (said once in the log).

    The package is updated each year when the State Council publishes the next year's holidays:
    keep it current (`pip install -U chinesecalendar`).
    """

    def __init__(self) -> None:
        self._fallback = WeekdayCalendar()
        self._warned: set[int] = set()
        # Days answered before: an order's due times ask about the same few days again and again, and the
        # package validates and looks each one up anew (~2 % of a report's CPU, issue 16).
        self._days: dict[date, bool] = {}

    def is_workday(self, day: date) -> bool:
        known = self._days.get(day)
        if known is None:
            known = self._days[day] = self._look_up(day)
        return known

    def _look_up(self, day: date) -> bool:
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            if day.year not in self._warned:
                self._warned.add(day.year)
                log.warning(
                    "no Chinese holiday data for %s: counting Monday-Friday as working days", day.year
                )
            return self._fallback.is_workday(day)
