"""The monthly workbook's sheets and the order export's rows, as plain tables (writers.py writes them).

Sheets: 汇总 (summary), 按类别, 按小区, 按网格 (with the grid 考核), 按网格员 (考核), 超期工单, 不满意评价.
Rates are numbers (0..1, shown as percent) so staff can compute with them; an undefined rate is "—".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from handlers.community.privacy import mask_phones
from handlers.statistics.assessment import Assessment
from handlers.statistics.metrics import Counters
from handlers.statistics.ports import OrderLine
from handlers.statistics.report import Report, Slice


@dataclass(frozen=True)
class Pct:
    """A rate shown as a percentage."""

    value: float


Cell = str | int | float | datetime | Pct | None
MISSING = "—"


@dataclass
class Sheet:
    name: str
    header: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    widths: Sequence[int] = ()


def pct(value: float | None) -> Cell:
    return MISSING if value is None else Pct(value)


def num(value: int | None) -> Cell:
    return MISSING if value is None else value


def hours(minutes: int | None) -> Cell:
    return MISSING if minutes is None else round(minutes / 60, 1)


STATE_LABELS = {
    "new": "待派单",
    "assigned": "已派单",
    "accepted": "处理中",
    "resolved": "已办结待评价",
    "closed": "已完成",
    "cancelled": "已撤销",
}
SATISFACTION_LABELS = {"satisfied": "满意", "basically": "基本满意", "unsatisfied": "不满意"}

BREAKDOWN_HEADER = [
    "新增",
    "签收",
    "办结",
    "已完成",
    "撤销",
    "按时签收率",
    "按时办结率",
    "满意率",
    "参评率",
    "一次办结率",
    "发回重办率",
    "重复投诉率",
    "签收用时中位数(分钟)",
    "签收用时P90(分钟)",
    "办结用时中位数(小时)",
    "办结用时P90(小时)",
    "超期签收",
    "超期办结",
    "督办",
]


def breakdown_cells(c: Counters) -> list[Cell]:
    return [
        c.new,
        c.accepted,
        c.resolved,
        c.closed,
        c.cancelled,
        pct(c.accept_on_time_rate),
        pct(c.resolve_on_time_rate),
        pct(c.satisfaction_rate),
        pct(c.rating_rate),
        pct(c.first_time_rate),
        pct(c.reopen_rate),
        pct(c.repeat_rate),
        num(c.accept_median),
        num(c.accept_p90),
        hours(c.resolve_median),
        hours(c.resolve_p90),
        c.late_accepts,
        c.late_resolves,
        c.supervised,
    ]


def summary_sheet(report: Report) -> Sheet:
    c = report.total
    w = report.weights
    rows: list[list[Cell]] = [
        ["统计期间", report.title],
        ["生成时间", report.generated_at],
        *([name, value] for name, value in zip(BREAKDOWN_HEADER, breakdown_cells(c), strict=True)),
        ["转派", c.transferred],
        ["退回", c.returned],
        ["超时升级", c.escalated],
        ["参评", c.rated],
        ["满意", c.satisfied],
        ["基本满意", c.basically],
        ["不满意", c.unsatisfied],
        ["其中电话回访", c.phone_rated],
        ["未评价（不计入满意率）", c.unrated],
        ["平安问候（问候 / 回应）", f"{c.checkins_asked} / {c.checkins_answered}"],
        ["平安问候覆盖率", pct(c.checkin_coverage)],
        ["广播送达（应送 / 送达）", f"{c.deliveries} / {c.delivered}"],
        ["广播送达率", pct(c.broadcast_reach)],
        ["当前超期未办", len(report.open_overdue)],
        ["考核权重（响应率/解决率/满意率）", f"{w.response:g} / {w.resolution:g} / {w.satisfaction:g}"],
    ]
    return Sheet("汇总", ["指标", "数值"], rows, (30, 22))


def breakdown_sheet(name: str, first_column: str, slices: list[Slice]) -> Sheet:
    rows = [[s.name, *breakdown_cells(s.counters)] for s in slices]
    return Sheet(name, [first_column, *BREAKDOWN_HEADER], rows, (16,))


ASSESSMENT_HEADER = [
    "得分",
    "响应率(按时签收)",
    "解决率(按时办结)",
    "满意率",
    "应签收",
    "按时签收",
    "应办结",
    "按时办结",
    "参评",
    "满意",
    "基本满意",
    "不满意",
    "新增",
    "办结",
    "发回重办",
    "超期签收",
    "超期办结",
]


def assessment_cells(a: Assessment) -> list[Cell]:
    c = a.counters
    return [
        MISSING if a.score is None else round(a.score, 1),
        pct(a.response_rate),
        pct(a.resolution_rate),
        pct(a.satisfaction_rate),
        c.accept_judged,
        c.accept_on_time,
        c.resolve_judged,
        c.resolve_on_time,
        c.rated,
        c.satisfied,
        c.basically,
        c.unsatisfied,
        c.new,
        c.resolved,
        c.reopened,
        c.late_accepts,
        c.late_resolves,
    ]


def assessment_sheet(name: str, first_column: str, table: list[Assessment]) -> Sheet:
    rows = [[a.name, *assessment_cells(a)] for a in table]
    return Sheet(name, [first_column, *ASSESSMENT_HEADER], rows, (14,))


def overdue_sheet(report: Report) -> Sheet:
    header = [
        "工单号",
        "类别",
        "小区",
        "网格",
        "经办人",
        "超期环节",
        "应完成时间",
        "实际完成时间",
        "当前状态",
        "督办",
    ]
    rows: list[list[Cell]] = []
    for line in [*report.late, *report.open_overdue]:
        stage = {"accept": "签收", "resolve": "办结"}.get(line.stage, line.stage)
        rows.append(
            [
                line.number,
                report.category_name(line.category),
                line.compound,
                line.grid,
                line.assignee,
                stage if line.done_at is not None else f"{stage}（未完成）",
                line.due_at,
                line.done_at,
                STATE_LABELS.get(line.state, line.state),
                "是" if line.supervised else "",
            ]
        )
    return Sheet("超期工单", header, rows, (18, 10, 12, 12, 10, 12, 17, 17, 12, 6))


def dissatisfied_sheet(report: Report) -> Sheet:
    header = ["工单号", "评价时间", "类别", "小区", "网格", "经办人", "居民诉求", "办结说明", "居民意见"]
    rows: list[list[Cell]] = [
        [
            line.number,
            line.done_at,
            report.category_name(line.category),
            line.compound,
            line.grid,
            line.assignee,
            mask_phones(line.text),
            mask_phones(line.resolution_note),
            mask_phones(line.comment),
        ]
        for line in report.dissatisfied
    ]
    return Sheet("不满意评价", header, rows, (18, 17, 10, 12, 12, 10, 40, 30, 30))


def monthly_sheets(report: Report) -> list[Sheet]:
    return [
        summary_sheet(report),
        breakdown_sheet("按类别", "类别", report.by_category),
        breakdown_sheet("按小区", "小区", report.by_compound),
        assessment_sheet("按网格", "网格", report.grids),
        assessment_sheet("按网格员", "网格员", report.members),
        overdue_sheet(report),
        dissatisfied_sheet(report),
    ]


ORDER_HEADER = [
    "工单号",
    "上报时间",
    "状态",
    "类别",
    "优先级",
    "小区",
    "楼栋",
    "网格",
    "经办人",
    "应签收时间",
    "签收时间",
    "应办结时间",
    "办结时间",
    "完成时间",
    "撤销时间",
    "评价",
    "督办",
    "居民诉求",
    "办结说明",
]


def order_cells(line: OrderLine, category_name: Callable[[str], str]) -> list[Cell]:
    """One exported order: every timestamp, no resident's name or phone (typed numbers masked)."""
    return [
        line.number,
        line.created_at,
        STATE_LABELS.get(line.state, line.state),
        category_name(line.category),
        line.priority,
        line.compound,
        line.building,
        line.grid,
        line.assignee,
        line.accept_due_at,
        line.accepted_at,
        line.resolve_due_at,
        line.resolved_at,
        line.closed_at,
        line.cancelled_at,
        SATISFACTION_LABELS.get(line.satisfaction, line.satisfaction),
        "是" if line.supervised else "",
        mask_phones(line.text),
        mask_phones(line.resolution_note),
    ]
