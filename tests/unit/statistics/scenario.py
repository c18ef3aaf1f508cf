"""A month of orders with hand-computed statistics: October 2026 (National Day holiday Oct 1-7, make-up
workday Saturday Oct 10), working-hours SLAs (08:30-17:30; normal: accept 4 h, resolve 5 working days).

O1  r1 repair  C1/G1  reported Wed Sep 30 16:30 -> A. Accept due Oct 8 11:30 (the holiday!), accepted Oct 8
    10:00 (on time; 11,130 min), resolved Oct 9 15:00 (due Oct 13 16:30; 12,870 min), satisfied, closed:
    一次办结.
O2  r2 repair  C1/G1  Mon Oct 12 09:00 -> A (repeat: O1 same compound + category 12 days before). Accepted
    09:30 (30 min), resolved Oct 13 10:00 (1,500 min), rated 不满意 12:00 -> reopened, due times afresh
    (accept Oct 13 16:00, resolve Oct 20 12:00). Re-accepted Oct 14 09:00 (late; 1,260 min), resolved
    Oct 15 12:00 (on time; 2,880 min), 基本满意, closed.
O3  r3 sanitation C1/G1  Tue Oct 13 10:00 -> A, who returns it 11:00 (退回); staff dispatch to B 11:30;
    B accepts 14:30 (due 14:00: late; 270 min), resolves Oct 14 10:00 (on time; 1,440 min), satisfied.
O4  r2 repair  C1/G1  Tue Oct 20 09:00 -> A (repeat: O2, same resident + category). Accepted 09:10 (10 min);
    escalated Oct 27 09:00, 督办 Oct 28 10:00; resolved Fri Oct 30 17:00 (due Oct 27 09:00: late;
    14,880 min). Rated 满意 only on Nov 3 (the late rating), closed Nov 3.
O5  r1 repair  C1/G1  Wed Oct 21 10:00 -> B (repeat: O4 same compound + category); cancelled 11:00.
O6  r3 parking C2/G2  Thu Oct 22 09:00 -> C; D claims it from the group chat 09:20 and accepts (20 min),
    resolves 15:00 (360 min); never rated.
O7  r1 other   C2/G2  Thu Oct 29 09:00 -> C; never accepted: overdue since 13:00.
Check-ins on Oct 12: 2 asked, 1 answered. A broadcast fired Oct 15: 4 deliveries, 3 sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.community.settings import CommunitySettings
from handlers.workorders.model import (
    Actor,
    EventKind,
    OrderEvent,
    OrderLocation,
    Satisfaction,
    WorkOrder,
)
from handlers.workorders.sla import set_due_times
from nlp.types import Category, Priority

ZONE = ZoneInfo("Asia/Shanghai")
SETTINGS = CommunitySettings(working_time=True)
COMMENT = '=HYPERLINK("http://x.example","点我")还是没修好'
O5_TEXT = "=楼道堆物，电话 13912345678"  # a spreadsheet would read "=..." as a formula; the phone is masked


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ZONE)


class OctoberCalendar:
    """Chinese working days around National Day 2026, written out (no dependency on the holiday package)."""

    HOLIDAYS = frozenset({date(2026, 9, 25), *(date(2026, 10, d) for d in range(1, 8))})
    MAKE_UP = frozenset({date(2026, 10, 10)})

    def is_workday(self, day: date) -> bool:
        if day in self.HOLIDAYS:
            return False
        return day in self.MAKE_UP or day.weekday() < 5


@dataclass(frozen=True)
class Cast:
    r1: int
    r2: int
    r3: int
    c1: int
    c2: int
    g1: int
    g2: int
    a: int
    b: int
    c: int
    d: int
    staff: int


@dataclass
class Built:
    orders: dict[str, WorkOrder]
    history: dict[str, list[OrderEvent]] = field(default_factory=dict)

    def take(self, name: str) -> None:
        """Move the order's new events into its history (what storage would have written)."""
        self.history.setdefault(name, []).extend(self.orders[name].new_events)
        self.orders[name].new_events.clear()


def _order(
    name: str, resident: int, category: Category, compound: int, grid: int, reported: datetime
) -> WorkOrder:
    order = WorkOrder(
        id=None,
        number=f"GD202610-{name}",
        resident_id=resident,
        resident_chat_id=0,
        text=f"{name} 的诉求",
        category=category,
        priority=Priority.NORMAL,
        location=OrderLocation(compound_id=compound),
        created_at=reported,
        grid_id=grid,
    )
    order.open(Actor("resident", resident), reported)
    set_due_times(order, reported, SETTINGS, OctoberCalendar())
    return order


