"""bench_load's part "storage": the order queries on 1,000,000 historical work orders.

A fresh PostgreSQL database at migration 0005 filled with N historical orders (see bench_storage_data.py),
VACUUM ANALYZE, migrated to head (timed); each SqlWorkOrderRepository query timed (median of `--runs` runs,
through the repository, so including row loading), with EXPLAIN (ANALYZE, BUFFERS) of its SQL. (Until issue
16 it was also timed at 0005, before the history indexes; today's models no longer read that schema.)

Run through bench_load.py (``--part storage``).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bench_storage_data import load_history
from loadkit import scratch_database
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from nlp.types import Category
from storage.database import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import PersonRow, WorkOrderRow
from storage.repositories.workorders import SqlWorkOrderRepository
from storage.uow import SqlUnitOfWorkFactory
from tools.clock import FixedClock
from tools.example_community import example_spec

__all__ = ["part_storage"]


@dataclass
class Subjects:
    now: datetime
    people: list[int]
    grid_id: int
    building_id: int
    resident_id: int
    grid_members: list[int]  # the grid of `building_id`: whose open orders a report there counts


Query = Callable[[SqlWorkOrderRepository, Subjects], Awaitable[object]]

# Issue 16: the timer tick (claim_due), the overdue list and the staff lists, each <= 20 ms at 1,000,000 orders.
TARGET_MS = 20.0
TARGETED = ("claim_due", "overdue", "open_orders", "open_count_by_assignee")

QUERIES: dict[str, Query] = {
    "open_orders": lambda r, s: r.open_orders(),
    "open_count_by_assignee": lambda r, s: r.open_count_by_assignee(s.people),
    "overdue": lambda r, s: r.overdue(s.now),
    "claim_due": lambda r, s: r.claim_due(s.now),
    "statistics 30 d": lambda r, s: r.statistics(s.now - timedelta(days=30), s.now),
    "statistics 365 d": lambda r, s: r.statistics(s.now - timedelta(days=365), s.now),
    "for_resident": lambda r, s: r.for_resident(s.resident_id),
    "similar_open": lambda r, s: r.similar_open(
        Category.REPAIR, s.building_id, None, s.now - timedelta(hours=24)
    ),
    "last_assignee_in_grid": lambda r, s: r.last_assignee_in_grid(s.grid_id),
    # the flood count, "me too" and routing's loads of a report, in one statement (what a report runs since
    # the 20th wave)
    "report_checks": lambda r, s: r.report_checks(
        s.resident_id,
        s.now - timedelta(hours=1),
        Category.REPAIR,
        s.building_id,
        None,
        s.now - timedelta(hours=24),
        s.grid_members,
    ),
}


class StatementLog:
    """The SQL a repository method runs (minus the per-row loads by primary key), for EXPLAIN."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.on = False
        self.statements: list[tuple[str, Any]] = []

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _log(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            by_key = ".id = $1::" in statement and "LIMIT" not in statement and "count(" not in statement
            if self.on and not by_key and not statement.lstrip().upper().startswith(("BEGIN", "EXPLAIN")):
                self.statements.append((statement, parameters))


async def time_queries(
    engine: AsyncEngine, subjects: Subjects, runs: int, label: str
) -> dict[str, tuple[float, float]]:
    """Per query: (median ms through the repository, ms of its SQL statements by EXPLAIN ANALYZE)."""
    factory = make_session_factory(engine)
    clock = FixedClock(subjects.now)
    log = StatementLog(engine)
    medians: dict[str, tuple[float, float]] = {}
    for name, query in QUERIES.items():
        times = []
        for _ in range(runs + 1):  # the first one warms the cache and the statement cache
            async with factory() as session:
                repo = SqlWorkOrderRepository(session, clock)
                start = time.perf_counter()
                await query(repo, subjects)
                times.append((time.perf_counter() - start) * 1000)
                await session.rollback()
        median = statistics.median(times[1:])
        print(f"  [{label}] {name:24} median {median:9.2f} ms  (min {min(times[1:]):.2f}, runs {runs})")
        log.statements.clear()
        log.on = True
        async with factory() as session:
            await query(SqlWorkOrderRepository(session, clock), subjects)
            await session.rollback()
        log.on = False
        sql_ms = 0.0
        for statement, parameters in log.statements:
            async with engine.connect() as connection:
                rows = await connection.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters
                )
                plan = [str(row[0]) for row in rows]
                await connection.rollback()
            nodes = [line for line in plan if "->" in line or line == plan[0]]
            tail = [line.strip() for line in plan if line.startswith("Execution Time")]
            sql_ms += sum(float(line.split()[2]) for line in tail)
            for line in nodes[:4]:
                print(f"        {line[:130]}")
            if len(nodes) > 4:
                print(f"        ... ({len(nodes) - 4} more nodes)")
            print(f"        {' '.join(tail)}")
        medians[name] = (median, sql_ms)
    return medians


