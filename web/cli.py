"""`gridbot web`: serve the desk; `gridbot web login-link NAME`: print a login link for the operator."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from bot.settings import Settings

web_app = typer.Typer(help="The staff desk (社区工作台): a web page over the same database.")


def public_url(settings: Settings) -> str:
    return (settings.web.public_url or f"http://{settings.web.host}:{settings.web.port}").rstrip("/")


async def serve(settings: Settings) -> None:
    import uvicorn

    from bot.app import build_app
    from bot.schedule.workdays import ChineseWorkCalendar
    from web.app import create_app

    # Refuses a database behind the migrations, like `gridbot run`; SQLite keeps aiosqlite's thread here.
    core = await build_app(settings, inline_sqlite=False)
    try:
        # The very classifier the chat uses (rules file, stored compounds, learned second opinion): a phoned-in
        # report is classified exactly like a chat report.
        assert core.classifier is not None
        app = create_app(
            core.uow_factory,
            core.classifier,
            core.clock,
            ChineseWorkCalendar(),
            settings.timezone,
            public_url(settings),
        )
        config = uvicorn.Config(
            app,
            host=settings.web.host,
            port=settings.web.port,
            log_config=None,
            proxy_headers=True,
            access_log=False,  # paths carry login tokens and searches (names, phones): never logged
        )
        await uvicorn.Server(config).serve()
    finally:
        await core.close()


@web_app.callback(invoke_without_command=True)
def web(ctx: typer.Context) -> None:
    """Serve the desk on GRIDBOT_WEB_HOST:GRIDBOT_WEB_PORT (default 127.0.0.1:8088)."""
    if ctx.invoked_subcommand is not None:
        return
    from bot.ops.logs import configure_logging

    settings = Settings()
    configure_logging(settings.logging.level, settings.logging.format)
    asyncio.run(serve(settings))


async def login_link(settings: Settings, name: str) -> str | None:
    """A single-use login link for the person called `name`; None when nobody by that name may use the desk."""
    from bot.schedule.clock import SystemClock
    from handlers.desk.login import issue_link, may_use_desk
    from storage.database import make_engine, make_session_factory
    from storage.uow import SqlUnitOfWorkFactory

    engine = make_engine(settings.database.url)
    clock = SystemClock(settings.timezone)
    try:
        async with SqlUnitOfWorkFactory(make_session_factory(engine), clock)() as uow:
            person = await uow.desk.person_by_name(name)
            if person is None or not may_use_desk(person):
                return None
            site = settings.web.public_url or await uow.desk.site_url() or public_url(settings)
            url = await issue_link(uow.desk, person, clock.now(), site=site)
            await uow.commit()
            return url
    finally:
        await engine.dispose()


@web_app.command("login-link")
def login_link_command(
    name: Annotated[str, typer.Argument(help="the person's name, as in the community file")],
) -> None:
    """Print a single-use login link (valid 10 minutes) for a staff member, grid leader or grid member."""
    url = asyncio.run(login_link(Settings(), name))
    if url is None:
        typer.echo(f"no staff member, grid leader or grid member is called {name!r}", err=True)
        raise typer.Exit(1)
    typer.echo(url)
