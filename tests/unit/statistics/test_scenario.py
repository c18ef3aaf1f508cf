"""October 2026 on in-memory fakes: every metric against the hand-computed figures of scenario.py."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.community.model import Compound, Grid, Person, Role
from handlers.statistics.assessment import Weights
from handlers.statistics.periods import Period, month_bounds, trend
from handlers.statistics.ports import CheckinCount, DeliveryCount
from handlers.statistics.report import Report, build_report
from handlers.statistics.rollup import roll_up
from nlp.categories import SHIPPED
from tests.fakes import FakeClock
from tests.unit.statistics import scenario
from tests.unit.statistics.fakes import FakeCommunity, FakeStatistics, FakeStatisticsUow

CAST = scenario.Cast(
    r1=1, r2=2, r3=3, c1=10, c2=20, g1=100, g2=200, a=1001, b=1002, c=1003, d=1004, staff=1009
)
NAMES = {"A": CAST.a, "B": CAST.b, "C": CAST.c, "D": CAST.d}


def _community() -> FakeCommunity:
    member = frozenset({Role.GRID_MEMBER})
    return FakeCommunity(
        [Compound(CAST.c1, "兴泰小区"), Compound(CAST.c2, "阳光上城")],
        [Grid(CAST.g1, "第一网格"), Grid(CAST.g2, "第二网格")],
        [
            Person(CAST.a, "A", 1, member, CAST.g1),
            Person(CAST.b, "B", 2, member, CAST.g1),
            Person(CAST.c, "C", 3, member, CAST.g2),
            Person(CAST.d, "D", 4, frozenset({Role.GRID_LEADER}), CAST.g2),
            Person(CAST.staff, "S", 9, frozenset({Role.STAFF})),
        ],
    )


class World:
    def __init__(self) -> None:
        self.built = scenario.build(CAST)
        self.stats = FakeStatistics()
        for number, name in enumerate(sorted(self.built.orders), start=1):
            self.built.orders[name].id = number
        for name, order in self.built.orders.items():
            self.stats.put(order, self.built.history[name])
        self.stats.checkin_counts[date(2026, 10, 12)] = [CheckinCount(CAST.g1, CAST.c1, 2, 1)]
        self.stats.fired.append((scenario.at(10, 15, 10), DeliveryCount(4, 3)))
        self.uow = FakeStatisticsUow(self.stats, _community())
        self.clock = FakeClock(scenario.BEFORE_LATE_RATING)

    async def tick(self) -> None:
        await roll_up(lambda: self.uow, self.clock, max_days=None)  # type: ignore[arg-type, return-value]

    async def october(self) -> Report:
        first, last = month_bounds("2026-10")
        return await build_report(self.uow, first, last, self.clock.now(), categories=SHIPPED)  # type: ignore[arg-type]

    def rate_late(self) -> None:
        order = self.built.orders["O4"]
        scenario.rate_late(order)
        self.built.take("O4")
        self.stats.put(order, self.built.history["O4"])


check = scenario.assert_figures


async def test_due_times_count_working_hours_and_skip_the_holiday() -> None:
    built = scenario.build(CAST)
    for name, (accept_due, resolve_due) in scenario.DUE.items():
        order = built.orders[name]
        assert (order.accept_due_at, order.resolve_due_at) == (accept_due, resolve_due), name


async def test_every_october_figure_matches_the_hand_computed_one() -> None:
    world = World()
    await world.tick()
    world.rate_late()
    world.clock.current = scenario.REPORT_TIME
    await world.tick()
    report = await world.october()
    check(report.total, scenario.OCTOBER)
    check(report.total, scenario.OCTOBER_RATES)
    members = {a.name: a for a in report.members}
    for name, expected in scenario.MEMBERS.items():
        check(members[name].counters, expected)
        assert members[name].score == pytest.approx(expected["score"]), name
    grids = {a.name: a for a in report.grids}
    for name, expected in scenario.GRIDS.items():
        grid = grids["第一网格" if name == "G1" else "第二网格"]
        check(grid.counters, expected)
        assert grid.score == pytest.approx(expected["score"]), name
    assert {(line.number.removeprefix("N"), line.stage) for line in report.late} == {
        (str(sorted(world.built.orders).index(n) + 1), stage) for n, stage in scenario.LATE
    }
    days = {
        d: c
        for d, c in trend(await world.stats.rows(date(2026, 10, 1), date(2026, 10, 31), ["all"]), Period.DAY)
    }
    check(days[date(2026, 10, 13)], scenario.OCT_13)


async def test_a_late_rating_changes_the_day_of_the_resolution_it_judges() -> None:
    world = World()
    await world.tick()
    before = await world.october()
    check(before.total, scenario.BEFORE_LATE_RATING_FIGURES)
    world.stats.recomputed.clear()
    world.rate_late()
    world.clock.current = scenario.REPORT_TIME
    await world.tick()
    # Only the days O4 touched (reported, accepted, escalated, supervised, resolved, rated) and today/yesterday.
    touched = {date(2026, 10, d) for d in (20, 27, 28, 30)} | {
        date(2026, 11, 3),
        date(2026, 11, 4),
        date(2026, 11, 5),
    }
    assert set(world.stats.recomputed) == touched
    after = await world.october()
    assert after.total.rated == before.total.rated + 1
    assert after.total.satisfaction_rate == pytest.approx(4 / 5)


async def test_the_first_tick_backfills_every_day_since_the_first_order() -> None:
    world = World()
    await world.tick()
    assert min(world.stats.recomputed) == date(2026, 9, 30)
    assert len(world.stats.recomputed) == (date(2026, 11, 2) - date(2026, 9, 30)).days + 1
    assert world.stats.dirty == set()


async def test_a_grid_leaders_report_holds_only_their_grid() -> None:
    world = World()
    await world.tick()
    first, last = month_bounds("2026-10")
    report = await build_report(
        world.uow,  # type: ignore[arg-type]
        first,
        last,
        world.clock.now(),
        grid_id=CAST.g2,
        categories=SHIPPED,
    )
    assert report.total.new == 2
    assert {a.name for a in report.members} == {"C", "D"}
    assert [g.name for g in report.grids] == ["第二网格"]
    assert report.late == []  # the three late orders are all in the first grid


async def test_weights_change_the_score_not_the_figures() -> None:
    world = World()
    await world.tick()
    first, last = month_bounds("2026-10")
    report = await build_report(
        world.uow,  # type: ignore[arg-type]
        first,
        last,
        world.clock.now(),
        Weights(100, 0, 0),
        categories=SHIPPED,
    )
    members = {a.name: a for a in report.members}
    assert members["A"].score == pytest.approx(100 * 2 / 3)
    assert members["B"].score == pytest.approx(0.0)
