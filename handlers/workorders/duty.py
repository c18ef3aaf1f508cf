"""Who is on duty: members register leave and return; staff see the team and what is overdue."""

from __future__ import annotations

from datetime import timedelta

from handlers.community.model import HANDLING_ROLES, Role
from handlers.context import Context
from handlers.errors import NotAuthorised
from handlers.workorders import texts


async def leave(ctx: Context, _args: str) -> None:
    """/leave: new orders go to the member's deputy until /back."""
    await _set_leave(ctx, True)


async def back(ctx: Context, _args: str) -> None:
    await _set_leave(ctx, False)


async def _set_leave(ctx: Context, on_leave: bool) -> None:
    person = ctx.person
    if person is None or not person.has(*HANDLING_ROLES):
        await ctx.answer(texts.LEAVE_NOT_MEMBER)
        return
    await ctx.uow.community.set_leave(person.id, on_leave)
    await ctx.answer(texts.LEAVE_ON if on_leave else texts.LEAVE_OFF)
    for staff in await ctx.uow.community.people(role=Role.STAFF):
        if staff.id != person.id:
            await ctx.say(staff.chat_id, texts.leave_changed(person.title, on_leave))


async def team(ctx: Context, _args: str) -> None:
    """/team (staff): every member with their status, deputy and open orders."""
    if ctx.person is None or not ctx.person.is_staff:
        raise NotAuthorised("not_staff")
    now = ctx.clock.now()
    members = [p for p in await ctx.uow.community.people() if p.has(Role.GRID_MEMBER, Role.GRID_LEADER)]
    load = await ctx.uow.orders.open_count_by_assignee([p.id for p in members])
    lines = [texts.TEAM_HEADER]
    for person in members:
        status = "请假" if person.on_leave else ("在岗" if person.available(now) else "非值班时间")
        deputy = await ctx.uow.community.person(person.deputy_id) if person.deputy_id else None
        extra = f"｜代班：{deputy.name}" if deputy is not None else ""
        lines.append(f"• {person.title}｜{status}｜未完成 {load.get(person.id, 0)} 张{extra}")
    await ctx.answer("\n".join(lines))


async def overdue(ctx: Context, _args: str) -> None:
    """/overdue (staff): open orders past their due time, most overdue first."""
    if ctx.person is None or not ctx.person.is_staff:
        raise NotAuthorised("not_staff")
    orders = await ctx.uow.orders.overdue(ctx.clock.now())
    if not orders:
        await ctx.answer(texts.NO_OVERDUE)
        return
    lines = [texts.OVERDUE_HEADER]
    for order in orders[:30]:
        flag = "【督办】" if order.supervised else ""
        due = order.resolve_due_at if order.state.value == "accepted" else order.accept_due_at
        when = due.strftime("%m-%d %H:%M") if due else "-"
        lines.append(f"• {flag}{order.number} {order.category.label}｜{order.state.label}｜应于 {when}")
    await ctx.answer("\n".join(lines))


async def stats(ctx: Context, args: str) -> None:
    """/stats [days] (staff): orders opened by category, open by state, overdue, satisfaction."""
    if ctx.person is None or not ctx.person.is_staff:
        raise NotAuthorised("not_staff")
    days = int(args) if args.isdigit() and 0 < int(args) <= 3660 else 30
    now = ctx.clock.now()
    figures = await ctx.uow.orders.statistics(now - timedelta(days=days), now)
    await ctx.answer(texts.statistics(days, figures))
