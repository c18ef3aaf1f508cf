"""How a work order looks to the people who handle it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import tzinfo

from handlers import verbs
from handlers.community.model import Person, Resident
from handlers.community.privacy import mask_phones
from handlers.labels.texts import BTN_RECATEGORISE
from handlers.messages import Button
from handlers.verbs import Verb
from handlers.workorders import texts
from handlers.workorders.model import (
    UNRATED,
    Actor,
    EventKind,
    OrderEvent,
    OrderState,
    Satisfaction,
    WorkOrder,
)
from nlp.categories import Catalog
from nlp.types import Priority


def order_card(
    order: WorkOrder, resident: Resident | None, heading: str = "📋 新工单", *, categories: Catalog
) -> str:
    """The card: the heading (a whole sentence at times) on its own line, the number under it, the
    category by the community's name for it."""
    urgent = " 【紧急】" if order.priority is Priority.URGENT else ""
    high = " 【优先】" if order.priority is Priority.HIGH else ""
    name = resident.name if resident is not None else "（已删除）"
    lines = [
        heading,
        f"{order.number}{urgent}{high}",
        f"类别：{categories.label(order.category)}",
        f"位置：{order.location.label}",
        f"状态：{order.state.label}",
        f"居民：{name}",
        f"内容：{order.text}",
    ]
    if order.photos:
        lines.append(f"照片：{len(order.photos)} 张")
    due = (
        order.accept_due_at if order.state in (OrderState.NEW, OrderState.ASSIGNED) else order.resolve_due_at
    )
    if due is not None and order.is_open and order.state is not OrderState.RESOLVED:
        what = "接单" if order.state in (OrderState.NEW, OrderState.ASSIGNED) else "办结"
        lines.append(f"时限：{due.strftime('%m-%d %H:%M')} 前{what}")
    if order.supervised:
        lines.append("🔔 督办件")
    if order.green_channel:
        lines.append(texts.green_channel_note(order.green_channel))
    return "\n".join(lines)


def member_buttons(order: WorkOrder) -> tuple[tuple[Button, ...], ...]:
    """The actions that make sense in the order's current state."""
    assert order.id is not None
    oid = order.id
    if order.state is OrderState.ASSIGNED:
        return (
            (
                Button(texts.BTN_ACCEPT, verbs.encode(Verb.ACCEPT, oid)),
                Button(texts.BTN_TRANSFER, verbs.encode(Verb.TRANSFER_MENU, oid)),
            ),
            (
                Button(texts.BTN_RETURN, verbs.encode(Verb.RETURN, oid)),
                Button(BTN_RECATEGORISE, verbs.encode(Verb.RECATEGORISE_MENU, oid)),
            ),
        )
    if order.state is OrderState.ACCEPTED:
        return (
            (
                Button(texts.BTN_RESOLVE, verbs.encode(Verb.RESOLVE, oid)),
                Button(texts.BTN_TRANSFER, verbs.encode(Verb.TRANSFER_MENU, oid)),
            ),
            (
                Button(texts.BTN_RETURN, verbs.encode(Verb.RETURN, oid)),
                Button(BTN_RECATEGORISE, verbs.encode(Verb.RECATEGORISE_MENU, oid)),
            ),
        )
    return ()


def dispatch_buttons(order: WorkOrder, candidates: list[Person]) -> tuple[tuple[Button, ...], ...]:
    assert order.id is not None
    buttons = [Button(p.title, verbs.encode(Verb.DISPATCH, order.id, p.id)) for p in candidates[:12]]
    return tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))


def rating_buttons(order: WorkOrder) -> tuple[tuple[Button, ...], ...]:
    assert order.id is not None
    return (
        (
            Button("满意", verbs.encode(Verb.RATE, order.id, "s")),
            Button("基本满意", verbs.encode(Verb.RATE, order.id, "b")),
            Button("不满意", verbs.encode(Verb.RATE, order.id, "u")),
        ),
    )


