"""What every desk page shares: the desk's state, the viewer, CSRF-checked forms, rendering, notices."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from handlers.ports import Clock
from nlp.categories import Catalog
from storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from web.auth import COOKIE, Sessions, Viewer
from web.labels import Labels
from web.runner import DeskRunner

_FLASH = "gridbot_desk_notice"


@dataclass
class DeskState:
    uow_factory: SqlUnitOfWorkFactory
    runner: DeskRunner
    sessions: Sessions
    clock: Clock
    zone: ZoneInfo
    templates: Jinja2Templates
    public_url: str
    categories: Catalog  # the community's (labels, order), from the rules the chat side uses
    labels: Labels


def desk(request: Request) -> DeskState:
    state: DeskState = request.app.state.desk
    return state


def source(request: Request) -> str:
    """Where the request came from, for the audit log and the login limit (the proxy's address behind one)."""
    return request.client.host if request.client else ""


async def viewer_of(request: Request) -> Viewer | None:
    return await desk(request).sessions.viewer(request.cookies.get(COOKIE))


def login_needed(request: Request) -> Response:
    response = desk(request).templates.TemplateResponse(
        request, "login_needed.html", {"viewer": None}, status_code=401
    )
    response.delete_cookie(COOKIE)
    return response


async def checked_form(request: Request, viewer: Viewer) -> FormData:
    """The posted form, if it carries this session's CSRF token; otherwise the request is refused."""
    form = await request.form()
    sent = form.get("csrf")
    if not viewer.csrf_ok(sent if isinstance(sent, str) else None):
        raise HTTPException(403, "表单已过期，请刷新页面后再提交。")
    return form


def text_field(form: FormData, name: str, limit: int = 2000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def int_field(value: Any) -> int | None:
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 16:
        return int(value.strip())
    return None


def render(
    request: Request, template: str, viewer: Viewer | None, status: int = 200, **values: Any
) -> Response:
    state = desk(request)
    notices = _read_flash(request)
    context = {"viewer": viewer, "notices": notices, "labels": state.labels, "zone": state.zone, **values}
    response = state.templates.TemplateResponse(request, template, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"  # pages carry personal data: never kept in a cache
    if notices:
        response.delete_cookie(_FLASH)
    return response


def redirect(url: str, notices: list[str] | None = None) -> Response:
    """After a POST: go to a page (303), carrying what to tell the user once."""
    response = RedirectResponse(url, status_code=303)
    if notices:
        encoded = base64.urlsafe_b64encode(json.dumps(notices[:5], ensure_ascii=False).encode()).decode()
        response.set_cookie(_FLASH, encoded[:3000], max_age=60, httponly=True, samesite="lax")
    return response


def _read_flash(request: Request) -> list[str]:
    raw = request.cookies.get(_FLASH)
    if not raw:
        return []
    try:
        value = json.loads(base64.urlsafe_b64decode(raw.encode()))
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


async def audit(
    uow: SqlUnitOfWork,
    viewer: Viewer,
    request: Request,
    action: str,
    record: str,
    fields: list[str],
    reason: str = "",
) -> None:
    """One append-only audit record: who, when, which record and fields, from where (never the data)."""
    now = desk(request).clock.now()
    await uow.desk.audit(viewer.person.id, action, record, fields, source(request), now, reason)
