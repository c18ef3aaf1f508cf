"""The Chinese working-day calendar: the package's answers (holidays, make-up workdays), each day asked once."""

from __future__ import annotations

from datetime import date

import chinese_calendar
import pytest

from bot.schedule.workdays import ChineseWorkCalendar


def test_holidays_and_make_up_days_as_the_package_says() -> None:
    calendar = ChineseWorkCalendar()
    assert not calendar.is_workday(date(2024, 10, 1))  # National Day
    assert calendar.is_workday(date(2024, 10, 12))  # a Saturday worked to make up for it
    assert not calendar.is_workday(date(2024, 10, 13))  # an ordinary Sunday
    assert calendar.is_workday(date(2024, 10, 14))


def test_each_day_is_looked_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[date] = []
    look_up = chinese_calendar.is_workday

    def counting(day: date) -> bool:
        asked.append(day)
        return bool(look_up(day))

    monkeypatch.setattr(chinese_calendar, "is_workday", counting)
    calendar = ChineseWorkCalendar()
    answers = [calendar.is_workday(date(2024, 10, d)) for d in (1, 12, 1, 12, 1)]
    assert answers == [False, True, False, True, False]
    assert asked == [date(2024, 10, 1), date(2024, 10, 12)]