async def part_storage(args: argparse.Namespace) -> None:
    print(f"\n== Storage growth: {args.orders:,} historical orders on PostgreSQL")
    async with scratch_database(args.admin_url) as url:
        engine = make_engine(url)
        try:
            await upgrade(engine, "0005")
            now = datetime.now(UTC).replace(microsecond=0)
            factory = SqlUnitOfWorkFactory(make_session_factory(engine), FixedClock(now))
            async with factory() as uow:
                # Schema 0005 has no one without a chat id (invites came with 0012): those are left out.
                spec = example_spec()
                joined = tuple(p for p in spec.people if p.chat_id is not None)
                await uow.community.apply(dataclasses.replace(spec, people=joined))
                await uow.commit()
            start = time.perf_counter()
            async with engine.begin() as connection:
                await connection.execute(text("SET LOCAL synchronous_commit = off"))
                counts = await load_history(connection, args.orders, now)
            loaded = time.perf_counter() - start
            start = time.perf_counter()
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text("VACUUM ANALYZE"))
            vacuumed = time.perf_counter() - start
            async with engine.connect() as connection:
                open_count = (
                    await connection.execute(
                        text("SELECT count(*) FROM work_orders WHERE state NOT IN ('closed', 'cancelled')")
                    )
                ).scalar_one()
                sizes = (
                    await connection.execute(
                        text(
                            "SELECT pg_size_pretty(pg_total_relation_size('work_orders')), "
                            "pg_size_pretty(pg_total_relation_size('order_events'))"
                        )
                    )
                ).one()
            print(
                f"  loaded {counts['work_orders']:,} orders ({open_count:,} open) and "
                f"{counts['order_events']:,} events in {loaded:.1f} s, VACUUM ANALYZE {vacuumed:.1f} s; "
                f"work_orders {sizes[0]}, order_events {sizes[1]} (tables + indexes)"
            )
            subjects = await pick_subjects(engine, now)
            # The "before" of migration 0006 (history indexes) can no longer be timed: today's models read
            # columns added since (0011's emergency_check). The database goes to head, then is timed.
            start = time.perf_counter()
            await upgrade(engine, "head")
            migrated = time.perf_counter() - start
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text("ANALYZE"))
            print(f"\n  migrations 0006..head on this database: {migrated:.1f} s")
        finally:
            await engine.dispose()
        engine = make_engine(url)  # fresh connections: no plan cached from before the indexes
        try:
            after = await time_queries(engine, subjects, args.runs, "head")
        finally:
            await engine.dispose()
    print(f"\n  {'query':24} {'repository ms (median)':>24} {'its SQL ms':>12}   issue 16 target")
    for name in QUERIES:
        total, sql = after[name]
        target = (
            f"<= {TARGET_MS:g} ms: {'met' if total <= TARGET_MS else 'MISSED'}" if name in TARGETED else ""
        )
        print(f"  {name:24} {total:>24.2f} {sql:>12.2f}   {target}")
    print(
        "  (repository = the method as the bot calls it, including loading each row into a WorkOrder; "
        "SQL = the server's execution time of the statements it ran)"
    )


async def pick_subjects(engine: AsyncEngine, now: datetime) -> Subjects:
    async with make_session_factory(engine)() as session:
        people = [int(p) for p in await session.scalars(select(PersonRow.id).order_by(PersonRow.id))]
        row = (
            await session.execute(
                select(WorkOrderRow.grid_id, WorkOrderRow.building_id, WorkOrderRow.resident_id)
                .order_by(WorkOrderRow.id.desc())
                .limit(1)
            )
        ).one()
        members = [
            int(p)
            for p in await session.scalars(
                select(PersonRow.id).where(PersonRow.grid_id == row[0]).order_by(PersonRow.id)
            )
        ]
    return Subjects(
        now.astimezone(ZoneInfo("Asia/Shanghai")),
        people,
        int(row[0] or 0),
        int(row[1] or 0),
        int(row[2]),
        members,
    )
