"""审计: browse the append-only audit log (staff only), newest first, by keyset pages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web.common import desk, int_field, login_needed, render, viewer_of


async def audit_page(request: Request) -> Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return login_needed(request)
    if not viewer.is_staff:
        return render(request, "forbidden.html", viewer, status=403)
    q = request.query_params
    record = (q.get("record") or "").strip()[:64] or None
    async with desk(request).uow_factory() as uow:
        page = await uow.desk.audit_page(before=int_field(q.get("before")), record=record)
    return render(request, "audit.html", viewer, page=page, record=record or "")


ROUTES = [Route("/audit", audit_page)]
