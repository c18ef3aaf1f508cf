"""`gridbot report ...`: the monthly workbook for the 街道, order exports, and the statistics roll-up.

Registered by bot/cli/main.py as `app.add_typer(report_app, name="report")`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from bot.settings import Settings
from handlers.ports import Clock
from handlers.statistics.assessment import Weights
from handlers.statistics.exports import (
    day_range,
    export_orders_csv,
    export_orders_xlsx,
    write_monthly_workbook,
)
from handlers.statistics.periods import month_bounds
from handlers.statistics.ports import OrderFilter
from handlers.statistics.rollup import RollupResult, roll_up
from nlp.categories import Catalog, load_catalog
from nlp.errors import NlpError
from storage.uow import SqlUnitOfWorkFactory

report_app = typer.Typer(help="Statistics, 考核 and the monthly report (月报).", no_args_is_help=True)


@dataclass
class _Env:
    uow_factory: SqlUnitOfWorkFactory
    clock: Clock
    categories: Catalog  # GRIDBOT_RULES_FILE's, for the names in workbooks and exports


@asynccontextmanager
async def database_env() -> AsyncIterator[_Env]:
    """Settings, logging and a migrated database for one CLI command (`gridbot nlp labels` uses it too)."""
    from bot.ops.logs import configure_logging
    from bot.schedule.clock import SystemClock
    from storage.database import make_engine, make_session_factory
    from storage.migrate import pending_revisions

    settings = Settings()
    configure_logging(settings.logging.level, settings.logging.format)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    try:
        categories = load_catalog(settings.nlp.rules_file)
    except NlpError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from error
    engine = make_engine(settings.database.url)
    try:
        if await pending_revisions(engine):
            typer.echo("the database schema is not up to date: run `gridbot db upgrade`", err=True)
            raise typer.Exit(1)
        clock = SystemClock(settings.timezone)
        yield _Env(SqlUnitOfWorkFactory(make_session_factory(engine), clock), clock, categories)
    finally:
        await engine.dispose()


async def _roll_up(env: _Env, everything: bool = False) -> RollupResult:
    return await roll_up(env.uow_factory, env.clock, max_days=None, everything=everything)


@report_app.command("monthly")
def monthly(
    month: Annotated[str, typer.Option("--month", help="YYYY-MM")],
    out: Annotated[Path, typer.Option("--out", help="the workbook to write (.xlsx)")],
    weights: Annotated[
        str, typer.Option("--weights", help="考核 weights: response,resolution,satisfaction")
    ] = "30,35,35",
    bring_up_to_date: Annotated[
        bool,
        typer.Option("--roll-up/--no-roll-up", help="first recompute the days changed since the last tick"),
    ] = True,
) -> None:
    """Write the month's workbook: summary, by category, by compound, by grid, by member (考核), overdue
    orders and 不满意 ratings."""
    try:
        month_bounds(month)
        parsed = Weights.parse(weights)
    except ValueError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from error

    async def go() -> int:
        async with database_env() as env:
            if bring_up_to_date:
                await _roll_up(env)
            async with env.uow_factory() as uow:
                report = await write_monthly_workbook(
                    uow, month, env.clock.now(), out, parsed, categories=env.categories
                )
            return report.total.new

    new = asyncio.run(go())
    typer.echo(f"{out}: {month}, {new} new order(s)")


@report_app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", help="a .csv or .xlsx file")],
    first: Annotated[str, typer.Option("--from", help="first day reported, YYYY-MM-DD")],
    last: Annotated[str, typer.Option("--to", help="last day reported, YYYY-MM-DD")],
    category: Annotated[str | None, typer.Option(help="category key, e.g. repair")] = None,
    compound: Annotated[int | None, typer.Option(help="compound id")] = None,
    grid: Annotated[int | None, typer.Option(help="grid id")] = None,
    assignee: Annotated[int | None, typer.Option(help="person id")] = None,
) -> None:
    """Export the orders reported in a date range (with every timestamp) as CSV or Excel."""
    try:
        start_day, end_day = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError as error:
        typer.echo(f"dates are YYYY-MM-DD: {error}", err=True)
        raise typer.Exit(2) from error
    if out.suffix.lower() not in (".csv", ".xlsx"):
        typer.echo("--out must end in .csv or .xlsx", err=True)
        raise typer.Exit(2)

    async def go() -> int:
        async with database_env() as env:
            zone = env.clock.now().tzinfo
            assert zone is not None
            start, end = day_range(start_day, end_day, zone)
            selection = OrderFilter(start, end, category, compound, grid, assignee)
            async with env.uow_factory() as uow:
                if out.suffix.lower() == ".csv":
                    with out.open("w", encoding="utf-8-sig", newline="") as stream:
                        return await export_orders_csv(
                            uow, selection, stream, zone, categories=env.categories
                        )
                return await export_orders_xlsx(uow, selection, out, zone, categories=env.categories)

    count = asyncio.run(go())
    typer.echo(f"{out}: {count} order(s)")


@report_app.command("rollup")
def rollup(
    everything: Annotated[
        bool, typer.Option("--all", help="recompute every day since the first order")
    ] = False,
) -> None:
    """Bring the daily statistics up to date now (the scheduler does it every few minutes)."""

    async def go() -> RollupResult:
        async with database_env() as env:
            return await _roll_up(env, everything)

    result = asyncio.run(go())
    typer.echo(f"{result.recomputed} day(s) recomputed")
