"""Sentences every feature shares: greetings, consent, help, refusals and the command menus. Warm, plain Chinese."""

from __future__ import annotations

WELCOME = (
    "您好！我是社区网格小助手 🏠\n"
    "有什么烦心事、需要帮忙的，直接发文字给我就行，比如：\n"
    "“兴泰5号楼2单元楼道灯坏了”\n"
    "我会生成工单，交给负责您楼栋的网格员处理，并随时告诉您进展。\n"
    "遇到着火、燃气泄漏、有人晕倒等紧急情况，请先拨打 119 / 120 / 110！"
)

PRIVACY = (
    "【隐私说明】为了把问题转给负责的网格员（涉及诈骗等治安问题时是社区民警），我们会保存您发来的内容、"
    "您的称呼和您愿意登记的住址。这些信息只用于社区服务，只有负责处理的网格员、社区民警和社区工作人员能看到。"
    "您随时可以发送 /mydata 查看，发送 /deletedata 删除。\n"
    "同意后即可开始使用。"
)

CONSENT_NEEDED = "在为您登记问题之前，需要先征得您的同意（您刚才发的内容已经帮您留着，同意后会马上提交）。"
CONSENT_THANKS = "谢谢您的信任！"
CONSENT_DECLINED = (
    "好的，我们不会保存您的信息。如果改变主意，随时发送 /start。需要紧急帮助请直接拨打 110 / 119 / 120。"
)
ASK_REGISTER = "要不要登记一下您的住址？登记后报事时不用每次都说在哪栋楼。"
REGISTER_LATER = "好的，以后需要时发送 /address 即可登记。现在有什么问题，直接告诉我吧。"
ASK_COMPOUND = "请问您住在哪个小区？"
ASK_BUILDING = "请选择楼栋："
ASK_UNIT = "请选择单元："
ASK_ROOM = "请输入门牌号（例如 501），不想填写可以点“跳过”。"
ROOM_INVALID = "门牌号好像不太对，请只输入数字，例如 501；或者点“跳过”。"
BTN_AGREE = "同意并继续"
BTN_DECLINE = "不同意"
BTN_REGISTER = "登记住址"
BTN_LATER = "以后再说"
BTN_SKIP = "跳过"
BTN_UNSURE = "不确定"


def registered(address: str) -> str:
    return f"住址已登记：{address}。以后有问题直接发消息给我就行。"


EMPTY_MESSAGE = "您好像没有写内容，请用文字描述一下遇到的问题，例如“3号楼楼道灯坏了”。"
NO_WORDS = "收到您的表情啦 😊 如果有需要帮忙的事，请用文字说一说具体情况。"
TOO_LONG_NOTE = "（您的留言较长，已完整保存，负责处理的工作人员会全部看到。）"
UNKNOWN_COMMAND = "抱歉，没有这个指令。可以发送 /help 查看能用的指令，或者直接用文字描述您的问题。"
ASK_LOCATION_COMPOUND = "好的，已记下您的问题。请问是在哪个小区？"
ASK_LOCATION_BUILDING = "是哪一栋楼？不清楚可以点“不确定”。"
ASK_CATEGORY = "为了更快交给合适的人处理，请帮忙选一下这是哪类问题："
NOTHING_PENDING = "这个选择已经过期了，请重新发送您的问题。"
STALE_BUTTON = "这个按钮已失效，请重新操作。"
PRESS_NOTED = "已收到 👌"  # a button whose result shows in the chat still answers the press itself
NOT_ALLOWED = "抱歉，您没有权限进行这个操作。"
STATE_CHANGED = "这张工单的状态已经变化，不能再这样操作了。"
ORDER_NOT_FOUND = "没有找到这张工单。"
# Nothing of the failed handling was kept, so the person is asked to try again; the incident number
# (appended by the core) lets staff find the log line.
INTERNAL_ERROR = "抱歉，系统出了点小问题，这次没能办成。请稍后再试一次；如果还是不行，请联系社区工作人员。"


def internal_error(incident: str) -> str:
    return f"{INTERNAL_ERROR}（编号 {incident}）"


HELP_RESIDENT = (
    "直接发文字描述问题即可报事，例如“滨河花园3栋电梯坏了”。\n"
    "/my 查看我的工单\n/history 工单号 查看工单的处理经过\n/address 登记或修改住址\n"
    "/checkin 开启或关闭每日平安问候\n/mydata 查看我的信息\n/deletedata 删除我的信息\n/id 查看我的 ID\n/help 帮助"
)
HELP_MEMBER = (
    "新工单会以卡片形式发给您，点按钮即可接单、转派、退回或办结。\n"
    "直接回复工单卡片，就能把话转给居民。\n/orders 查看我负责的未完成工单（/orders 工单号 查看某一张）\n"
    "/history 工单号 查看工单的处理经过\n"
    "/leave 请假（新工单交给代班人，手上的工单可以一并交接）  /back 销假\n/ledger 本网格重点关爱居民\n"
    "/notice 通知内容 给本网格居民发通知（/notice 小区名+楼号 通知内容 只发一栋楼；网格长批准后发出）\n"
    "/rota 本网格值班表（网格长可调整，如 /rota 张伟 周一至周五 08:30-17:30）\n/help 帮助"
)
HELP_STAFF = (
    "/orders 全部未完成工单（分页；/orders 工单号 查找）\n/overdue 超时工单\n/huifang 待回访工单（居民未评价）\n/rota 值班表（/rota 姓名 周一至周五 08:30-17:30 调整）\n/stats [天数] 统计\n/team 网格员在岗情况\n/ledger 重点关爱台账\n"
    "/ledger_add 居民id 类别 [paper] 登记台账\n/ledger_remove 居民id 移出台账\n/help 帮助"
)


# Command menus (Telegram's "/" menu), per role: (command, description).
COMMANDS_RESIDENT = (
    ("start", "开始使用"),
    ("my", "我的工单"),
    ("history", "工单的处理经过（加工单号）"),
    ("address", "登记或修改住址"),
    ("mydata", "查看我的信息"),
    ("deletedata", "删除我的信息"),
    ("help", "帮助"),
)
COMMANDS_MEMBER = (
    ("orders", "我负责的未完成工单"),
    ("history", "工单的处理经过（加工单号）"),
    ("leave", "请假，交接手上的工单"),
    ("back", "销假"),
    ("notice", "给本网格居民发通知（网格长批准后发出）"),
    ("rota", "本网格值班表"),
    ("help", "帮助"),
)
COMMANDS_STAFF = (
    ("orders", "全部未完成工单"),
    ("huifang", "待回访工单（居民未评价）"),
    ("help", "帮助"),
)
