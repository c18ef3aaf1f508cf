"""工单: the list (filters, search, keyset pages), one order's page with its history, and actions on it.

Actions are the chat's use cases (派单 = on_dispatch, 转派 = on_transfer_to, 督办 = on_supervise, 退回 =
on_return, 回复居民 = relay_to_resident) or the desk's (办结, 更改类别, 内部备注), run as the viewer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from handlers import verbs as callbacks
from handlers.community.model import HANDLING_ROLES
from handlers.context import Context
from handlers.desk import actions
from handlers.desk.queries import OrderFilter, OrderView
from handlers.verbs import Action, Verb
from handlers.workorders import member
from handlers.workorders.model import OrderState
from nlp.categories import Catalog
from storage.repositories.desk_orders import SqlDeskOrderQueries
from storage.uow import SqlUnitOfWork
from web.auth import Viewer
from web.common import (
    audit,
    checked_form,
    desk,
    int_field,
    login_needed,
    redirect,
    render,
    text_field,
    viewer_of,
)

PAGE = 30
# What a view of an order's page shows of personal data (recorded in the audit log, never the values).
VIEWED_FIELDS = ["resident.name", "resident.phone_masked", "order.text", "order.history", "order.photos"]


def _date(value: str | None, zone: Any) -> datetime | None:
    try:
        return datetime.strptime(value or "", "%Y-%m-%d").replace(tzinfo=zone)
    except ValueError:
        return None


def _filter(request: Request) -> OrderFilter:
    q = request.query_params
    zone = desk(request).zone
    to = _date(q.get("to"), zone)
    return OrderFilter(
        states=tuple(s for s in q.getlist("state") if s),
        category=q.get("category") or None,
        compound_id=int_field(q.get("compound")),
        grid_id=int_field(q.get("grid")),
        assignee_id=int_field(q.get("assignee")),
        created_from=_date(q.get("from"), zone),
        created_before=to + timedelta(days=1) if to else None,
        overdue=q.get("overdue") == "1",
        supervised=q.get("supervised") == "1",
        green_channel=q.get("green") == "1",
        search=(q.get("q") or "").strip()[:100],
    )


def _search_kind(text: str) -> str:
    if text.upper().startswith("GD"):
        return "order.number"
    return "resident.phone" if sum(ch.isdigit() for ch in text) >= 7 else "resident.name+order.text"


async def order_list(request: Request) -> Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return login_needed(request)
    state = desk(request)
    f = _filter(request)
    before = int_field(request.query_params.get("before"))
    async with state.uow_factory() as uow:
        page = await SqlDeskOrderQueries(uow.session).page(viewer.scope, f, state.clock.now(), before, PAGE)
        if f.search:  # what was searched for is personal data: only the kind of search is recorded
            await audit(uow, viewer, request, "search", "orders", [_search_kind(f.search)])
        options = await _options(uow, viewer)
        await uow.commit()
    query = request.url.query
    base = "&".join(p for p in query.split("&") if p and not p.startswith("before="))
    return render(request, "orders.html", viewer, page=page, f=f, options=options, base_query=base)


async def _options(uow: SqlUnitOfWork, viewer: Viewer) -> dict[str, Any]:
    grids = [
        g for g in await uow.community.grids() if viewer.scope.everything or g.id in viewer.scope.grid_ids
    ]
    people = [p for p in await uow.community.people() if p.has(*HANDLING_ROLES)]
    if not viewer.scope.everything:
        people = [p for p in people if p.grid_id in viewer.scope.grid_ids or p.id == viewer.person.id]
    return {"grids": grids, "people": people, "compounds": await uow.community.compounds()}


async def order_page(request: Request) -> Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return login_needed(request)
    return await _show(request, viewer, int(request.path_params["order_id"]))


async def _show(request: Request, viewer: Viewer, order_id: int, reveal_phone: bool = False) -> Response:
    state = desk(request)
    async with state.uow_factory() as uow:
        view = await SqlDeskOrderQueries(uow.session).view(viewer.scope, order_id, state.clock.now())
        if view is None:  # missing or outside the viewer's grids: the same answer, so nothing leaks
            return render(request, "not_found.html", viewer, status=404)
        fields = [*VIEWED_FIELDS, "resident.phone"] if reveal_phone else VIEWED_FIELDS
        await audit(uow, viewer, request, "reveal" if reveal_phone else "view", f"order:{order_id}", fields)
        view.recorded = await uow.desk.recorded(order_id)
        options = await _options(uow, viewer)
        await uow.commit()
    return render(
        request,
        "order.html",
        viewer,
        order=view,
        options=options,
        reveal_phone=reveal_phone,
        categories=state.labels.CATEGORY_CHOICES,
        is_open=OrderState(view.line.state).is_open,
    )


def _press(verb: Verb, *args: int) -> Action:
    """The same typed action a chat button carries (bounds checked by the verb's signature)."""
    action = callbacks.decode(callbacks.encode(verb, *args))
    assert action is not None
    return action


Job = Callable[[Context], Awaitable[Any]]


def _job(name: str, order: OrderView, form: Any, categories: Catalog) -> tuple[Job, list[str]] | str:
    """The use case behind a desk button and the fields it changes; or what is wrong with the form."""
    order_id = order.line.id
    if name == "assign":
        target = int_field(form.get("person_id"))
        if target is None:
            return "请选择处理人。"
        if order.line.state == OrderState.NEW.value:
            return (lambda ctx: member.on_dispatch(ctx, _press(Verb.DISPATCH, order_id, target))), [
                "assignee"
            ]
        return (lambda ctx: member.on_transfer_to(ctx, _press(Verb.TRANSFER_TO, order_id, target))), [
            "assignee"
        ]
    if name == "supervise":
        return (lambda ctx: member.on_supervise(ctx, _press(Verb.SUPERVISE, order_id))), ["supervised"]
    if name == "return":
        return (lambda ctx: member.on_return(ctx, _press(Verb.RETURN, order_id))), ["state", "assignee"]
    if name == "close":
        note = text_field(form, "note", 500)
        return (lambda ctx: actions.close_order(ctx, order_id, note)), ["state"]
    if name == "category":
        category = categories.get(text_field(form, "category", 32))
        if category is None:
            return "请选择类别。"
        return (lambda ctx: actions.change_category(ctx, order_id, category)), ["category", "priority"]
    if name in ("note", "reply"):
        text = text_field(form, "text")
        if not text:
            return "请先写好内容。"
        if name == "note":
            return (lambda ctx: actions.add_note(ctx, order_id, text)), ["history"]
        return (lambda ctx: _reply(ctx, order_id, text)), ["history"]
    return "未知操作。"


async def _reply(ctx: Context, order_id: int, text: str) -> None:
    order = await ctx.uow.orders.get(order_id)
    if order is None:
        return
    await member.relay_to_resident(ctx, order, text)


async def order_action(request: Request) -> Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return login_needed(request)
    form = await checked_form(request, viewer)
    order_id = int(request.path_params["order_id"])
    name = str(request.path_params["action"])
    state = desk(request)
    async with state.uow_factory() as uow:
        view = await SqlDeskOrderQueries(uow.session).view(viewer.scope, order_id, state.clock.now())
    if view is None:
        return render(request, "not_found.html", viewer, status=404)
    if name == "reveal":
        return await _show(request, viewer, order_id, reveal_phone=True)
    job = _job(name, view, form, state.categories)
    if isinstance(job, str):
        return redirect(f"/orders/{order_id}", [job])
    run, fields = job

    async def record(uow: SqlUnitOfWork, _value: Any) -> None:
        await audit(uow, viewer, request, "change", f"order:{order_id}", [f"{name}:{f}" for f in fields])

    done = await state.runner.act(viewer.person.id, run, record)
    notices = [done.refused] if done.refused else done.notices or ["已完成。"]
    notices += [f"请转告居民：{text}" for text in done.pass_on]
    return redirect(f"/orders/{order_id}", notices)


ROUTES = [
    Route("/orders", order_list),
    Route("/orders/{order_id:int}", order_page),
    Route("/orders/{order_id:int}/{action:str}", order_action, methods=["POST"]),
]
