"""The `gridbot` command line."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from bot.cli.broadcast import broadcast_app
from bot.cli.invite import invite_command
from bot.cli.nlp import classify_command, nlp_app, rules_app
from bot.cli.report import report_app
from bot.cli.run import run as run_command
from bot.cli.unreachable import UNREACHABLE_EXIT, unreachable
from bot.imports.community_file import CommunityFileError, load_community
from bot.ops.doctor import DEFAULT_TIMEOUT
from bot.ops.logs import configure_logging
from bot.settings import NlpSettings, Settings
from nlp.categories import load_catalog
from nlp.errors import NlpError
from web.cli import web_app

T = TypeVar("T")

app = typer.Typer(help="gridbot: the community grid assistant (社区网格助手).", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
org_app = typer.Typer(
    help="The community structure (compounds, buildings, grids, people).", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
org_app.command("invite")(invite_command)
app.add_typer(rules_app, name="rules", help="Classifier rule quality: evaluate and suggest keywords.")
app.add_typer(nlp_app, name="nlp", help="The classifier's learned second opinion: train it.")
app.command("classify")(classify_command)
app.command("run")(run_command)
app.add_typer(broadcast_app, name="broadcast", help="Safety and anti-fraud broadcasts (广播).")
app.add_typer(report_app, name="report")
app.add_typer(web_app, name="web")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    async def settled() -> T:
        try:
            return await coro
        except Exception:
            # aiosqlite stops a connection that failed to open through this loop, from its worker
            # thread: give it the moment it needs, or the thread prints "Event loop is closed" on the
            # way out, after the one line that says what is wrong.
            await asyncio.sleep(0.1)
            raise

    return asyncio.run(settled())


def _settings() -> Settings:
    settings = Settings()
    # The same format and redaction as `gridbot run` (tokens scrubbed, phones masked, SQL/HTTP quiet).
    configure_logging(settings.logging.level, settings.logging.format)
    return settings


@app.command("doctor")
def doctor(
    timeout: Annotated[
        float, typer.Option("--timeout", help="seconds for each network check")
    ] = DEFAULT_TIMEOUT,
) -> None:
    """Check settings, database and migrations, community, Redis, the token and the webhook."""
    from bot.ops.doctor import run_checks

    checks = _run(run_checks(Settings, timeout))  # Settings() loads them as `gridbot run` would
    for check in checks:
        typer.echo(check.render())
    if any(check.ok is False for check in checks):
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="show Alembic's own log lines")] = False,
) -> None:
    """Create or migrate the database schema to the newest version; says which migrations it applied."""
    from storage.database import make_engine
    from storage.migrate import upgrade

    settings = _settings()

    async def go() -> list[str]:
        engine = make_engine(settings.database.url)
        try:
            return await upgrade(engine, verbose=verbose)
        finally:
            await engine.dispose()

    applied = _run(go())
    typer.echo(f"applied {', '.join(applied)}" if applied else "already up to date")


@org_app.command("import")
def org_import(
    file: Annotated[Path, typer.Argument(help="community YAML file")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only validate")] = False,
) -> None:
    """Validate a community file and load it; nothing changes when it has errors.

    Its `routing:` and `sla:` may name the categories of the rules file in effect (GRIDBOT_RULES_FILE).
    """
    try:
        categories = load_catalog(NlpSettings().rules_file)
    except NlpError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error
    try:
        spec = load_community(file, categories)
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


@org_app.command("export")
def org_export(
    file: Annotated[Path, typer.Argument(help="where to write the community YAML file")],
    name: Annotated[str, typer.Option("--name", help="the community's name, written into the file")] = "社区",
) -> None:
    """Write the stored structure (with the desk's edits) as a community file that `org import` reads back."""
    from bot.app import NotMigrated, build_app
    from bot.imports.community_export import dump_community

    settings = _settings()

    async def go() -> str:
        app_ = await build_app(settings, classifier=_NoClassifier())
        try:
            async with app_.uow_factory() as uow:
                return dump_community(await uow.community.spec(), name)
        finally:
            await app_.close()

    try:
        text = _run(go())
    except NotMigrated as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error
    file.write_text(text, encoding="utf-8")
    typer.echo(f"exported the community structure to {file}")


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
    from handlers.care.ledger_import import LedgerImportError, import_rows

    try:
        rows = load_ledger(file)
    except LedgerFileError as error:
        typer.echo(f"{file}: {len(error.problems)} problem(s), nothing was changed:", err=True)
        for problem in error.problems:
            where = f"{file}:" if problem.startswith("line ") else f"{file}: "  # "f:12: .." or "f: .."
            typer.echo(f"  {where}{problem.removeprefix('line ')}", err=True)
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

    lines = _script_lines(script) if script is not None else None
    settings = _settings()
    logging.getLogger().setLevel(logging.WARNING)  # the transcript is the output

    async def go() -> bool:
        app_ = await build_app(settings, clock=ConsoleClock(SystemClock(settings.timezone)))
        try:
            await load_campaigns(app_)
            session = ConsoleSession(app_)
            await session.load_personas()
            if lines is not None:
                await session.run_lines(lines, echo=True)
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


def _script_lines(script: Path) -> list[str]:
    """The demo script's lines; a wrong path or encoding is one line on stderr, not a traceback."""
    try:
        return script.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        typer.echo(f"cannot read the script {script}: {error.strerror or type(error).__name__}", err=True)
    except UnicodeDecodeError:
        typer.echo(f"cannot read the script {script}: it is not UTF-8 text", err=True)
    raise typer.Exit(2)


def _interactive_lines(session: Any) -> Any:
    while True:
        prompt = f"{session.current.name} > " if session.current else "> "
        try:
            yield input(prompt)
        except EOFError:
            return


def main() -> None:
    try:
        app()
    except Exception as error:
        reason = unreachable(error)
        if reason is None:
            raise
        # A service away is not a bug: one line, no traceback, and its own exit status.
        typer.echo(f"gridbot: {reason}", err=True)
        raise SystemExit(UNREACHABLE_EXIT) from None


if __name__ == "__main__":
    main()
