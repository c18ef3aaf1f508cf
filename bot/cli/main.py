"""The `gridbot` command line."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from bot.cli.broadcast import broadcast_app
from bot.cli.nlp import classify_command, rules_app
from bot.cli.run import run as run_command
from bot.imports.community_file import CommunityFileError, load_community
from bot.ops.doctor import doctor_command
from bot.ops.logs import configure_logging
from bot.settings import Settings

T = TypeVar("T")

app = typer.Typer(help="gridbot: the community grid assistant (社区网格助手).", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
org_app = typer.Typer(
    help="The community structure (compounds, buildings, grids, people).", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
app.add_typer(rules_app, name="rules", help="Classifier rule quality: evaluate and suggest keywords.")
app.command("classify")(classify_command)
app.command("run")(run_command)
app.command("doctor")(doctor_command)
app.add_typer(broadcast_app, name="broadcast", help="Safety and anti-fraud broadcasts (广播).")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def _settings() -> Settings:
    settings = Settings()
    # The same format and redaction as `gridbot run` (tokens scrubbed, phones masked, SQL/HTTP quiet).
    configure_logging(settings.log_level, settings.log_format)
    return settings


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the newest version."""
    from storage.database import make_engine
    from storage.migrate import upgrade

    settings = _settings()

    async def go() -> None:
        engine = make_engine(settings.database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    _run(go())
    typer.echo("database is up to date")


@org_app.command("import")
def org_import(
    file: Annotated[Path, typer.Argument(help="community YAML file")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only validate")] = False,
) -> None:
    """Validate a community file and load it; nothing changes when it has errors."""
    try:
        spec = load_community(file)
    except CommunityFileError as error:
        typer.echo(f"{file}: {len(error.problems)} problem(s), nothing was changed:", err=True)
        for problem in error.problems:
            typer.echo(f"  {problem.render(str(file))}", err=True)
        raise typer.Exit(1) from error
    buildings = sum(len(c.buildings) for c in spec.compounds)
    summary = (
        f"{spec.name}: {len(spec.compounds)} compounds, {buildings} buildings, {len(spec.grids)} grids, "
        f"{len(spec.people)} people, {len(spec.residents)} residents"
    )
    if dry_run:
        typer.echo(f"valid: {summary}")
        return
    from bot.app import NotMigrated, build_app

    settings = _settings()

    async def go() -> None:
        app_ = await build_app(settings, classifier=_NoClassifier())
        try:
            async with app_.uow_factory() as uow:
                await uow.community.apply(spec, app_.clock.now())
                await uow.commit()
        finally:
            await app_.close()

    try:
        _run(go())
    except NotMigrated as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error
    typer.echo(f"imported {summary}")


ledger_app = typer.Typer(help="The vulnerable-resident ledger (台账).", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")


@ledger_app.command("import")
def ledger_import(
    file: Annotated[
        Path, typer.Argument(help="CSV: chat_id,name,kinds,consent,checkin,compound,building,...")
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only validate the file")] = False,
) -> None:
    """Import a ledger spreadsheet (saved as CSV); nothing changes when any row has a problem."""
    from bot.app import NotMigrated, build_app
    from bot.imports.ledger_file import LedgerFileError, load_ledger
    from handlers.care.ledger import LedgerImportError, import_rows

    try:
        rows = load_ledger(file)
    except LedgerFileError as error:
        typer.echo(f"{file}: {len(error.problems)} problem(s), nothing was changed:", err=True)
        for problem in error.problems:
            typer.echo(f"  {file}:{problem.removeprefix('line ')}", err=True)
        raise typer.Exit(1) from error
    if dry_run:
        typer.echo(f"valid: {len(rows)} resident(s)")
        return
    settings = _settings()

    async def go() -> int:
        app_ = await build_app(settings, classifier=_NoClassifier())
        try:
            return await app_.core.run_job(lambda ctx: import_rows(ctx, rows))
        finally:
            await app_.close()

    try:
        count = _run(go())
    except LedgerImportError as error:
        typer.echo(f"{file}: {len(error.problems)} problem(s), nothing was changed:", err=True)
        for problem in error.problems:
            typer.echo(f"  {file}:{problem}", err=True)
        raise typer.Exit(1) from error
    except NotMigrated as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error
    typer.echo(
        f"imported {count} resident(s) into the ledger; those marked `ask` are asked for consent in chat"
    )


class _NoClassifier:
    """Importing the structure needs no classifier; skip loading its dictionary."""

    def classify(self, text: str) -> Any:  # pragma: no cover - never called
        raise NotImplementedError


@app.command()
def demo(
    script: Annotated[Path | None, typer.Option("--script", help="replay a scripted conversation")] = None,
) -> None:
    """Chat with gridbot in this terminal as any resident or member of the community."""
    from bot.app import NotMigrated, build_app, load_campaigns
    from bot.cli.console import CONSOLE_HELP, ConsoleSession
    from bot.schedule.clock import ConsoleClock, SystemClock

    settings = _settings()
    logging.getLogger().setLevel(logging.WARNING)  # the transcript is the output

    async def go() -> bool:
        app_ = await build_app(settings, clock=ConsoleClock(SystemClock(settings.timezone)))
        try:
            await load_campaigns(app_)
            session = ConsoleSession(app_)
            await session.load_personas()
            if script is not None:
                await session.run_lines(script.read_text(encoding="utf-8").splitlines(), echo=True)
                return not session.failed
            session.say(CONSOLE_HELP)
            if session.current is not None:
                session.say(f"—— 现在的身份：{session.current.name}（{session.current.label}）")
            await session.run_lines(_interactive_lines(session), echo=False)
            return not session.failed
        finally:
            await app_.close()

    try:
        ok = _run(go())
    except NotMigrated as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error
    if not ok:
        raise typer.Exit(1)


def _interactive_lines(session: Any) -> Any:
    while True:
        prompt = f"{session.current.name} > " if session.current else "> "
        try:
            yield input(prompt)
        except EOFError:
            return


def main() -> None:
    app()


if __name__ == "__main__":
    main()
