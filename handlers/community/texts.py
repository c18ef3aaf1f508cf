"""What a resident reads about their own data (/mydata, /deletedata) and what invite links say.
Every sentence must be true."""

from __future__ import annotations

from datetime import datetime

from handlers.ports import Erased, HeldData

# Where a text was that is no longer kept (a deleted resident's report, an old closed order's notes).
REDACTED = "（已删除）"

NOTHING_HELD = "我们没有保存您的个人信息（同意隐私说明之前，我们不会保存任何内容）。"
BTN_DELETE = "确认删除"
BTN_KEEP = "不删了"
DELETE_KEPT = "好的，没有删除任何信息。"


def my_data(
    *,
    name: str,
    address: str,
    phone: str | None,
    consented_at: datetime | None,
    checkin: bool,
    ledger: str | None,
    topics_off: list[str],
    held: HeldData,
) -> str:
    lines = [
        "我们保存的您的信息：",
        f"称呼：{name}",
        f"住址：{address}",
        f"电话：{phone or '未登记'}",
        f"同意隐私说明：{consented_at.strftime('%Y-%m-%d') if consented_at else '未同意'}",
        f"每日平安问候：{'已开启' if checkin else '未开启'}（记录 {held.checkins} 条）",
        f"重点关爱台账：{ledger or '未登记'}",
        f"不接收的推送：{'、'.join(topics_off) if topics_off else '无'}",
        f"您提交的工单：{held.orders} 张"
        + (f"（未完成：{'、'.join(held.open_orders)}）" if held.open_orders else ""),
        f"您加入的别人的工单（“我也遇到了”）：{held.joined} 张",
        f"您在工单里说的话（转给网格员的回复等）：{held.notes} 条",
        f"用来帮助机器人学习分类的您的留言：{held.labels} 条",
        f"发给您的消息记录：{held.messages} 条；您发来的原始消息（系统短期留存）：{held.updates} 条",
        "发送 /deletedata 可以删除这些信息。",
    ]
    return "\n".join(lines)


def confirm_delete(open_orders: int) -> str:
    cancel = (
        f"您还有 {open_orders} 张未完成的工单，删除后会一并撤销（没法再联系您了）。\n" if open_orders else ""
    )
    return (
        "确定要删除您的个人信息吗？将删除：称呼、住址、电话、重点关爱台账登记、平安问候记录、推送设置、"
        "和您的聊天记录；您提交的工单里您写的内容、照片和门牌号也会删除，"
        "工单只保留类别、小区楼栋和时间，用于社区统计，不再和您有任何关联。\n"
        f"{cancel}删除后无法恢复。"
    )


def deleted(erased: Erased, cancelled: int) -> str:
    parts = [
        "已删除您的个人信息：称呼、住址、电话、台账登记、平安问候记录、推送设置和聊天记录都已删除。",
        f"您提交的 {erased.orders} 张工单里您写的内容已删除，只保留类别、小区楼栋和时间，用于社区统计。"
        if erased.orders
        else "",
        f"未完成的 {cancelled} 张工单已撤销。" if cancelled else "",
        "如需再次使用，发送 /start 即可。",
    ]
    return "".join(parts)


# Invite links (handlers/community/invites.py).
INVITE_INVALID = "这个邀请链接无效或已过期，请联系社区工作人员重新发一个。"
INVITE_USED = "这个邀请链接已经用过了。如果不是您本人用的，请联系社区工作人员重新发一个。"
INVITE_ONLY_PRIVATE = "邀请链接请在和我的私聊里打开，不要转发到群里。"


def invite_chat_taken(title: str) -> str:
    return f"这个 Telegram 账号已经登记为{title}，不能再绑定另一个身份。请换用本人的账号打开链接，或联系社区工作人员。"


def joined_person(title: str) -> str:
    return f"欢迎您，{title}！已绑定这个 Telegram 账号，工单和通知会发到这里。发送 /help 查看能用的指令。"


def joined_person_staff(title: str) -> str:
    return f"👋 {title} 已通过邀请链接加入。"


def joined_resident_staff(name: str, chat_id: int) -> str:
    return f"👋 居民{name}已通过邀请链接加入（ID {chat_id}），登记台账时可用：/ledger_add {chat_id} 类别"


def your_id(chat_id: int) -> str:
    return f"您的 Telegram ID 是：{chat_id}\n（社区工作人员登记时如需要，把这个数字告诉他们即可。）"


def group_id(group: int, sender: int) -> str:
    return f"本群的 ID 是：{group}\n您的 ID 是：{sender}"
