"""Fire times of broadcast schedules: once, crontab, crontab within a yearly window.

APScheduler's CronTrigger does the calendar arithmetic. It is pure computation (no scheduler, no I/O,
no framework), so the core may use it; the Ticker in bot/ only provides the tick that reads the result.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from handlers.broadcasts.model import BroadcastRefused, Schedule, ScheduleKind

# A seasonal window may leave a crontab without fire times for most of a year; look this far ahead.
_HORIZON = timedelta(days=3 * 366)


_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _standard_weekdays(field: str) -> str:
    """Crontab day-of-week (0 or 7 = Sunday, 1 = Monday) as day names.

    APScheduler 3's `from_crontab` passes the field through unchanged, and its own numbering starts at
    Monday = 0, so "0 9 * * 1" would fire on Tuesdays. Names mean the same to both.
    """
    if field == "*" or not any(ch.isdigit() for ch in field):
        return field
    days: set[int] = set()
    for item in field.split(","):
        span, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            low, high = span.split("-", 1)
            first, last = int(low), int(high)
        else:
            first = last = int(span)
            if step_text:
                last = 6
        if not (0 <= first <= 7 and 0 <= last <= 7 and first <= last and step > 0):
            raise ValueError(f"bad day of week {field!r}")
        days.update(day % 7 for day in range(first, last + 1, step))
    return ",".join(_DAY_NAMES[day] for day in sorted(days))


def _trigger(schedule: Schedule) -> CronTrigger:
    assert schedule.cron is not None
    try:
        fields = schedule.cron.split()
        if len(fields) != 5:
            raise ValueError(f"a crontab has 5 fields, got {len(fields)}")
        fields[4] = _standard_weekdays(fields[4])
        return CronTrigger.from_crontab(" ".join(fields), timezone=ZoneInfo(schedule.timezone))
    except (ValueError, ZoneInfoNotFoundError) as error:
        raise BroadcastRefused("bad_schedule", str(error)) from error


def _month_day(value: str) -> tuple[int, int]:
    try:
        month, day = (int(part) for part in value.split("-"))
    except ValueError as error:
        raise BroadcastRefused("bad_schedule", f"season bound {value!r} is not MM-DD") from error
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise BroadcastRefused("bad_schedule", f"season bound {value!r} is not MM-DD")
    return month, day


def in_season(moment: datetime, season: tuple[str, str]) -> bool:
    """Whether `moment` (local time) falls inside the yearly window, bounds included."""
    start, end = _month_day(season[0]), _month_day(season[1])
    here = (moment.month, moment.day)
    if start <= end:
        return start <= here <= end
    return here >= start or here <= end  # the window wraps the new year


def validate(schedule: Schedule) -> None:
    """Raise BroadcastRefused if the schedule cannot be computed."""
    if schedule.kind is ScheduleKind.ONCE:
        if schedule.at is None or schedule.at.tzinfo is None:
            raise BroadcastRefused("bad_schedule", "a one-off broadcast needs a time with a zone")
        return
    if not schedule.cron:
        raise BroadcastRefused("bad_schedule", "a recurring broadcast needs a crontab")
    _trigger(schedule)
    if schedule.season is not None:
        _month_day(schedule.season[0])
        _month_day(schedule.season[1])


def next_fire(schedule: Schedule, after: datetime) -> datetime | None:
    """The first fire time strictly after `after`, or None when the schedule has no more.

    Missed fire times are not replayed: the caller passes "now", so a planner that was down for a week
    sends a weekly reminder once, not seven times.
    """
    validate(schedule)
    if schedule.kind is ScheduleKind.ONCE:
        assert schedule.at is not None
        return schedule.at if schedule.at > after else None
    trigger = _trigger(schedule)
    zone = ZoneInfo(schedule.timezone)
    previous: datetime | None = None
    moment = after.astimezone(zone)
    limit = after + _HORIZON
    while True:
        # CronTrigger fires at or after `now`; ask from one microsecond later for "strictly after".
        fire = trigger.get_next_fire_time(previous, moment + timedelta(microseconds=1))
        if fire is None or fire > limit:
            return None
        if schedule.until is not None and fire > schedule.until:
            return None
        local = fire.astimezone(zone)
        if schedule.season is None or in_season(local, schedule.season):
            return fire
        # Out of season: jump to the window's next opening instead of walking every fire time to it.
        previous, moment = None, _season_start_after(local, schedule.season) - timedelta(microseconds=1)


def _season_start_after(moment: datetime, season: tuple[str, str]) -> datetime:
    month, day = _month_day(season[0])
    for year in (moment.year, moment.year + 1):
        try:
            start = moment.replace(year=year, month=month, day=day, hour=0, minute=0, second=0, microsecond=0)
        except ValueError:  # 02-29 in a common year
            continue
        if start > moment:
            return start
    return moment.replace(
        year=moment.year + 4, month=month, day=day, hour=0, minute=0, second=0, microsecond=0
    )


def upcoming(schedule: Schedule, after: datetime, count: int = 3) -> list[datetime]:
    """The next `count` fire times (for previews)."""
    found: list[datetime] = []
    moment = after
    while len(found) < count and (fire := next_fire(schedule, moment)) is not None:
        found.append(fire)
        moment = fire
    return found