def build(cast: Cast) -> Built:
    """Every order as of Nov 2 (before O4's late rating)."""
    person = lambda pid: Actor("person", pid)  # noqa: E731
    resident = lambda rid: Actor("resident", rid)  # noqa: E731
    o1 = _order("O1", cast.r1, Category.REPAIR, cast.c1, cast.g1, at(9, 30, 16, 30))
    o1.assign(cast.a, Actor.system(), at(9, 30, 16, 30))
    o1.accept(person(cast.a), at(10, 8, 10))
    o1.resolve("已修好", person(cast.a), at(10, 9, 15))
    o1.rate(Satisfaction.SATISFIED, resident(cast.r1), at(10, 9, 16))

    o2 = _order("O2", cast.r2, Category.REPAIR, cast.c1, cast.g1, at(10, 12, 9))
    o2.assign(cast.a, Actor.system(), at(10, 12, 9))
    o2.accept(person(cast.a), at(10, 12, 9, 30))
    o2.resolve("换了灯泡", person(cast.a), at(10, 13, 10))
    o2.rate(Satisfaction.UNSATISFIED, resident(cast.r2), at(10, 13, 12))
    set_due_times(o2, at(10, 13, 12), SETTINGS, OctoberCalendar())  # reopened: the clock starts again
    o2.record(EventKind.RESIDENT_REPLIED, resident(cast.r2), at(10, 13, 12, 5), COMMENT)
    o2.accept(person(cast.a), at(10, 14, 9))
    o2.resolve("换了线路", person(cast.a), at(10, 15, 12))
    o2.rate(Satisfaction.BASICALLY, resident(cast.r2), at(10, 15, 13))

    o3 = _order("O3", cast.r3, Category.SANITATION, cast.c1, cast.g1, at(10, 13, 10))
    o3.assign(cast.a, Actor.system(), at(10, 13, 10))
    o3.return_to_dispatch(person(cast.a), at(10, 13, 11), "退回：不归我管")
    o3.assign(cast.b, person(cast.staff), at(10, 13, 11, 30))
    o3.accept(person(cast.b), at(10, 13, 14, 30))
    o3.resolve("已清运", person(cast.b), at(10, 14, 10))
    o3.rate(Satisfaction.SATISFIED, resident(cast.r3), at(10, 14, 11))

    o4 = _order("O4", cast.r2, Category.REPAIR, cast.c1, cast.g1, at(10, 20, 9))
    o4.assign(cast.a, Actor.system(), at(10, 20, 9))
    o4.accept(person(cast.a), at(10, 20, 9, 10))
    o4.record(EventKind.ESCALATED, Actor.system(), at(10, 27, 9), "level 1: 办结")
    o4.supervised = True
    o4.record(EventKind.SUPERVISED, person(cast.staff), at(10, 28, 10))
    o4.resolve("修好了", person(cast.a), at(10, 30, 17))

    o5 = _order("O5", cast.r1, Category.REPAIR, cast.c1, cast.g1, at(10, 21, 10))
    o5.text = O5_TEXT
    o5.assign(cast.b, Actor.system(), at(10, 21, 10))
    o5.cancel(resident(cast.r1), at(10, 21, 11))

    o6 = _order("O6", cast.r3, Category.PARKING, cast.c2, cast.g2, at(10, 22, 9))
    o6.assign(cast.c, Actor.system(), at(10, 22, 9))
    o6.transfer(cast.d, person(cast.d), at(10, 22, 9, 20))  # claimed from the grid's group chat
    o6.accept(person(cast.d), at(10, 22, 9, 20))
    o6.resolve("已挪车", person(cast.d), at(10, 22, 15))

    o7 = _order("O7", cast.r1, Category.OTHER, cast.c2, cast.g2, at(10, 29, 9))
    o7.assign(cast.c, Actor.system(), at(10, 29, 9))
    built = Built({"O1": o1, "O2": o2, "O3": o3, "O4": o4, "O5": o5, "O6": o6, "O7": o7})
    for name in built.orders:
        built.take(name)
    return built


def rate_late(order: WorkOrder) -> None:
    order.rate(Satisfaction.SATISFIED, Actor("resident", order.resident_id), LATE_RATING_AT)


