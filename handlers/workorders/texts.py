"""Everything residents, grid members and staff read about work orders. Warm, plain Simplified Chinese."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from handlers.workorders.model import OrderState

if TYPE_CHECKING:  # texts stay importable from everywhere without a cycle
    from handlers.ports import OrderStatistics


EMERGENCY_ADVICE = {
    "fire": "🔥 如有火情请立即拨打 119！不要乘坐电梯，用湿毛巾捂住口鼻，沿安全通道尽快撤离。",
    "gas": "⚠️ 闻到燃气味：立即关闭燃气阀门，打开门窗通风，不要开关电器、不要打电话（请到室外再拨打），撤离后拨打燃气抢修电话或 119。",
    "medical": "🚑 有人晕倒或受伤请立即拨打 120！保持呼吸道通畅，不要随意搬动伤者。",
    "police": "🚓 如遇打架、盗窃、人身威胁，请立即拨打 110，注意自身安全。",
}
EMERGENCY_GENERAL = "🆘 紧急情况请立即拨打：火警 119，急救 120，报警 110。"


FRAUD_ADVICE = (
    "🚨 请立即停止转账，不要透露验证码、密码，不要点陌生链接或共享屏幕，马上挂断对方电话！"
    "已经转了钱请立即拨打 110 报警，也可以拨打全国反诈专线 96110 咨询。"
)


def _listed(names: list[str]) -> str:
    """ "网格员 李娜、网格长和社区工作人员": each name once, in the order given."""
    unique = list(dict.fromkeys(n for n in names if n))
    if len(unique) <= 1:
        return "".join(unique)
    return "、".join(unique[:-1]) + "和" + unique[-1]


def emergency_ack(number: str, notified: list[str]) -> str:
    return f"已紧急通知{_listed(notified)}，工单号 {number}。请先确保自身安全，相关人员会尽快联系您。"


def fraud_ack(number: str, notified: list[str]) -> str:
    return f"已紧急通知{_listed(notified)}，工单号 {number}。请先不要再转账或告诉任何人验证码，相关人员会尽快联系您。"


# An emergency from someone who had not agreed to the privacy notice: handled first, asked afterwards.
CONSENT_AFTER_EMERGENCY = (
    "为了后续跟进和联系您，需要征得您的同意：我们会保存您的称呼、发来的内容和您愿意登记的住址，"
    "只用于社区服务。您随时可以发送 /mydata 查看、/deletedata 删除。"
)
CONSENT_DECLINED_AFTER_EMERGENCY = (
    "好的。这次紧急求助的工单会继续处理（只保留处理它所必需的信息），其他信息我们不会保存。"
    "如果改变主意，随时发送 /start。需要紧急帮助请直接拨打 110 / 119 / 120。"
)

# A possible emergency: the advice went out; the resident is asked, and only the grid member knows.
EMERGENCY_CHECK = "请问现在是否正在发生危险？请点下面的按钮告诉我们（也可以直接回复“是”或“不是”）。"
BTN_CHECK_YES = "是，正在发生"
BTN_CHECK_NO = "不是"
CHECK_NOTED_YES = "已紧急通知相关人员"
CHECK_NOTED_NO = "好的，按一般问题处理"
CHECK_ALREADY = "已收到，相关人员已经知悉"
POSSIBLE_HEADING = "⚠️ 疑似紧急（正在向居民确认）"
EMERGENCY_HEADING = "🆘 紧急工单"


def check_confirmed(number: str, notified: list[str], silent: bool) -> str:
    why = "您暂时没有回复，为了安全起见，" if silent else ""
    return f"{why}已紧急通知{_listed(notified)}，工单号 {number}。请先确保自身安全，相关人员会尽快联系您。"


def check_confirmed_member(number: str, silent: bool) -> str:
    why = "居民未回复确认" if silent else "居民确认正在发生危险"
    return f"🆘 工单 {number}：{why}，已同时通知网格长和社区工作人员，请立即处置。"


def check_denied_member(number: str, category: str) -> str:
    return f"ℹ️ 工单 {number}：居民确认不是紧急情况，已改为“{category}”，按一般工单处理。"


def order_opened(number: str, category: str, handler: str, location: str) -> str:
    return (
        f"✅ 已为您生成工单 {number}\n"
        f"类别：{category}\n位置：{location}\n"
        f"负责人：{handler}\n"
        "对方接单后我会第一时间告诉您。发送 /my 可以随时查看进度。\n"
        "如果情况紧急（着火、燃气泄漏、有人受伤），请直接拨打 119 / 120 / 110。"
    )


def order_awaiting_dispatch(number: str, category: str) -> str:
    return (
        f"✅ 已为您生成工单 {number}（{category}），社区工作人员会尽快安排专人处理。"
        "发送 /my 可以随时查看进度。"
    )


def order_accepted(number: str, handler: str, role: str) -> str:
    """`role`: how the resident knows the handler (网格员, 社区民警, 社区工作人员 …)."""
    return f"📌 工单 {number} 已由{handler}接单，正在处理。您直接回复这条消息，就能和{role or '负责人'}沟通。"


def order_transferred_resident(number: str, handler: str) -> str:
    return f"工单 {number} 已转交{handler}处理。"


def member_says(number: str, handler: str, text: str) -> str:
    return f"💬 {handler}（工单 {number}）：\n{text}\n\n（直接回复这条消息即可回复对方）"


def resident_says(number: str, name: str, text: str) -> str:
    return f"💬 居民{name}（工单 {number}）回复：\n{text}"


# "Me too" followers: they reply, the handler answers them; the reporter may leave the order to them.
BTN_REPLY_FOLLOWER = "回复这位居民"


def follower_says(number: str, name: str, text: str) -> str:
    return f"💬 同样反映此问题的居民{name}（工单 {number}）留言：\n{text}\n\n（点下面的按钮回复这位居民）"


def ask_follower_reply(number: str, name: str) -> str:
    return f"工单 {number}：请输入要回复居民{name}的话："


def withdrawn_reporter(number: str, still: int) -> str:
    return f"工单 {number} 已撤销，您不会再收到它的消息。还有 {still} 位居民反映了同样的问题，工单会继续为他们办理。"


def withdrawn_holder(number: str) -> str:
    return f"ℹ️ 最早反映工单 {number} 的居民撤回了，工单继续为您办理，办结后请您来评价。直接回复这条消息可以和负责人沟通。"


def withdrawn_follower(number: str) -> str:
    return f"ℹ️ 最早反映工单 {number} 的居民撤回了，工单继续办理，有进展会告诉您。"


def withdrawn_member(number: str, still: int) -> str:
    return f"ℹ️ 工单 {number} 的报事居民撤回了，但还有 {still} 位居民反映同样问题，工单继续办理（联系人已换成其中一位）。"


def reopened_follower(number: str) -> str:
    return f"ℹ️ 您关注的工单 {number} 还没有解决好，已重新处理，有进展会告诉您。"


def closed_follower(number: str) -> str:
    return f"✅ 您关注的工单 {number} 已完成归档。"


def resolved_ask_rating(number: str, handler: str, note: str) -> str:
    return f"✅ 工单 {number} 已由{handler}办结。\n办理结果：{note}\n\n请您对这次服务做个评价："


def rated_thanks(satisfaction: str) -> str:
    return f"感谢您的评价（{satisfaction}）！有问题随时找我们。"


def reopened_resident(number: str, role: str) -> str:
    return f"很抱歉没能让您满意。工单 {number} 已重新交给{role}继续处理，社区工作人员也已知悉。"


def reopened_member(number: str) -> str:
    return f"⚠️ 居民对工单 {number} 的办理结果不满意，工单已退回给您继续处理，请尽快联系居民。"


def reopened_staff(number: str, handler: str) -> str:
    return f"⚠️ 工单 {number} 居民评价“不满意”，已重新交给{handler}，请关注。"


def cancelled_resident(number: str) -> str:
    return f"工单 {number} 已撤销。"


def cancelled_member(number: str) -> str:
    return f"工单 {number} 已被居民撤销，无需继续处理。"


BTN_ACCEPT = "接单"
BTN_TRANSFER = "转派"
BTN_RETURN = "退回社区"
BTN_RESOLVE = "办结"
BTN_CANCEL = "撤销"
ASK_TRANSFER_TO = "要转给谁？"
NO_TRANSFER_TARGET = "暂时没有可以转派的人员。"
ASK_RESOLVE_NOTE = "请输入办结说明（例如“已更换灯泡”），居民会看到这段话："
RESOLVE_NOTE_EMPTY = "办结说明不能为空，请简单写一下处理结果。"
ASK_RETURN_REASON = "请简单说明退回原因（例如“不属于本网格”）："


def accepted_member(number: str) -> str:
    return f"已接单 {number}。直接回复这张工单卡片，就能把话转给居民。"


def transferred_member(number: str, to: str) -> str:
    return f"工单 {number} 已转给{to}。"


def returned_member(number: str) -> str:
    return f"工单 {number} 已退回社区，由工作人员重新派单。"


def resolved_member(number: str) -> str:
    return f"工单 {number} 已办结，等待居民评价。辛苦了！"


def relayed_ok() -> str:
    return "已转达。"


NO_RELAY_TARGET = "这张工单已经结束，消息没有转达。如有新问题请直接描述。"
NOT_YOUR_ORDER = "这张工单不是由您负责的。"


def dispatch_needed(number: str, reason: str) -> str:
    return f"📮 工单 {number} 需要派单（{reason}），请选择处理人："


def rating_buttons_hint() -> str:
    return "请选择："


MY_NONE = "您还没有提交过问题。有需要帮忙的，直接发文字给我就行。"
MY_HEADER = "您最近的工单："
MY_FOLLOWED_HEADER = "您也反映过的工单（有进展会告诉您）："
MY_HISTORY_HINT = "发送 /history 工单号 查看处理经过。"
HISTORY_USAGE = "用法：/history 工单号，例如 /history GD20261201-0001（工单号可以在 /my 里找到）。"
STAFF_NO_OPEN = "目前没有未完成的工单。"
STAFF_OPEN_HEADER = "未完成的工单："
ORDERS_MORE_HEADER = "未完成的工单（续）："
ORDERS_NO_MORE = "没有更多未完成的工单了。"
ORDERS_FIND_HINT = "发送 /orders 工单号 查看某一张工单。"
BTN_NEXT_PAGE = "下一页"
FOUND_HEADING = "🔎 工单详情"


# Grid group chats: an order card any member of the grid may claim.
BTN_CLAIM = "认领"


def group_card_heading(grid: str) -> str:
    return f"📣 {grid}新工单，哪位网格员方便处理，点“认领”即可"


def claimed_group(number: str, who: str) -> str:
    return f"✅ 工单 {number} 已由{who}认领。"


def claimed_member(number: str) -> str:
    return f"您已认领工单 {number}，直接回复工单卡片就能和居民沟通。"


def claimed_from_you(number: str, who: str) -> str:
    return f"工单 {number} 已由{who}在网格群里认领，您无需再处理。"


# Photos and shared locations.
def photo_added_resident(number: str) -> str:
    return f"📷 照片已补充到工单 {number}，负责人会看到的。"


def photo_added_member(number: str, name: str) -> str:
    return f"📷 居民{name}为工单 {number} 补充了一张照片。"


PHOTO_NEEDS_WORDS = "收到您的照片啦 📷 麻烦再用文字说一说是什么问题、在哪栋楼，我马上为您登记。"


def location_nearest(compound: str) -> str:
    return f"📍 收到您的位置，离您最近的是{compound}。请用文字说一说遇到了什么问题。"


LOCATION_FAR = "📍 收到您的位置，但附近好像不是本社区的小区。请用文字说一说问题和所在小区、楼栋。"


def resolved_follower(number: str, note: str) -> str:
    return f"✅ 您关注的工单 {number} 已办结。\n办理结果：{note}"


def supervised_staff(number: str) -> str:
    return f"已将工单 {number} 列为督办件。"


def supervised_member(number: str) -> str:
    return f"🔔 工单 {number} 已被社区列为督办件，请优先处理并及时反馈。"


def reminder(number: str, what: str, due: str) -> str:
    return f"⏰ 催办：工单 {number} 需在 {due} 前{what}，请尽快处理。"


def escalated(number: str, what: str, assignee: str, level: str) -> str:
    return f"⚠️ 工单 {number} 已超时未{what}（负责人：{assignee}），已上报{level}，请督促处理。"


def escalated_assignee(number: str, what: str, level: str) -> str:
    return f"⚠️ 工单 {number} 已超时未{what}，已上报{level}。"


BTN_SUPERVISE = "督办"


def too_many_reports(limit: int) -> str:
    return (
        f"您这一小时内已经反映了 {limit} 件事，我们都记下了，正在抓紧处理，请稍后再发新的问题。"
        "如果遇到着火、有人受伤等紧急情况，请直接告诉我或拨打 119 / 120 / 110，紧急求助不受这个限制。"
    )


def duplicate_offer(number: str, state: str, count: int) -> str:
    return (
        f"附近已有相同问题的工单 {number}（{state}，已有 {count} 位居民反映）。\n"
        "要加入这张工单吗？加入后您会收到它的处理进展，不用重复等待。"
    )


BTN_JOIN = "加入该工单"
BTN_NEW_ORDER = "仍然新建"


def joined_toast(number: str) -> str:
    return f"已加入工单 {number}"


def joined(number: str) -> str:
    return f"好的，您已加入工单 {number}，有进展会第一时间告诉您。"


def joined_member(number: str, count: int) -> str:
    return f"ℹ️ 又有一位居民反映了工单 {number} 的同样问题（共 {count} 位）。"


def green_channel_note(reason: str) -> str:
    return f"🟢 绿色通道：{reason}，请优先上门或电话联系。"


LEAVE_ON = "已登记请假。请假期间新工单会交给您的代班人；发送 /back 销假。"
LEAVE_OFF = "欢迎回来！已销假，新工单会照常派给您。"
LEAVE_NOT_MEMBER = "只有网格员、社区民警和社区工作人员可以请假登记。"


TEAM_HEADER = "网格员在岗情况："
NO_OVERDUE = "目前没有超时的工单。"
OVERDUE_HEADER = "超时未办的工单："


def leave_changed(who: str, on_leave: bool) -> str:
    return f"{who} 已{'请假' if on_leave else '销假'}。"


def statistics(days: int, figures: OrderStatistics, label: Callable[[str], str]) -> str:
    lines = [f"📊 近 {days} 天：新增工单 {figures.opened} 张"]
    for key, count in sorted(figures.by_category.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {label(key)} {count}")
    open_total = sum(figures.open_by_state.values())
    states = "，".join(f"{OrderState(k).label} {n}" for k, n in figures.open_by_state.items())
    lines.append(f"未完成 {open_total} 张" + (f"（{states}）" if states else ""))
    lines.append(f"超时 {figures.overdue} 张")
    rated = sum(figures.satisfaction.values())
    if rated:
        good = figures.satisfaction.get("satisfied", 0) + figures.satisfaction.get("basically", 0)
        lines.append(
            f"居民评价 {rated} 次：满意 {figures.satisfaction.get('satisfied', 0)}，"
            f"基本满意 {figures.satisfaction.get('basically', 0)}，不满意 {figures.satisfaction.get('unsatisfied', 0)}"
            f"（满意率 {good * 100 // rated}%）"
        )
    else:
        lines.append("居民评价：暂无")
    if figures.reopened:
        lines.append(f"因不满意重新办理 {figures.reopened} 次")
    return "\n".join(lines)
