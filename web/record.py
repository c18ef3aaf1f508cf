"""代录: record a report for a resident who phoned or came to the counter (handlers.desk.recording)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from handlers.desk.recording import CHANNELS, PhonedReport, record_report
from handlers.workorders.model import WorkOrder
from storage.repositories.desk_orders import SqlDeskOrderQueries
from storage.uow import SqlUnitOfWork
from web.common import audit, checked_form, desk, int_field, login_needed, render, text_field, viewer_of


async def _form_options(request: Request) -> dict[str, Any]:
    async with desk(request).uow_factory() as uow:
        return {
            "compounds": await uow.community.compounds(),
            "buildings": await SqlDeskOrderQueries(uow.session).buildings(),
            "categories": desk(request).labels.CATEGORY_CHOICES,
            "channels": CHANNELS,
        }


async def record_form(request: Request) -> Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return login_needed(request)
    return render(request, "record.html", viewer, form={}, **await _form_options(request))


async def record_submit(request: Request) -> Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return login_needed(request)
    form = await checked_form(request, viewer)
    chosen = text_field(form, "category", 32)
    report = PhonedReport(
        name=text_field(form, "name", 64),
        phone=text_field(form, "phone", 32),
        text=text_field(form, "text"),
        channel=text_field(form, "channel", 16) or "phone",
        address=text_field(form, "address", 200),
        compound_id=int_field(form.get("compound")),
        building_id=int_field(form.get("building")),
        unit=text_field(form, "unit", 8) or None,
        room=text_field(form, "room", 8) or None,
        category=desk(request).categories.get(chosen),
    )

    async def record(uow: SqlUnitOfWork, order: WorkOrder) -> None:
        fields = ["resident.name", "resident.phone", "order.text", "order.address"]
        await audit(uow, viewer, request, "change", f"order:{order.id}", [f"record:{f}" for f in fields])

    done = await desk(request).runner.act(viewer.person.id, lambda ctx: record_report(ctx, report), record)
    if done.refused or done.value is None:
        values = {k: v for k, v in form.items() if k != "csrf" and isinstance(v, str)}
        return render(
            request,
            "record.html",
            viewer,
            status=422,
            form=values,
            problem=done.refused,
            **await _form_options(request),
        )
    return render(request, "recorded.html", viewer, order=done.value, pass_on=done.pass_on)


ROUTES = [
    Route("/record", record_form),
    Route("/record", record_submit, methods=["POST"]),
]