# /history: what each event is called in the timeline (the desk has its own, web/labels.py).
EVENT_NAMES: dict[EventKind, str] = {
    EventKind.CREATED: "反映问题",
    EventKind.ASSIGNED: "派单",
    EventKind.ACCEPTED: "接单",
    EventKind.TRANSFERRED: "转派",
    EventKind.RETURNED: "退回社区",
    EventKind.MEMBER_REPLIED: "负责人回复",
    EventKind.RESIDENT_REPLIED: "居民留言",
    EventKind.PHOTO_ADDED: "补充照片",
    EventKind.RESOLVED: "办结",
    EventKind.RATED: "评价",
    EventKind.REOPENED: "不满意，重新处理",
    EventKind.CLOSED: "完成",
    EventKind.CANCELLED: "撤销",
    EventKind.REMINDED: "催办",
    EventKind.ESCALATED: "超时上报",
    EventKind.SUPERVISED: "列为督办件",
    EventKind.JOINED: "又有居民反映同样问题",
    EventKind.RECATEGORISED: "更改类别",
    EventKind.NOTED: "内部备注",
    EventKind.WITHDRAWN: "报事居民撤回，由其他反映的居民跟进",
    EventKind.RATING_REMINDED: "提醒居民评价",
}
# Free texts someone wrote: handlers and staff read them, residents do not (only the resolution note).
_WORDS = frozenset(
    {
        EventKind.MEMBER_REPLIED,
        EventKind.RESIDENT_REPLIED,
        EventKind.JOINED,
        EventKind.RETURNED,
        EventKind.NOTED,
    }
)
HISTORY_SHOWN = 40  # the newest events; an order's whole life rarely has more


def timeline(
    order: WorkOrder,
    events: list[OrderEvent],
    names: Mapping[Actor, str],
    *,
    full: bool,
    zone: tzinfo | None,
    categories: Catalog,
) -> str:
    """An order's history, one line per event, oldest first, in the community's time `zone`. `full`
    (handlers and staff): with the notes people wrote; residents see what happened and the resolution
    note, never internal notes."""
    lines = [f"🕘 工单进度\n{order.number}｜{categories.label(order.category)}｜{order.state.label}"]
    shown = [e for e in events if full or e.kind is not EventKind.NOTED][-HISTORY_SHOWN:]
    for event in shown:
        who = names.get(event.actor, "系统" if event.actor.kind == "system" else "")
        detail = _detail(event, names, full, categories.label)
        name = EVENT_NAMES.get(event.kind, event.kind.value)
        line = f"{event.at.astimezone(zone).strftime('%m-%d %H:%M')} {name}"
        line += f"（{who}）" if who else ""
        lines.append(line + (f"：{detail}" if detail else ""))
    return "\n".join(lines)


def _detail(event: OrderEvent, names: Mapping[Actor, str], full: bool, label: Callable[[str], str]) -> str:
    note = event.note
    if event.kind is EventKind.CREATED:
        return label(note)
    if event.kind in (EventKind.ASSIGNED, EventKind.TRANSFERRED) and note.startswith("person:"):
        target = note.removeprefix("person:")
        known = target.isascii() and target.isdecimal()
        return "→ " + names.get(Actor("person", int(target)), "") if known else ""
    if event.kind is EventKind.RATED:
        rated = {s.value: s.label for s in Satisfaction}.get(note, "")
        return f"{rated}（电话回访）" if rated and event.actor.kind == "person" else rated
    if event.kind is EventKind.CLOSED and note == UNRATED:
        return "居民未评价，转入回访"
    if event.kind is EventKind.RECATEGORISED and "->" in note:
        old, _, new = note.partition("->")
        return f"{label(old)} → {label(new)}"
    if event.kind is EventKind.ESCALATED and note.startswith("level "):
        return "上报网格长" if note.startswith("level 1") else "上报社区"
    if event.kind is EventKind.RESOLVED or (full and event.kind in _WORDS):
        return mask_phones(_excerpt(note))
    return ""


def _excerpt(text: str, size: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[:size] + "…"
