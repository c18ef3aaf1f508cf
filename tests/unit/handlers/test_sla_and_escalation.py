"""SLA due times, 催办 before them, escalation after them, 督办, and reopened orders."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from handlers import texts
from handlers.community.settings import CommunitySettings
from handlers.core import Core
from handlers.workorders import texts as order_texts
from handlers.workorders.model import EventKind, WorkOrder
from handlers.workorders.sla import WeekdayCalendar, add_working_time
from tests.driver import LEADER_WANG, MEMBER_LI, RESIDENT_ZHANG, STAFF_CHEN, STAFF_LIU, ChatDriver
from tests.fakes import FakeClock, FakeUnitOfWorkFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")


def the_order(uow_factory: FakeUnitOfWorkFactory) -> WorkOrder:
    (order,) = uow_factory.store.orders.values()
    return order


def events(uow_factory: FakeUnitOfWorkFactory) -> list[str]:
    (history,) = uow_factory.store.events.values()
    return [f"{e.kind.value}:{e.note}" if e.kind is EventKind.ESCALATED else e.kind.value for e in history]


class HolidayCalendar:
    """Working days like China's: a holiday on a weekday, a make-up working Saturday."""

    def __init__(self, holidays: set[date], makeup: set[date]) -> None:
        self.holidays, self.makeup = holidays, makeup

    def is_workday(self, day: date) -> bool:
        return day in self.makeup or (day.weekday() < 5 and day not in self.holidays)


class TestWorkingTime:
    settings = CommunitySettings(working_hours=(time(8, 30), time(17, 30)))

    def test_hours_within_one_day(self) -> None:
        start = datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI)  # Monday
        due = add_working_time(start, timedelta(hours=4), self.settings, WeekdayCalendar())
        assert due == datetime(2026, 11, 30, 13, 0, tzinfo=SHANGHAI)

    def test_evening_report_counts_from_next_morning(self) -> None:
        start = datetime(2026, 11, 30, 20, 0, tzinfo=SHANGHAI)
        due = add_working_time(start, timedelta(hours=1), self.settings, WeekdayCalendar())
        assert due == datetime(2026, 12, 1, 9, 30, tzinfo=SHANGHAI)

    def test_days_skip_weekends_and_holidays_and_use_makeup_days(self) -> None:
        friday = datetime(2026, 10, 2, 10, 0, tzinfo=SHANGHAI)
        calendar = HolidayCalendar(holidays={date(2026, 10, 5)}, makeup={date(2026, 10, 10)})
        # 3 working days from Friday 10:00: Fri (7.5h) + Tue + Wed = 27h, ends Thursday 08:30 + 1.5h... exactly:
        due = add_working_time(friday, timedelta(days=3), self.settings, calendar)
        # Friday 10:00-17:30 (7.5h), Monday is a holiday, Tue 9h, Wed 9h, Thu 1.5h -> Thu 10:00
        assert due == datetime(2026, 10, 8, 10, 0, tzinfo=SHANGHAI)
        saturday_makeup = datetime(2026, 10, 9, 17, 0, tzinfo=SHANGHAI)
        assert add_working_time(saturday_makeup, timedelta(hours=1), self.settings, calendar) == datetime(
            2026, 10, 10, 9, 0, tzinfo=SHANGHAI
        )


async def test_due_times_follow_priority_and_working_time(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")  # normal: accept 4h, resolve 5 working days
    order = the_order(uow_factory)
    assert order.accept_due_at == clock.now() + timedelta(hours=4)
    assert order.resolve_due_at == datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI)  # Mon 09:00 + 5 working days


