"""What staff and grid leaders read in chat about statistics (Simplified Chinese)."""

from __future__ import annotations

from handlers.statistics.assessment import Assessment
from handlers.statistics.metrics import Counters
from handlers.statistics.report import Report, Slice

NOT_ALLOWED = "统计只对社区工作人员和网格长开放。"
BAD_MONTH = "月份请写成 2026-10 这样的格式，例如：/report 2026-10"
NO_DATA = "这段时间还没有统计数据（每隔几分钟汇总一次，请稍后再试）。"
CHART_CAPTION = "📈 近 {days} 天工单趋势：红线为新增，蓝线为办结"
REPORT_FILE_CAPTION = "📎 {title}工作报告（Excel：汇总、分类、网格、网格员考核、超期和不满意清单）"
REPORT_TOO_BIG = "这个月的报表太大，聊天里发不了。请在工作台“统计”页下载 {month} 的月报。"
REPORT_FILE_HINT = "完整的 Excel 月报（全社区）由社区工作人员在聊天里发送 /report 获取，或在工作台下载，或由管理员运行：gridbot report monthly --month {month} --out 月报.xlsx"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def duration(minutes: int | None) -> str:
    if minutes is None:
        return "—"
    if minutes < 120:
        return f"{minutes} 分钟"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} 小时"
    return f"{minutes / 1440:.1f} 天"


def headline(c: Counters) -> list[str]:
    return [
        f"新增 {c.new}｜签收 {c.accepted}｜办结 {c.resolved}｜完成 {c.closed}｜撤销 {c.cancelled}",
        f"按时签收率 {percent(c.accept_on_time_rate)}｜按时办结率 {percent(c.resolve_on_time_rate)}",
        f"满意率 {percent(c.satisfaction_rate)}（参评率 {percent(c.rating_rate)}）｜一次办结率 {percent(c.first_time_rate)}",
        f"参评 {c.rated}（其中电话回访 {c.phone_rated}）｜未评价 {c.unrated}",
        f"发回重办率 {percent(c.reopen_rate)}｜重复投诉率 {percent(c.repeat_rate)}",
        f"签收用时 中位 {duration(c.accept_median)}，90% {duration(c.accept_p90)}",
        f"办结用时 中位 {duration(c.resolve_median)}，90% {duration(c.resolve_p90)}",
        f"超期签收 {c.late_accepts}｜超期办结 {c.late_resolves}｜督办 {c.supervised}",
    ]


def slice_line(s: Slice) -> str:
    c = s.counters
    return f"• {s.name}：新增 {c.new}｜按时办结 {percent(c.resolve_on_time_rate)}｜满意 {percent(c.satisfaction_rate)}"


def assessment_line(a: Assessment) -> str:
    score = "—" if a.score is None else f"{a.score:.1f}"
    return (
        f"• {a.name}：{score} 分（响应 {percent(a.response_rate)}｜解决 {percent(a.resolution_rate)}"
        f"｜满意 {percent(a.satisfaction_rate)}）"
    )


def breakdown(report: Report, limit: int = 8) -> str:
    """Staff: by grid and the biggest categories; a grid leader: their members' 考核."""
    lines: list[str] = []
    if report.grid_id is None:
        if report.by_grid:
            lines.append("按网格：")
            lines += [slice_line(s) for s in report.by_grid[:limit]]
        if report.by_category:
            lines.append("按类别（前几位）：")
            lines += [slice_line(s) for s in report.by_category[:limit]]
    if report.members:
        lines.append(
            "网格员考核（响应30/解决35/满意35）：" if report.weights.response == 30 else "网格员考核："
        )
        lines += [assessment_line(a) for a in report.members[:limit]]
    return "\n".join(lines)


def report_summary(report: Report, scope: str) -> str:
    c = report.total
    lines = [f"📈 {report.title}{scope}工作报告", *headline(c)]
    lines.append(f"当前超期未办 {len(report.open_overdue)} 张｜不满意评价 {len(report.dissatisfied)} 条")
    if c.checkins_asked:
        lines.append(f"平安问候 {c.checkins_asked} 次，回应率 {percent(c.checkin_coverage)}")
    if c.deliveries:
        lines.append(f"广播送达率 {percent(c.broadcast_reach)}（{c.delivered}/{c.deliveries}）")
    more = breakdown(report)
    return "\n".join(lines) + ("\n" + more if more else "")
