"""Build the desk's ASGI app over the chat's composition root (same database, classifier, clock, calendar)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers.core import Core
from handlers.ports import Clock
from handlers.workorders.sla import WorkCalendar
from nlp.categories import Catalog, categories_of
from nlp.types import Classifier
from storage.uow import SqlUnitOfWorkFactory
from web import audit_log, dashboard, login, orders, record
from web.auth import Sessions
from web.common import DeskState
from web.labels import Labels
from web.manage import broadcasts, ledger, people
from web.runner import DeskRunner

log = logging.getLogger(__name__)
HERE = Path(__file__).parent

# No inline script or style, nothing from elsewhere: every asset is served by the desk itself.
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def create_app(
    uow_factory: SqlUnitOfWorkFactory,
    classifier: Classifier,
    clock: Clock,
    calendar: WorkCalendar,
    timezone: str,
    public_url: str,
    *,
    publish: bool = True,
    categories: Catalog | None = None,
) -> Starlette:
    """The desk over the chat's storage, classifier, clock and working calendar (see web.cli.serve);
    `publish` records `public_url` at start-up, for the links `/desk` sends in chat."""
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    # the rules' categories when the classifier has them (RuleClassifier), else the shipped ones
    categories = categories or categories_of(classifier)
    state = DeskState(
        uow_factory=uow_factory,
        runner=DeskRunner(Core(uow_factory, classifier, clock, calendar, categories=categories)),
        sessions=Sessions(uow_factory, clock),
        clock=clock,
        zone=ZoneInfo(timezone),
        templates=templates,
        public_url=public_url.rstrip("/"),
        categories=categories,
        labels=Labels(categories),
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if publish:
            async with uow_factory() as uow:
                await uow.desk.publish(state.public_url, clock.now())
                await uow.commit()
        log.info("desk ready at %s", state.public_url)
        yield

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return PlainTextResponse(exc.detail, status_code=exc.status_code)

    app = Starlette(
        routes=[
            *login.ROUTES,
            *orders.ROUTES,
            *record.ROUTES,
            *audit_log.ROUTES,
            *people.ROUTES,
            *ledger.ROUTES,
            *broadcasts.ROUTES,
            *dashboard.ROUTES,
            Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: refused},
        middleware=[Middleware(SecurityHeaders)],
    )
    app.state.desk = state
    return app


class SecurityHeaders:
    """Adds _HEADERS to every response (plain ASGI: no buffering of bodies)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