async def test_emergency_runs_on_the_wall_clock(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    clock.current = datetime(2026, 12, 5, 23, 0, tzinfo=SHANGHAI)  # Saturday night
    await driver.text(RESIDENT_ZHANG, "楼道里着火了")
    order = the_order(uow_factory)
    assert order.accept_due_at == clock.now() + timedelta(minutes=10)
    assert order.resolve_due_at == clock.now() + timedelta(hours=8)


async def test_reminder_then_escalation_through_two_levels(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    core = driver.core
    order = the_order(uow_factory)
    assert order.accept_due_at is not None

    clock.advance(hours=2)  # nothing due yet
    assert await core.run_timers() == 0
    clock.advance(hours=1, minutes=1)  # 3h01: a quarter of the 4h left -> 催办
    assert await core.run_timers() == 1
    await driver.deliver_now()
    assert "催办" in driver.last(MEMBER_LI).text
    assert await core.run_timers() == 0  # reminded once only

    clock.current = order.accept_due_at + timedelta(minutes=1)
    assert await core.run_timers() == 1
    await driver.deliver_now()
    assert "已上报网格长" in driver.last(LEADER_WANG).text
    assert "超时未接单" in driver.last(MEMBER_LI).text

    clock.advance(hours=2)  # escalate_every
    assert await core.run_timers() == 1
    await driver.deliver_now()
    to_staff = driver.last(STAFF_LIU)
    assert "已上报社区" in to_staff.text
    assert to_staff.button(order_texts.BTN_SUPERVISE)
    clock.advance(days=3)
    assert await core.run_timers() == 0  # the top of the chain: nothing more
    assert events(uow_factory) == [
        "created",
        "assigned",
        "reminded",
        "escalated:level 1: 接单",
        "escalated:level 2: 接单",
    ]

    await driver.press_button(STAFF_LIU, order_texts.BTN_SUPERVISE)
    assert the_order(uow_factory).supervised
    assert "督办" in driver.last(MEMBER_LI).text
    assert "督办" in driver.last(LEADER_WANG).text
    outcome = await driver.press_button(STAFF_CHEN, order_texts.BTN_SUPERVISE)
    assert outcome.callback_answer == texts.STATE_CHANGED


async def test_acceptance_starts_the_resolution_clock(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    await driver.press_button(MEMBER_LI, order_texts.BTN_ACCEPT)
    order = the_order(uow_factory)
    assert order.next_timer_at is not None
    assert order.resolve_due_at is not None
    assert order.next_timer_at > order.accept_due_at  # type: ignore[operator]
    clock.current = order.resolve_due_at + timedelta(minutes=1)
    await driver.core.run_timers()
    await driver.deliver_now()
    assert "超时未办结" in driver.last(LEADER_WANG).text


async def test_resolved_orders_stop_their_sla_timer(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    await driver.press_button(MEMBER_LI, order_texts.BTN_ACCEPT)
    await driver.press_button(MEMBER_LI, order_texts.BTN_RESOLVE)
    await driver.text(MEMBER_LI, "已修好")
    # From here the timer only waits for the rating (handlers/followups): never 催办 or escalation.
    assert the_order(uow_factory).next_timer_at == clock.now() + timedelta(hours=24)
    for _ in range(30):
        clock.advance(days=1)
        await driver.core.run_timers()
    assert events(uow_factory)[-3:] == ["resolved", "rating_reminded", "closed"]
    assert the_order(uow_factory).next_timer_at is None


async def test_reopen_restarts_the_clock_and_tells_staff(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    await driver.press_button(MEMBER_LI, order_texts.BTN_ACCEPT)
    await driver.press_button(MEMBER_LI, order_texts.BTN_RESOLVE)
    await driver.text(MEMBER_LI, "已修好")
    first_due = the_order(uow_factory).accept_due_at
    clock.advance(days=2)
    await driver.press_button(RESIDENT_ZHANG, "不满意")
    order = the_order(uow_factory)
    assert order.accept_due_at == clock.now() + timedelta(hours=4)
    assert order.accept_due_at != first_due
    assert order.next_timer_at is not None
    assert "不满意" in driver.last(STAFF_LIU).text


async def test_a_restart_between_ticks_loses_and_repeats_nothing(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    order = the_order(uow_factory)
    assert order.accept_due_at is not None
    clock.current = order.accept_due_at + timedelta(hours=5)  # down through the reminder and both levels
    restarted = Core(uow_factory, driver.core._classifier, clock)
    while await restarted.run_timers():
        pass
    await driver.deliver_now()
    # caught up once: no reminder (it is too late to remind), level 1, then level 2 — each once
    assert [e for e in events(uow_factory) if e != "created" and e != "assigned"] == [
        "escalated:level 1: 接单",
        "escalated:level 2: 接单",
    ]
    assert sum("已上报网格长" in t for t in driver.texts(LEADER_WANG)) == 1


@pytest.mark.parametrize("factor", [0.5])
async def test_green_channel_halves_the_limits(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock, factor: float
) -> None:
    await driver.text(STAFF_LIU, f"/ledger_add {RESIDENT_ZHANG} 独居老人 paper")
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    order = the_order(uow_factory)
    assert order.green_channel == "独居老人"
    assert order.priority.value == "high"  # raised from normal
    high = uow_factory.store.settings.sla["high"]
    assert order.accept_due_at == clock.now() + high.accept * factor
    card = driver.last(MEMBER_LI).text
    assert "绿色通道" in card
    assert "独居老人" in card


def test_settings_sla_lookup_prefers_category() -> None:
    settings = replace(CommunitySettings())
    from nlp.types import Category, Priority

    assert settings.sla_for(Category.POLICY, Priority.NORMAL).resolve == timedelta(days=3)
    assert settings.sla_for(Category.REPAIR, Priority.NORMAL).resolve == timedelta(days=5)
    assert settings.sla_for(Category.POLICY, Priority.URGENT).accept == timedelta(minutes=10)
