"""Fire times: once, crontab, seasonal windows — computed against a fake clock, in the community's zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from handlers.broadcasts.model import BroadcastRefused, Schedule, ScheduleKind
from handlers.broadcasts.schedules import in_season, next_fire, upcoming
from tests.fakes import FakeClock

SH = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


def test_once_fires_at_its_time_and_then_never() -> None:
    clock = FakeClock(local(2026, 11, 30, 8, 0))
    schedule = Schedule(ScheduleKind.ONCE, at=local(2026, 12, 1, 9, 0))
    assert next_fire(schedule, clock.now()) == local(2026, 12, 1, 9, 0)
    clock.advance(days=1, hours=1)
    assert next_fire(schedule, clock.now()) is None


def test_weekly_cron_in_local_time() -> None:
    clock = FakeClock(local(2026, 11, 30, 10, 0))  # a Monday, after 9:00
    schedule = Schedule(ScheduleKind.CRON, cron="0 9 * * 1")
    fire = next_fire(schedule, clock.now())
    assert fire == local(2026, 12, 7, 9, 0)
    assert upcoming(schedule, clock.now(), 3) == [local(2026, 12, d, 9, 0) for d in (7, 14, 21)]


def test_crontab_weekdays_use_standard_numbering() -> None:
    # APScheduler 3 counts Monday as 0; crontab (and staff) count Sunday as 0 and Monday as 1.
    sunday = Schedule(ScheduleKind.CRON, cron="0 9 * * 0")
    weekdays = Schedule(ScheduleKind.CRON, cron="30 8 * * 1-5")
    assert next_fire(sunday, local(2026, 11, 30, 10, 0)) == local(2026, 12, 6, 9, 0)
    assert [f.weekday() for f in upcoming(weekdays, local(2026, 11, 28, 0, 0), 5)] == [0, 1, 2, 3, 4]


def test_next_fire_is_strictly_after_now() -> None:
    schedule = Schedule(ScheduleKind.CRON, cron="0 9 * * 1")
    assert next_fire(schedule, local(2026, 12, 7, 9, 0)) == local(2026, 12, 14, 9, 0)


def test_seasonal_window_skips_to_spring_and_stops_after_may() -> None:
    schedule = Schedule(ScheduleKind.CRON, cron="0 9 * * 1", season=("03-01", "05-31"))
    clock = FakeClock(local(2026, 12, 1, 0, 0))
    first = next_fire(schedule, clock.now())
    assert first == local(2027, 3, 1, 9, 0)  # 2027-03-01 is a Monday
    assert next_fire(schedule, local(2027, 5, 24, 10, 0)) == local(2027, 5, 31, 9, 0)  # bounds included
    assert next_fire(schedule, local(2027, 5, 31, 10, 0)) == local(2028, 3, 6, 9, 0)  # next spring
    fires = upcoming(schedule, local(2027, 2, 27, 0, 0), 14)
    assert all(in_season(f.astimezone(SH), ("03-01", "05-31")) for f in fires)
    assert {f.month for f in fires} == {3, 4, 5}


def test_season_may_wrap_the_new_year() -> None:
    assert in_season(local(2027, 1, 10, 0, 0), ("11-15", "02-28"))
    assert not in_season(local(2027, 3, 10, 0, 0), ("11-15", "02-28"))


def test_until_ends_a_recurring_schedule() -> None:
    schedule = Schedule(ScheduleKind.CRON, cron="0 9 * * *", until=local(2026, 12, 2, 12, 0))
    assert upcoming(schedule, local(2026, 11, 30, 10, 0), 5) == [
        local(2026, 12, 1, 9, 0),
        local(2026, 12, 2, 9, 0),
    ]


def test_a_planner_that_was_down_does_not_replay_missed_fires() -> None:
    schedule = Schedule(ScheduleKind.CRON, cron="0 9 * * *")
    clock = FakeClock(local(2026, 12, 1, 9, 0))
    clock.advance(days=5, hours=3)
    assert next_fire(schedule, clock.now()) == local(2026, 12, 7, 9, 0)


@pytest.mark.parametrize(
    "schedule",
    [
        Schedule(ScheduleKind.CRON, cron="61 9 * * *"),
        Schedule(ScheduleKind.CRON, cron="every monday"),
        Schedule(ScheduleKind.CRON, cron="0 9 * * 1", season=("13-01", "05-31")),
        Schedule(ScheduleKind.ONCE, at=datetime(2026, 12, 1, 9, 0)),  # noqa: DTZ001 - naive on purpose
    ],
)
def test_bad_schedules_are_refused(schedule: Schedule) -> None:
    with pytest.raises(BroadcastRefused):
        next_fire(schedule, local(2026, 11, 30, 0, 0))


def test_minutely_cron_out_of_season_is_fast() -> None:
    schedule = Schedule(ScheduleKind.CRON, cron="* * * * *", season=("03-01", "03-02"))
    fire = next_fire(schedule, local(2026, 3, 3, 0, 0))
    assert fire == local(2027, 3, 1, 0, 0)
    assert fire - local(2026, 3, 3, 0, 0) > timedelta(days=300)
