"""October 2026 (tests/unit/statistics/scenario.py) stored in SQLite and PostgreSQL: the roll-up, the report,
the monthly workbook (opened with openpyxl) and the CSV export give the hand-computed figures."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from PIL import Image
from sqlalchemy import func, select, update

from handlers.community.model import Resident
from handlers.context import Context
from handlers.errors import NotAuthorised
from handlers.messages import AttachmentKind, Incoming, Reply
from handlers.statistics import texts as stexts
from handlers.statistics.exports import day_range, export_orders_csv, write_monthly_workbook
from handlers.statistics.metrics import Counters, total
from handlers.statistics.periods import Period, month_bounds, trend
from handlers.statistics.ports import DayRow, OrderFilter
from handlers.statistics.registry import FEATURE
from handlers.statistics.report import Report, build_report
from handlers.statistics.rollup import roll_up
from nlp.categories import SHIPPED
from storage.models import BroadcastDeliveryRow, BroadcastRow, BroadcastRunRow, CheckinRow
from storage.models.statistics import StatsMonthRow, StatsMonthState
from storage.repositories.statistics import lines as statistics_lines
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClock, KeywordClassifier
from tests.unit.statistics import scenario
from tests.unit.statistics.scenario import ZONE, assert_figures, at


@dataclass
class October:
    cast: scenario.Cast
    built: scenario.Built
    names: dict[str, str]  # "A" -> 李娜


async def _cast(uow_factory: SqlUnitOfWorkFactory) -> tuple[scenario.Cast, dict[str, str]]:
    async with uow_factory() as uow:
        community = uow.community
        c1, c2 = await community.compound_by_name("兴泰小区"), await community.compound_by_name("阳光上城")
        assert c1 is not None
        assert c2 is not None
        grids = {g.name: g.id for g in await community.grids()}
        people = {p.name: p.id for p in await community.people()}
        building = (await community.buildings(c1.id))[0]
        residents = []
        for n in range(3):
            saved = await uow.residents.save(
                Resident(None, 880000 + n, f"居民{n}", consented_at=at(9, 1, 9), building_id=building.id)
            )
            assert saved.id is not None
            residents.append(saved.id)
        await uow.commit()
    cast = scenario.Cast(
        r1=residents[0],
        r2=residents[1],
        r3=residents[2],
        c1=c1.id,
        c2=c2.id,
        g1=grids["第一网格"],
        g2=grids["第三网格"],
        a=people["李娜"],
        b=people["张伟"],
        c=people["杨洋"],
        d=people["孙志强"],
        staff=people["刘书记"],
    )
    return cast, {"A": "李娜", "B": "张伟", "C": "杨洋", "D": "孙志强", "G1": "第一网格", "G2": "第三网格"}


async def _store(uow_factory: SqlUnitOfWorkFactory) -> October:
    cast, names = await _cast(uow_factory)
    built = scenario.build(cast)
    async with uow_factory() as uow:
        for name in sorted(built.orders):
            order = built.orders[name]
            order.new_events = list(built.history[name])
            await uow.orders.add(order)
        session = uow.session
        session.add_all(
            [
                CheckinRow(
                    resident_id=cast.r1,
                    day=date(2026, 10, 12),
                    asked_at=at(10, 12, 9),
                    answered_at=at(10, 12, 9, 30),
                    answer="fine",
                ),
                CheckinRow(resident_id=cast.r2, day=date(2026, 10, 12), asked_at=at(10, 12, 9)),
            ]
        )
        broadcast = BroadcastRow(
            title="防诈提醒",
            text="…",
            topic="anti_fraud",
            audience={},
            schedule={},
            status="done",
            created_at=at(10, 14, 9),
        )
        session.add(broadcast)
        await session.flush()
        run = BroadcastRunRow(
            broadcast_id=broadcast.id, fire_at=at(10, 15, 10), text="…", total=5, created_at=at(10, 15, 10)
        )
        session.add(run)
        await session.flush()
        statuses = ["sent", "sent", "sent", "unreachable", "cancelled"]  # the cancelled one never counted
        session.add_all(
            [BroadcastDeliveryRow(run_id=run.id, chat_id=9000 + n, status=s) for n, s in enumerate(statuses)]
        )
        await uow.commit()
    return October(cast, built, names)


async def _report(uow_factory: SqlUnitOfWorkFactory, clock: FakeClock) -> Report:
    first, last = month_bounds("2026-10")
    async with uow_factory() as uow:
        return await build_report(uow, first, last, clock.now(), categories=SHIPPED)


async def _rate_late(uow_factory: SqlUnitOfWorkFactory, october: October) -> None:
    async with uow_factory() as uow:
        order = await uow.orders.get(october.built.orders["O4"].id or 0)
        assert order is not None
        scenario.rate_late(order)
        await uow.orders.save(order)
        await uow.commit()


@pytest.fixture
async def october(uow_factory: SqlUnitOfWorkFactory, clock: FakeClock) -> October:
    world = await _store(uow_factory)
    clock.current = scenario.BEFORE_LATE_RATING
    await roll_up(uow_factory, clock, max_days=None)
    return world


async def test_every_october_figure_on_the_database(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, october: October
) -> None:
    before = await _report(uow_factory, clock)
    assert_figures(before.total, scenario.BEFORE_LATE_RATING_FIGURES)
    await _rate_late(uow_factory, october)
    clock.current = scenario.REPORT_TIME
    result = await roll_up(uow_factory, clock, max_days=None)
    assert result.recomputed == 7  # O4's five days, yesterday and today; not the month
    report = await _report(uow_factory, clock)
    assert_figures(report.total, scenario.OCTOBER)
    assert_figures(report.total, scenario.OCTOBER_RATES)
    members = {a.name: a for a in report.members}
    for key, expected in scenario.MEMBERS.items():
        assert_figures(members[october.names[key]].counters, expected)
        assert members[october.names[key]].score == pytest.approx(expected["score"]), key
    grids = {a.name: a for a in report.grids}
    for key, expected in scenario.GRIDS.items():
        assert_figures(grids[october.names[key]].counters, expected)
        assert grids[october.names[key]].score == pytest.approx(expected["score"]), key
    number = {o.number: name for name, o in october.built.orders.items()}
    assert {(number[line.number], line.stage) for line in report.late} == scenario.LATE
    assert [number[line.number] for line in report.open_overdue] == ["O7"]
    assert [(number[line.number], line.comment) for line in report.dissatisfied] == [("O2", scenario.COMMENT)]
    async with uow_factory() as uow:
        rows = await uow.statistics.rows(date(2026, 10, 1), date(2026, 10, 31), ["all"])
    days = dict(trend(rows, Period.DAY))
    assert_figures(days[date(2026, 10, 13)], scenario.OCT_13)
    weeks = dict(trend(rows, Period.WEEK))
    assert weeks[date(2026, 10, 12)].new == 2
    assert weeks[date(2026, 10, 19)].new == 3


async def test_the_monthly_workbook_holds_the_figures_and_escapes_formulas(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, october: October, tmp_path: Path
) -> None:
    await _rate_late(uow_factory, october)
    clock.current = scenario.REPORT_TIME
    await roll_up(uow_factory, clock, max_days=None)
    path = tmp_path / "2026-10.xlsx"
    async with uow_factory() as uow:
        await write_monthly_workbook(uow, "2026-10", clock.now(), path, categories=SHIPPED)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["汇总", "按类别", "按小区", "按网格", "按网格员", "超期工单", "不满意评价"]
    summary = {row[0]: row[1] for row in book["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["统计期间"] == "2026年10月"
    assert summary["新增"] == 6
    assert summary["办结"] == 6
    assert summary["督办"] == 1
    assert summary["按时签收率"] == pytest.approx(0.6)
    assert summary["按时办结率"] == pytest.approx(0.8)
    assert summary["满意率"] == pytest.approx(0.8)
    assert summary["一次办结率"] == pytest.approx(1 / 3)
    assert summary["重复投诉率"] == pytest.approx(0.5)
    assert summary["签收用时中位数(分钟)"] == 30
    assert summary["办结用时P90(小时)"] == pytest.approx(round(14800 / 60, 1))
    assert summary["平安问候覆盖率"] == pytest.approx(0.5)
    assert summary["广播送达率"] == pytest.approx(0.75)
    assert summary["当前超期未办"] == 1
    rate_cell = next(row[1] for row in book["汇总"].iter_rows(min_row=2) if row[0].value == "按时签收率")
    assert rate_cell.number_format == "0.0%"  # a number staff can compute with, shown as a percentage
    members = {row[0]: row for row in book["按网格员"].iter_rows(min_row=2, values_only=True)}
    header = [c.value for c in book["按网格员"][1]]
    li_na = dict(zip(header, members["李娜"], strict=True))
    assert li_na["得分"] == pytest.approx(round(scenario.MEMBERS["A"]["score"], 1))  # type: ignore[arg-type]
    assert li_na["应签收"] == 3
    assert li_na["按时签收"] == 2
    assert li_na["参评"] == 4
    assert members["杨洋"][1] == "—"  # nothing to score
    categories = {row[0]: row for row in book["按类别"].iter_rows(min_row=2, values_only=True)}
    assert categories["维修报修"][1] == 3  # new: O2, O4, O5
    overdue = list(book["超期工单"].iter_rows(min_row=2, values_only=True))
    numbers = {o.number: name for name, o in october.built.orders.items()}
    assert sorted(numbers[row[0]] for row in overdue) == ["O2", "O3", "O4", "O7"]
    sheet = book["不满意评价"]
    assert sheet.max_row == 2
    comment = sheet.cell(row=2, column=9)
    assert comment.value == scenario.COMMENT  # shown as typed, as text, never computed
    assert comment.data_type == "s"
    assert comment.quotePrefix


async def test_the_order_export_has_every_timestamp_and_escapes_formulas(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, october: October, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statistics_lines, "_PAGE", 3)  # two pages: the keyset continues where a page ended
    start, end = day_range(date(2026, 10, 1), date(2026, 10, 31), ZONE)
    stream = io.StringIO()
    async with uow_factory() as uow:
        count = await export_orders_csv(
            uow, OrderFilter(start, end, grid_id=october.cast.g1), stream, ZONE, categories=SHIPPED
        )
    rows = list(csv.DictReader(io.StringIO(stream.getvalue())))
    assert count == len(rows) == 4  # O2..O5: the first grid's October orders (O1 was reported in September)
    by_number = {r["工单号"]: r for r in rows}
    o2 = by_number[october.built.orders["O2"].number]
    assert (o2["上报时间"], o2["签收时间"], o2["办结时间"], o2["完成时间"]) == (
        "2026-10-12 09:00",
        "2026-10-12 09:30",
        "2026-10-15 12:00",
        "2026-10-15 13:00",
    )
    assert o2["应签收时间"] == "2026-10-13 16:00"  # the reopened cycle's due time
    o5 = by_number[october.built.orders["O5"].number]
    assert o5["居民诉求"] == "'=楼道堆物，电话 139****5678"
    assert o5["撤销时间"] == "2026-10-21 11:00"


async def _replies(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, who: str, command: str, args: str
) -> list[Reply]:
    async with uow_factory() as uow:
        person = next(p for p in await uow.community.people() if p.name == who)
        incoming = Incoming(chat_id=person.chat_id, sender_id=person.chat_id, text=f"/{command} {args}")
        ctx = Context(uow, clock, KeywordClassifier({}), incoming, person, None)
        await FEATURE.commands[command](ctx, args)
        return ctx.replies


async def _say(uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, who: str, command: str, args: str) -> str:
    return "\n".join(reply.text for reply in await _replies(uow_factory, clock, who, command, args))


async def test_stats_and_report_in_chat_for_staff_and_a_grid_leader(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, october: October
) -> None:
    await _rate_late(uow_factory, october)
    clock.current = scenario.REPORT_TIME
    await roll_up(uow_factory, clock, max_days=None)
    staff = await _say(uow_factory, clock, "刘书记", "report", "2026-10")
    assert "2026年10月工作报告" in staff
    assert "按时签收率 60.0%｜按时办结率 80.0%" in staff
    assert "满意率 80.0%（参评率 83.3%）｜一次办结率 33.3%" in staff
    assert "• 第一网格：新增 4" in staff
    assert "• 李娜：69.6 分" in staff
    leader = await _say(uow_factory, clock, "孙志强", "report", "2026-10")
    assert "第三网格工作报告" in leader
    assert "新增 2｜" in leader
    assert "李娜" not in leader
    assert "• 孙志强：100.0 分" in leader
    stats = await _say(uow_factory, clock, "刘书记", "stats", "40")  # Sep 27 .. Nov 5
    assert "近 40 天" in stats
    assert "按网格：" in stats
    assert await _say(uow_factory, clock, "刘书记", "report", "2026-1") == stexts.BAD_MONTH
    with pytest.raises(NotAuthorised):
        await _say(uow_factory, clock, "李娜", "stats", "")


async def test_staff_receive_the_workbook_and_stats_come_with_a_chart(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, october: October
) -> None:
    await _rate_late(uow_factory, october)
    clock.current = scenario.REPORT_TIME
    await roll_up(uow_factory, clock, max_days=None)
    staff = await _replies(uow_factory, clock, "刘书记", "report", "2026-10")
    files = [r.attachment for r in staff if r.attachment is not None]
    assert len(files) == 1
    assert files[0].kind is AttachmentKind.DOCUMENT
    assert files[0].filename == "月报_2026-10.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(files[0].data), read_only=True)
    summary = {row[0]: row[1] for row in book["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["新增"] == 6  # the figures of the hand-computed October
    assert summary["满意率"] == pytest.approx(4 / 5)  # with the late rating
    leader = await _replies(uow_factory, clock, "孙志强", "report", "2026-10")
    assert all(r.attachment is None for r in leader)  # the workbook covers the community: staff only

    charts = {}
    for who in ("刘书记", "孙志强"):
        replies = await _replies(uow_factory, clock, who, "stats", "40")
        photos = [r.attachment for r in replies if r.attachment is not None]
        assert len(photos) == 1
        assert photos[0].kind is AttachmentKind.PHOTO
        assert replies[-1].attachment is None  # the figures in words come last
        image = Image.open(io.BytesIO(photos[0].data))
        assert image.format == "PNG"
        assert image.size == (1280, 520)
        charts[who] = photos[0].data
    assert charts["刘书记"] != charts["孙志强"]  # the leader's chart draws their grid only


def _by_key(rows: list[DayRow]) -> dict[tuple[str, str], Counters]:
    return {(r.dimension, r.key): r.counters for r in rows}


async def test_a_whole_month_reads_its_month_rows_and_never_a_stale_one(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, october: October
) -> None:
    await _rate_late(uow_factory, october)
    clock.current = scenario.REPORT_TIME
    await roll_up(uow_factory, clock, max_days=None)  # O4's days recomputed, then October rebuilt
    first, last = month_bounds("2026-10")
    dims = ("all", "category", "compound", "grid", "assignee", "compound_category")
    async with uow_factory() as uow:
        summed = _by_key(await uow.statistics.totals(first, last, dims, dims))
        spans_two_months = _by_key(await uow.statistics.totals(first, date(2026, 11, 3), ["all"], ["all"]))
        by_day = {
            k: total([r.counters for r in rows])
            for k, rows in _group(await uow.statistics.rows(first, last, dims)).items()
        }
        built = await uow.session.scalar(select(StatsMonthState.built).where(StatsMonthState.month == first))
        month_rows = await uow.session.scalar(
            select(func.count()).where(StatsMonthRow.month == first, StatsMonthRow.dimension.in_(dims))
        )
    assert built is True
    assert month_rows == len(by_day)
    assert summed.keys() == by_day.keys()
    for key, counters in by_day.items():  # every counter and both histograms, every slice
        assert summed[key] == counters, key
    assert_figures(summed[("all", "")], scenario.OCTOBER)
    assert spans_two_months[("all", "")].new >= summed[("all", "")].new

    async with (
        uow_factory() as uow
    ):  # proof the month row is what is read: change it behind the roll-up's back
        await uow.session.execute(
            update(StatsMonthRow)
            .where(StatsMonthRow.month == first, StatsMonthRow.dimension == "all")
            .values(new=StatsMonthRow.new + 100)
        )
        await uow.commit()
    async with uow_factory() as uow:
        tampered = _by_key(await uow.statistics.totals(first, last, ["all"], ["all"]))
    assert tampered[("all", "")].new == summed[("all", "")].new + 100

    async with uow_factory() as uow:  # a day of October recomputed (here: emptied) and not yet rebuilt
        await uow.statistics.replace_day(date(2026, 10, 13), [], [])
        await uow.commit()
    async with uow_factory() as uow:
        after = _by_key(await uow.statistics.totals(first, last, ["all"], ["all"]))
    assert (
        after[("all", "")].new == summed[("all", "")].new - scenario.OCT_13["new"]
    )  # the days, not the stale month


def _group(rows: list[DayRow]) -> dict[tuple[str, str], list[DayRow]]:
    groups: dict[tuple[str, str], list[DayRow]] = {}
    for row in rows:
        groups.setdefault((row.dimension, row.key), []).append(row)
    return groups
