"""How a work order looks to the people who handle it."""

from __future__ import annotations

from handlers import verbs as callbacks
from handlers.community.model import Person, Resident
from handlers.messages import Button
from handlers.workorders import texts
from handlers.workorders.model import OrderState, WorkOrder
from nlp.types import Priority


def order_card(order: WorkOrder, resident: Resident | None, heading: str = "📋 新工单") -> str:
    urgent = " 【紧急】" if order.priority is Priority.URGENT else ""
    high = " 【优先】" if order.priority is Priority.HIGH else ""
    name = resident.name if resident is not None else "（已删除）"
    lines = [
        f"{heading} {order.number}{urgent}{high}",
        f"类别：{order.category.label}",
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
                Button(texts.BTN_ACCEPT, callbacks.encode("ac", oid)),
                Button(texts.BTN_TRANSFER, callbacks.encode("tr", oid)),
            ),
            (Button(texts.BTN_RETURN, callbacks.encode("rt", oid)),),
        )
    if order.state is OrderState.ACCEPTED:
        return (
            (
                Button(texts.BTN_RESOLVE, callbacks.encode("rs", oid)),
                Button(texts.BTN_TRANSFER, callbacks.encode("tr", oid)),
            ),
            (Button(texts.BTN_RETURN, callbacks.encode("rt", oid)),),
        )
    return ()


def dispatch_buttons(order: WorkOrder, candidates: list[Person]) -> tuple[tuple[Button, ...], ...]:
    assert order.id is not None
    buttons = [Button(p.title, callbacks.encode("dp", order.id, p.id)) for p in candidates[:12]]
    return tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))


def rating_buttons(order: WorkOrder) -> tuple[tuple[Button, ...], ...]:
    assert order.id is not None
    return (
        (
            Button("满意", callbacks.encode("ra", order.id, "s")),
            Button("基本满意", callbacks.encode("ra", order.id, "b")),
            Button("不满意", callbacks.encode("ra", order.id, "u")),
        ),
    )
