"""What the 回访 feature says (residents: warm and plain; staff: short)."""

from __future__ import annotations

BTN_CALL = "📞 回访"
BTN_NEXT = "下一页"
NONE_PENDING = "目前没有待回访的工单。居民未评价的工单办结满设定天数后，会自动归档并出现在这里。"
NO_NOTE_WORDS = frozenset({"无", "没有", "-", "—", "无备注"})


def rating_reminder(number: str) -> str:
    return (
        f"您好！您反映的问题已经办结一天了：\n{number}\n"
        "处理得怎么样？请点下面的按钮评价一下，您的意见能帮我们把工作做得更好。"
    )


def closed_unrated_resident(number: str) -> str:
    return (
        f"您反映的问题办结后一直没有收到您的评价，已先归档为“未评价”：\n{number}\n"
        "社区工作人员可能会打电话听听您的意见。如果问题还没解决，直接给我发消息就行。"
    )


def closed_unrated_member(number: str) -> str:
    return f"居民未评价，工单已归档，转入社区电话回访：\n{number}"


def list_header(total: int) -> str:
    return f"📞 待回访工单（共 {total} 张，居民办结后未评价）："


def list_line(number: str, what: str, place: str, resident: str, handler: str) -> str:
    return f"• {number}｜{what}｜{place}\n  居民：{resident}｜办理：{handler}"


def call_card(number: str, what: str, place: str, resident: str, text: str, note: str) -> str:
    return (
        f"📞 电话回访\n{number}｜{what}｜{place}\n居民：{resident}\n反映：{text}\n办结说明：{note}\n\n"
        "请按居民的回答选择："
    )


def ask_note(number: str, label: str) -> str:
    return f"回访结果“{label}”：\n{number}\n请写几句回访记录（居民怎么说）；没有要补充的，发送“无”。"


def recorded(number: str, label: str) -> str:
    return f"已记录电话回访：{label}，计入满意度统计（来源：电话回访）。\n{number}"


def recorded_member(number: str, label: str) -> str:
    return f"电话回访结果：{label}。\n{number}"


def resident_label(name: str, phone: str | None) -> str:
    return f"{name} {phone}" if phone else f"{name}（未留电话，可请网格员上门回访）"
