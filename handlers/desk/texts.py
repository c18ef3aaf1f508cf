"""What the desk feature says, in chat (/desk) and on the desk (flash messages after an action)."""

from __future__ import annotations

DESK_ONLY_PRIVATE = "工作台登录链接只能私聊发送，请在和我的私聊窗口里发送 /desk。"
DESK_NOT_FOR_YOU = "工作台只对社区工作人员、网格长和网格员开放。居民有事请直接把情况发给我。"
DESK_NOT_PUBLISHED = "工作台还没有启用，请联系系统管理员。"


def desk_link(url: str, minutes: int) -> str:
    return f"🖥 工作台登录链接（{minutes} 分钟内有效，只能使用一次，请勿转发）：\n{url}"


CLOSED_RESIDENT = "您的工单 {number} 已由社区办结。如果问题仍未解决，请直接回复这条消息告诉我们。"
RECATEGORISED_MEMBER = "工单 {number} 的类别已改为「{label}」。"
NOTE_EMPTY = "备注不能为空。"
NOTE_ADDED = "已添加内部备注（居民看不到）。"
CLOSED_DESK = "工单 {number} 已办结。"
SAME_CATEGORY = "类别没有变化。"

RECORD_NO_TEXT = "请填写居民反映的情况。"
RECORD_NO_NAME = "请填写居民的称呼。"
RECORD_BAD_PHONE = "请填写正确的联系电话（7 到 15 位数字）。"
RECORD_ASK_CATEGORY = "系统没能判断这件事的类别，请在“类别”里选一个再提交。"
RECORD_ASK_COMPOUND = "没能从地址里找到小区，请在“小区”里选一个再提交。"
RECORD_NOTE = "代录（{channel}）"
CHANNEL_LABELS = {"phone": "来电", "counter": "窗口来访"}