LATE_RATING_AT = at(11, 3, 10)
BEFORE_LATE_RATING = at(11, 2, 9)
REPORT_TIME = at(11, 5, 9)

# Hand-computed due times (working hours, the holiday skipped, the make-up Saturday counted).
DUE = {
    "O1": (at(10, 8, 11, 30), at(10, 13, 16, 30)),
    "O2": (at(10, 13, 16), at(10, 20, 12)),  # after the reopening
    "O3": (at(10, 13, 14), at(10, 20, 10)),
    "O4": (at(10, 20, 13), at(10, 27, 9)),
}

# October's totals once O4's late rating is in (see the docstring for each order).
OCTOBER = {
    "new": 6,
    "accepted": 6,
    "resolved": 6,
    "closed": 3,
    "cancelled": 1,
    "reopened": 1,
    "returned": 1,
    "transferred": 0,
    "supervised": 1,
    "escalated": 1,
    "accept_judged": 5,
    "accept_on_time": 3,
    "resolve_judged": 5,
    "resolve_on_time": 4,
    "rated": 5,
    "satisfied": 3,
    "basically": 1,
    "unsatisfied": 1,
    "first_time": 1,
    "repeat": 3,
    "checkins_asked": 2,
    "checkins_answered": 1,
    "deliveries": 4,
    "delivered": 3,
}
OCTOBER_RATES = {
    "accept_on_time_rate": 3 / 5,
    "resolve_on_time_rate": 4 / 5,
    "satisfaction_rate": 4 / 5,
    "rating_rate": 5 / 6,
    "first_time_rate": 1 / 3,
    "reopen_rate": 1 / 6,
    "repeat_rate": 3 / 6,
    "checkin_coverage": 1 / 2,
    "broadcast_reach": 3 / 4,
    "accept_median": 30,
    "accept_p90": 11100,  # 11,130 min in its 3-significant-digit bucket
    "resolve_median": 1500,
    "resolve_p90": 14800,  # 14,880 min
}
BEFORE_LATE_RATING_FIGURES = {"rated": 4, "satisfied": 2, "satisfaction_rate": 3 / 4, "rating_rate": 4 / 6}
# 考核 with the default weights 30/35/35 (response = on-time acceptance, resolution = on-time resolution).
MEMBERS = {
    "A": {"accept_judged": 3, "accept_on_time": 2, "resolve_judged": 3, "resolve_on_time": 2, "rated": 4,
          "satisfied": 2, "basically": 1, "new": 3, "reopened": 1, "returned": 1, "closed": 2, "first_time": 1,
          "score": (30 * 2 / 3 + 35 * 2 / 3 + 35 * 3 / 4) * 100 / 100},
    "B": {"accept_judged": 1, "accept_on_time": 0, "resolve_judged": 1, "resolve_on_time": 1, "rated": 1,
          "new": 1, "cancelled": 1, "score": (30 * 0 + 35 * 1 + 35 * 1) * 100 / 100},
    "D": {"accept_judged": 1, "accept_on_time": 1, "resolve_judged": 1, "resolve_on_time": 1, "rated": 0,
          "score": 100.0},  # nobody rated: scored on the other two
    "C": {"new": 2, "accept_judged": 0, "score": None},
}  # fmt: skip
GRIDS = {
    "G1": {"new": 4, "accept_judged": 4, "accept_on_time": 2, "resolve_judged": 4, "resolve_on_time": 3,
           "rated": 5, "score": (30 * 0.5 + 35 * 0.75 + 35 * 0.8) * 100 / 100},
    "G2": {"new": 2, "accept_judged": 1, "resolve_judged": 1, "rated": 0, "score": 100.0},
}  # fmt: skip
LATE = {("O3", "accept"), ("O2", "accept"), ("O4", "resolve")}
# One day in detail: Oct 13 (O3 reported, returned and accepted late; O2 resolved, rated 不满意, reopened).
OCT_13 = {
    "new": 1,
    "accepted": 1,
    "resolved": 1,
    "rated": 1,
    "unsatisfied": 1,
    "reopened": 1,
    "returned": 1,
    "accept_judged": 1,
    "accept_on_time": 0,
    "resolve_judged": 0,
}


def assert_figures(counters: object, expected: dict[str, object]) -> None:
    """Each expected figure (a counter, a rate or a percentile) equals the counters' own; "score" skipped."""
    for name, value in expected.items():
        if name != "score":
            assert getattr(counters, name) == pytest.approx(value), name
