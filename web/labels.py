"""Chinese names the desk shows for stored values (states, categories, history events, audit actions)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.imports.community_export import duty_text as duty_text  # the file's form, for the person form
from handlers.care.model import Checkin, CheckinAnswer
from handlers.community.model import DutyHours
from handlers.workorders.model import UNRATED, EventKind, OrderState, Satisfaction
from nlp.categories import Catalog
from nlp.types import Priority

EVENT_LABELS = {
    EventKind.CREATED: "居民反映",
    EventKind.ASSIGNED: "派单",
    EventKind.ACCEPTED: "接单",
    EventKind.TRANSFERRED: "转派",
    EventKind.RETURNED: "退回",
    EventKind.MEMBER_REPLIED: "回复居民",
    EventKind.RESIDENT_REPLIED: "居民留言",
    EventKind.PHOTO_ADDED: "补充照片",
    EventKind.RESOLVED: "办结",
    EventKind.RATED: "评价",
    EventKind.REOPENED: "居民不满意，重新处理",
    EventKind.CLOSED: "完成",
    EventKind.CANCELLED: "居民撤销",
    EventKind.REMINDED: "催办",
    EventKind.ESCALATED: "超时上报",
    EventKind.SUPERVISED: "督办",
    EventKind.JOINED: "其他居民也反映了",
    EventKind.RECATEGORISED: "更改类别",
    EventKind.NOTED: "内部备注",
    EventKind.WITHDRAWN: "报事居民撤回，由同样反映的居民跟进",
    EventKind.RATING_REMINDED: "提醒居民评价",
}
AUDIT_LABELS = {
    "view": "查看",
    "reveal": "查看完整信息",
    "search": "搜索",
    "export": "导出",
    "change": "修改",
    "login": "登录",
    "logout": "退出",
}
STATE_CHOICES = [("open", "未完成")] + [(s.value, s.label) for s in OrderState]


class Labels:
    """What the templates call `labels`: this module's names, with the community's category labels."""

    STATE_CHOICES = STATE_CHOICES
    AUDIT_LABELS = AUDIT_LABELS

    def __init__(self, categories: Catalog) -> None:
        self.categories = categories
        self.CATEGORY_CHOICES = [(str(c.key), c.label) for c in categories.infos()]

    def category(self, value: str) -> str:
        return self.categories.label(value)

    def event(self, kind: str, note: str) -> tuple[str, str]:
        return event(kind, note, self.categories)

    @staticmethod
    def state(value: str) -> str:
        return state(value)

    @staticmethod
    def priority(value: str) -> str:
        return priority(value)

    @staticmethod
    def when(moment: datetime | None, zone: ZoneInfo) -> str:
        return when(moment, zone)

    @staticmethod
    def mask_phone(phone: str | None) -> str:
        return mask_phone(phone)

    @staticmethod
    def duty(hours: DutyHours | None) -> str:
        return duty(hours)

    @staticmethod
    def duty_text(hours: DutyHours) -> str:
        return duty_text(hours)

    @staticmethod
    def checkin(record: Checkin) -> str:
        return checkin(record)


def state(value: str) -> str:
    try:
        return OrderState(value).label
    except ValueError:
        return value


def priority(value: str) -> str:
    try:
        return Priority(value).label
    except ValueError:
        return value


def event(kind: str, note: str, categories: Catalog) -> tuple[str, str]:
    """The event's name and the note as shown: categories and ratings by their Chinese names."""
    category = categories.label
    try:
        name = EVENT_LABELS[EventKind(kind)]
    except (ValueError, KeyError):
        return kind, note
    if kind == EventKind.CREATED and note:
        return name, category(note)
    if kind == EventKind.RECATEGORISED and "->" in note:
        old, _, new = note.partition("->")
        return name, f"{category(old)} → {category(new)}"
    if kind == EventKind.CLOSED and note == UNRATED:
        return name, "居民未评价，转入回访"
    if kind == EventKind.RATED:
        try:
            return name, Satisfaction(note).label
        except ValueError:
            return name, note
    return name, note


def when(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""


def mask_phone(phone: str | None) -> str:
    """138****5678: enough to recognise a caller, not to call them."""
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


_WEEKDAYS = "一二三四五六日"


def duty(hours: DutyHours | None) -> str:
    """Duty hours as people say them: 周一至周五 08:30-17:30; 全天 when not limited."""
    if hours is None:
        return "全天"
    days = sorted(hours.weekdays)
    if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        named = f"周{_WEEKDAYS[days[0]]}至周{_WEEKDAYS[days[-1]]}"
    else:
        named = "、".join(f"周{_WEEKDAYS[d]}" for d in days)
    return f"{named} {hours.start:%H:%M}-{hours.end:%H:%M}"


def checkin(record: Checkin) -> str:
    """The latest 平安问候 as staff read it."""
    if record.answer is CheckinAnswer.FINE:
        return "已回复平安"
    if record.answer is CheckinAnswer.HELP:
        return "回复需要帮助"
    if record.answer is CheckinAnswer.CONFIRMED_BY_MEMBER:
        return "网格员已上门或电话确认"
    if record.escalated_at is not None:
        return "未回复，已上报网格长和工作人员"
    if record.alerted_at is not None:
        return "未回复，已提醒网格员"
    return "已发送，等待回复"
