"""What residents and staff read about broadcasts. Warm, plain Simplified Chinese.

Kept apart from handlers/texts.py so the broadcast feature's wording lives in one place.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from handlers.broadcasts.model import Broadcast, FinishedRun, Preview, RunCounts

FOOTER = "（不想收到这类提醒？发送 /subscriptions 随时设置。）"


def campaign_message(topic_label: str, title: str, text: str) -> str:
    return f"【{topic_label}】{title}\n\n{text}\n\n{FOOTER}"


def emergency_message(title: str, text: str) -> str:
    body = text if text.startswith(title) else f"{title}\n{text}"
    return f"🚨【紧急通知】{body}\n\n——社区居委会"


# ----------------------------------------------------------------------------- residents: /subscriptions

SUBSCRIPTIONS = (
    "社区会不定期给您推送安全提醒和活动通知。\n"
    "点下面的按钮可以打开或关闭某一类（✅ 接收，🔕 不接收）。\n"
    "停水停电、燃气泄漏这类紧急通知关系到安全，会一直发给您。"
)
SUBSCRIPTIONS_NOT_RESIDENT = "登记为居民后就可以设置推送了，发送 /start 开始。"


def topic_button(label: str, on: bool) -> str:
    return f"{'✅' if on else '🔕'} {label}"


def topic_toggled(label: str, on: bool) -> str:
    return f"已开启“{label}”" if on else f"已关闭“{label}”，以后不再推送这一类"


# ----------------------------------------------------------------------------- staff

HELP_STAFF = (
    "/broadcast 广播列表　/broadcast campaigns 素材库\n"
    '/broadcast new 素材名 对象=兴泰小区 时间=2026-12-01T09:00（或 cron="0 9 * * 1" 季节=03-01..05-31）\n'
    "　自己写内容：/broadcast new 话题=activity 对象=全体 ，换行后写正文\n"
    "/broadcast show 编号　/broadcast approve|pause|resume|cancel 编号\n"
    "/alert 兴泰小区 停水通知：……（紧急通知，确认后立即发送）"
)
NO_BROADCASTS = "还没有广播。发送 /broadcast campaigns 看看素材库。"
NO_CAMPAIGNS = "素材库是空的，请先运行 gridbot broadcast campaigns load。"
ALERT_USAGE = "用法：/alert 区域 内容，例如：/alert 兴泰小区 停水通知：明天8点到12点停水，请提前储水。"
BTN_APPROVE = "批准发送"
BTN_PAUSE = "暂停"
BTN_RESUME = "恢复"
BTN_CANCEL = "取消广播"
BTN_ALERT_SEND = "确认立即发送"
BTN_ALERT_DROP = "不发了"

REFUSALS = {
    "not_found": "没有找到这个广播编号。",
    "bad_state": "这个广播现在的状态不能这样操作（可能已被别人处理）。",
    "bad_schedule": '时间设置看不懂：时间写成 2026-12-01T09:00；周期写成 cron="0 9 * * 1"；季节写成 03-01..05-31。',
    "no_fire_time": "按这个时间设置，以后不会再发送了，请检查时间。",
    "bad_audience": "发送对象看不懂：可以写 全体、小区名、小区名+楼号（如 兴泰小区5号楼）、网格名或角色（如 网格员）。",
    "bad_topic": "话题可以是：anti_fraud、fire_safety、forest_fire、flood、gas_safety、activity、legal、grid_notice。",
    "unknown_campaign": "素材库里没有这个名字，发送 /broadcast campaigns 查看。",
    "empty_text": "广播内容是空的：用素材名，或在命令下一行写正文。",
    "bad_option": "有个选项名看不懂，可以用：对象、时间、cron、季节、截止、话题、标题。",
    "text_too_long": "内容太长了，请控制在 3500 字以内。",
    "not_your_building": "这栋楼不在您负责的网格里，网格通知只能发给本网格的居民。",
}


def refused(code: str) -> str:
    return REFUSALS.get(code, "操作没有完成，请检查后再试。")


def _when(moment: datetime, timezone: str = "Asia/Shanghai") -> str:
    # Databases may hand times back in UTC; staff read the community's local time.
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def schedule_label(broadcast: Broadcast) -> str:
    s = broadcast.schedule
    if s.kind.value == "once":
        return f"一次：{_when(s.at, s.timezone)}" if s.at else "一次：批准后立即发送"
    label = f"周期：{s.cron}"
    if s.season:
        label += f"，每年 {s.season[0]} 至 {s.season[1]}"
    if s.until:
        label += f"，截止 {_when(s.until, s.timezone)}"
    return label


def list_line(b: Broadcast) -> str:
    flag = "🚨" if b.emergency else ""
    nxt = f"，下次 {_when(b.next_run_at, b.schedule.timezone)}" if b.next_run_at else ""
    return f"#{b.id} {flag}{b.title}（{b.status.label}，{b.audience.label}{nxt}）"


def preview(p: Preview) -> str:
    b = p.broadcast
    times = "、".join(_when(t, b.schedule.timezone) for t in p.next_times) or "—"
    out = f"，另有 {p.opted_out} 人关闭了这类推送" if p.opted_out else ""
    return (
        f"广播 #{b.id}（{b.status.label}）\n"
        f"对象：{b.audience.label}，现在发送会送达 {p.recipients} 人{out}\n"
        f"{schedule_label(b)}\n接下来的发送时间：{times}\n"
        f"—— 居民收到的内容 ——\n{p.text}"
    )


def created(broadcast_id: int) -> str:
    return f"已保存为草稿 #{broadcast_id}，请核对下面的预览，确认无误后点“{BTN_APPROVE}”。"


def approved(b: Broadcast) -> str:
    when = _when(b.next_run_at, b.schedule.timezone) if b.next_run_at else "—"
    return f"广播 #{b.id} 已批准，首次发送时间 {when}。发送完成后会把结果告诉您。"


def paused(broadcast_id: int) -> str:
    return f"广播 #{broadcast_id} 已暂停，还没发出的消息先停住，点“{BTN_RESUME}”继续。"


def resumed(broadcast_id: int) -> str:
    return f"广播 #{broadcast_id} 已恢复。"


def cancelled(broadcast_id: int, dropped: int) -> str:
    return f"广播 #{broadcast_id} 已取消，{dropped} 条尚未发出的消息不再发送。"


def alert_preview(p: Preview) -> str:
    return (
        f"🚨 紧急通知草稿 #{p.broadcast.id}\n对象：{p.broadcast.audience.label}，共 {p.recipients} 人"
        f"（紧急通知会发给所有人，包括关闭了推送的居民）\n—— 居民收到的内容 ——\n{p.text}"
    )


def alert_sent(broadcast_id: int, recipients: int) -> str:
    return f"紧急通知 #{broadcast_id} 已开始发送，共 {recipients} 人，优先于其他广播。完成后告诉您结果。"


def alert_dropped(broadcast_id: int) -> str:
    return f"紧急通知 #{broadcast_id} 已作废，没有发送。"


def counts_line(c: RunCounts) -> str:
    parts = [f"送达 {c.sent}"]
    if c.unreachable:
        parts.append(f"无法送达 {c.unreachable}（对方已屏蔽或注销）")
    if c.failed:
        parts.append(f"失败 {c.failed}")
    if c.cancelled:
        parts.append(f"取消 {c.cancelled}")
    if c.pending:
        parts.append(f"待发 {c.pending}")
    return "，".join(parts)


def run_summary(run: FinishedRun) -> str:
    return f"📣 广播 #{run.broadcast_id}“{run.title}”本轮发送完成：共 {run.counts.total} 人，{counts_line(run.counts)}。"


# ----------------------------------------------------------------------------- grid members: /notice

NOTICE_USAGE = (
    "用法：/notice 通知内容（发给本网格全体居民），或 /notice 兴泰小区5号楼 通知内容（只发给这栋楼）。\n"
    "通知经网格长批准后发出。"
)
NOTICE_NO_GRID = "您还没有分到网格，暂时不能发网格通知。"
BTN_NOTICE_APPROVE = "批准发送"
BTN_NOTICE_REJECT = "退回"


def notice_for_approval(author: str, p: Preview) -> str:
    return (
        f"📝 {author} 提交了一条网格通知，请审批：\n广播 #{p.broadcast.id}\n"
        f"对象：{p.broadcast.audience.label}，共 {p.recipients} 人\n—— 居民收到的内容 ——\n{p.text}"
    )


def notice_submitted(broadcast_id: int, approver: str, recipients: int) -> str:
    return f"通知已提交给 {approver} 审批，批准后发给 {recipients} 人：\n广播 #{broadcast_id}"


def notice_approved(broadcast_id: int, reviewer: str, recipients: int) -> str:
    return f"✅ {reviewer} 批准了您的网格通知，正在发给 {recipients} 人：\n广播 #{broadcast_id}"


def notice_approved_reviewer(broadcast_id: int, recipients: int) -> str:
    return f"已批准，正在发给 {recipients} 人：广播 #{broadcast_id}"


def notice_rejected(broadcast_id: int, reviewer: str) -> str:
    return f"{reviewer} 没有批准这条网格通知，没有发出。可以修改后重新发送 /notice：\n广播 #{broadcast_id}"


def notice_rejected_reviewer(broadcast_id: int) -> str:
    return f"已退回，没有发送：广播 #{broadcast_id}"
