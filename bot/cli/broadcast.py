"""`gridbot broadcast ...`: campaigns, broadcasts and their delivery, from the command line.

Registered by bot/cli.py as `app.add_typer(broadcast_app, name="broadcast")`; also runnable on its own
(`python -m bot.cli.broadcast ...`), which is how the tests start a sender process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from bot.settings import Settings
from handlers.broadcasts.model import BroadcastRefused
from handlers.broadcasts.requests import BroadcastRequest
from handlers.ports import Clock
from storage.queues.broadcasts import SqlDeliveryQueue
from storage.uow import SqlUnitOfWorkFactory

T = TypeVar("T")

broadcast_app = typer.Typer(
    help="Broadcasts: campaigns, schedules, delivery (广播推送).", no_args_is_help=True
)
campaigns_app = typer.Typer(
    help="The campaign library (deploy/campaigns/*.md and your own).", no_args_is_help=True
)
broadcast_app.add_typer(campaigns_app, name="campaigns")


@dataclass
class _Env:
    settings: Settings
    uow_factory: SqlUnitOfWorkFactory
    clock: Clock
    queue: SqlDeliveryQueue


@asynccontextmanager
async def _env() -> AsyncIterator[_Env]:
    from bot.ops.logs import configure_logging
    from bot.schedule.clock import SystemClock
    from storage.database import make_engine, make_session_factory
    from storage.migrate import pending_revisions

    settings = Settings()
    configure_logging(settings.logging.level, settings.logging.format)
    for noisy in (
        "sqlalchemy",
        "aiogram",
        "aiohttp",
        "alembic",
    ):  # their logs would carry chat ids, texts and the token
        logging.getLogger(noisy).setLevel(logging.WARNING)
    engine = make_engine(settings.database.url)
    try:
        if await pending_revisions(engine):
            typer.echo("the database schema is not up to date: run `gridbot db upgrade`", err=True)
            raise typer.Exit(1)
        clock = SystemClock(settings.timezone)
        session_factory = make_session_factory(engine)
        yield _Env(
            settings,
            SqlUnitOfWorkFactory(session_factory, clock),
            clock,
            SqlDeliveryQueue(session_factory, clock),
        )
    finally:
        await engine.dispose()


def _run(job: Callable[[_Env], Awaitable[T]]) -> T:
    async def go() -> T:
        async with _env() as env:
            return await job(env)

    try:
        return asyncio.run(go())
    except BroadcastRefused as error:
        from handlers.broadcasts.texts import refused

        typer.echo(f"{refused(error.code)} ({error})", err=True)
        raise typer.Exit(1) from error


# ----------------------------------------------------------------------------- campaigns


@campaigns_app.command("load")
def campaigns_load(
    directory: Annotated[
        list[Path] | None, typer.Argument(help="directories of *.md (default: settings)")
    ] = None,
) -> None:
    """Validate campaign files and store them; nothing changes when one has errors."""
    from bot.imports.campaigns import CampaignFileError, read_dirs, store

    async def job(env: _Env) -> int:
        broadcast = env.settings.broadcast
        dirs = directory or [d for d in (broadcast.campaigns_dir, broadcast.own_campaigns_dir) if d]
        files = read_dirs(dirs)
        async with env.uow_factory() as uow:
            await store(uow, files, env.settings.timezone)
            await uow.commit()
        return len(files)

    try:
        count = _run(job)
    except CampaignFileError as error:
        for problem in error.problems:
            typer.echo(problem, err=True)
        raise typer.Exit(1) from error
    typer.echo(f"loaded {count} campaigns")


@campaigns_app.command("list")
def campaigns_list() -> None:
    """List the stored campaigns."""

    async def job(env: _Env) -> None:
        async with env.uow_factory() as uow:
            for c in await uow.broadcasts.campaigns():
                typer.echo(f"{c.key:<28} {c.topic.value:<12} {c.title}")

    _run(job)


# ----------------------------------------------------------------------------- broadcasts


@broadcast_app.command("list")
def list_() -> None:
    """Recent broadcasts and their status."""
    from handlers.broadcasts.texts import list_line

    async def job(env: _Env) -> None:
        async with env.uow_factory() as uow:
            for b in await uow.broadcasts.recent(50):
                typer.echo(list_line(b))

    _run(job)


@broadcast_app.command("create")
def create(
    campaign: Annotated[str | None, typer.Option("--campaign", "-c", help="campaign key")] = None,
    text: Annotated[str | None, typer.Option("--text", help="message text (instead of a campaign)")] = None,
    text_file: Annotated[Path | None, typer.Option("--text-file", help="message text from a file")] = None,
    title: Annotated[str | None, typer.Option("--title")] = None,
    topic: Annotated[
        str | None, typer.Option("--topic", help="anti_fraud, fire_safety, ... activity")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="全体 / 兴泰小区 / 兴泰小区5号楼 / 第一网格 / 网格员")
    ] = None,
    at: Annotated[str | None, typer.Option("--at", help="once, local time: 2026-12-01T09:00")] = None,
    cron: Annotated[str | None, typer.Option("--cron", help='recurring: "0 9 * * 1"')] = None,
    season: Annotated[str | None, typer.Option("--season", help="yearly window: 03-01..05-31")] = None,
    until: Annotated[str | None, typer.Option("--until", help="no runs after this local time")] = None,
) -> None:
    """Create a draft broadcast and show its preview (approve it to schedule it)."""
    from handlers.broadcasts import texts as bt
    from handlers.broadcasts.planning import create as create_broadcast
    from handlers.broadcasts.planning import preview

    body = text_file.read_text(encoding="utf-8") if text_file else text
    request = BroadcastRequest(campaign, body, title, topic, to, at, cron, season, until)

    async def job(env: _Env) -> str:
        async with env.uow_factory() as uow:
            made = await create_broadcast(uow, env.clock, request, None, env.settings.timezone)
            shown = await preview(uow, env.clock, made)
            await uow.commit()
            return bt.preview(shown)

    typer.echo(_run(job))


@broadcast_app.command("preview")
def preview_(broadcast_id: int) -> None:
    """The rendered text, the recipient count and the next fire times."""
    from handlers.broadcasts import texts as bt
    from handlers.broadcasts.planning import get, preview

    async def job(env: _Env) -> str:
        async with env.uow_factory() as uow:
            return bt.preview(await preview(uow, env.clock, await get(uow, broadcast_id)))

    typer.echo(_run(job))


def _action(name: str, act: Callable[[_Env, Any, int], Awaitable[str]]) -> None:
    def command(broadcast_id: int) -> None:
        async def job(env: _Env) -> str:
            async with env.uow_factory() as uow:
                done = await act(env, uow, broadcast_id)
                await uow.commit()
                return done

        typer.echo(_run(job))

    command.__doc__ = {
        "approve": "Schedule a draft (a one-off without a time goes out at once).",
        "pause": "Stop new runs and hold undelivered messages.",
        "resume": "Continue a paused broadcast (missed fire times are skipped).",
        "cancel": "Stop for good; undelivered messages are dropped.",
    }[name]
    broadcast_app.command(name)(command)


async def _approve(env: _Env, uow: Any, broadcast_id: int) -> str:
    from handlers.broadcasts import planning as p
    from handlers.broadcasts import texts as bt

    return bt.approved(await p.approve(uow, env.clock, broadcast_id, None))


async def _pause(env: _Env, uow: Any, broadcast_id: int) -> str:
    from handlers.broadcasts import planning as p
    from handlers.broadcasts import texts as bt

    await p.pause(uow, broadcast_id)
    return bt.paused(broadcast_id)


async def _resume(env: _Env, uow: Any, broadcast_id: int) -> str:
    from handlers.broadcasts import planning as p
    from handlers.broadcasts import texts as bt

    await p.resume(uow, env.clock, broadcast_id)
    return bt.resumed(broadcast_id)


async def _cancel(env: _Env, uow: Any, broadcast_id: int) -> str:
    from handlers.broadcasts import planning as p
    from handlers.broadcasts import texts as bt

    _, dropped = await p.cancel(uow, broadcast_id)
    return bt.cancelled(broadcast_id, dropped)


_action("approve", _approve)
_action("pause", _pause)
_action("resume", _resume)
_action("cancel", _cancel)


@broadcast_app.command("plan")
def plan() -> None:
    """Expand every due broadcast into delivery rows now (what the scheduler tick does)."""
    from handlers.broadcasts.planning import notify_finished, plan_due

    async def job(env: _Env) -> tuple[int, int]:
        return await plan_due(env.uow_factory, env.clock, limit=100), await notify_finished(env.uow_factory)

    planned, finished = _run(job)
    typer.echo(f"planned {planned} runs; {finished} finished runs reported to staff")


@broadcast_app.command("status")
def status(
    broadcast_id: Annotated[int | None, typer.Argument(help="one broadcast (default: all)")] = None,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="live progress until nothing remains")] = False,
    interval: Annotated[float, typer.Option("--interval", help="seconds between refreshes")] = 1.0,
) -> None:
    """Progress: sent / failed / unreachable / remaining, rate and ETA."""
    from bot.delivery.progress import watch_progress

    async def job(env: _Env) -> None:
        await watch_progress(env.queue, broadcast_id, watch=watch, interval=interval, echo=typer.echo)

    _run(job)


@broadcast_app.command("send")
def send(
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="exit when nothing is left to send")
    ] = False,
    name: Annotated[str | None, typer.Option("--name", help="sender name (one process per name)")] = None,
) -> None:
    """Run a sender: claim deliveries and send them through Telegram within the limits."""
    from bot.delivery.broadcasts import BroadcastSender, telegram_messenger

    async def job(env: _Env) -> None:
        delivery = env.settings.delivery
        if name is not None:
            delivery = delivery.model_copy(update={"sender_name": name})
        token = env.settings.telegram.token
        if token is None:
            typer.echo("GRIDBOT_BOT_TOKEN is not set", err=True)
            raise typer.Exit(1)
        async with telegram_messenger(token.get_secret_value(), env.settings.telegram.api_url) as messenger:
            sender = BroadcastSender(env.queue, messenger, delivery, env.settings.broadcast)
            if until_idle:
                await sender.start()
                stats = await sender.drain()
                typer.echo(
                    f"sent {stats.sent}, unreachable {stats.unreachable}, failed {stats.failed}, "
                    f"requeued {stats.requeued}, 429s {stats.rate_limited}"
                )
                return
            stop = asyncio.Event()
            await sender.run(stop)

    _run(job)


if __name__ == "__main__":
    broadcast_app()
