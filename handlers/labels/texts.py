"""What the learning loop says: the 改类别 button on a handler's order card and its answers."""

from __future__ import annotations

BTN_RECATEGORISE = "改类别"


def ask_category(number: str, current: str) -> str:
    return f"{number} 现在的类别是「{current}」，请选择正确的类别："


def recategorised(number: str, label: str) -> str:
    return f"已将工单 {number} 的类别改为「{label}」。谢谢，机器人会从这次更正中学习。"


def recategorised_by(number: str, label: str, who: str) -> str:
    return f"工单 {number} 的类别已由{who}改为「{label}」。"


def handled_by_others(label: str, role: str) -> str:
    return f"按社区分工，「{label}」类工单一般由{role}处理；如需交给对方，请用「转派」或「退回」。"


SAME_CATEGORY = "类别没有变化。"
ORDER_OVER = "这张工单已经结束，不能再改类别。"
