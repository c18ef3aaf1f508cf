"""Issue 7's benchmark: throughput and latency under load (SQLite vs PostgreSQL, 1 vs 2 replicas), and the
cost of storage growth (the order queries on 1,000,000 historical work orders, before and after indexes).

Part "load" (same run, same machine, a fresh database each):

- configurations: 1 replica on SQLite, 1 replica on PostgreSQL, 2 replicas on PostgreSQL; every one is
  `gridbot run --webhook` behind the round-robin proxy (tests/replicas/proxy.py, here its own process), with
  Redis for the shared send limits, against the standalone Bot API emulator (no flood limits);
- residents' reports (each opens a work order: classify, route, one transaction, three messages out) at
  increasing offered rates, a few seconds each, then a burst of N at once;
- per step: answered msgs/s (answered / (last answer - first post)), p50/p99 of report -> first answer
  (the resident's confirmation, as recorded at the emulator); per configuration: msgs/s at saturation (the
  best step), RSS of each replica at the end (max over the run), and the ratios 2 vs 1 replica and
  PostgreSQL vs SQLite.

Part "storage": a fresh PostgreSQL database at migration 0005 filled with N historical orders (see
bench_storage_data.py), VACUUM ANALYZE; each SqlWorkOrderRepository query timed (median of several runs,
through the repository, so including row loading), with EXPLAIN (ANALYZE, BUFFERS) of its SQL; then the
migration 0006 (history indexes) is applied (timed) and everything measured again; speed-up per query.

Run: make bench-load   (or .venv/bin/python benchmarks/bench_load.py [--quick] [--part storage] [--orders N])
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_storage_data import load_history  # noqa: E402
from loadkit import (  # noqa: E402  (after the path set-up so the script runs from anywhere)
    HEADER,
    ROOT,
    Residents,
    Step,
    bot_env,
    emulator,
    free_port,
    prepare,
    rss_mib,
    start_process,
    stop,
)
from sqlalchemy import event, select, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from nlp.types import Category  # noqa: E402
from storage.database import make_engine, make_session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import PersonRow, WorkOrderRow  # noqa: E402
from storage.repositories.workorders import SqlWorkOrderRepository  # noqa: E402
from tests.e2e.gridbot_harness import example_spec  # noqa: E402
from tests.services import listening  # noqa: E402

ADMIN_URL = os.environ.get("GRIDBOT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("GRIDBOT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
SECRET = "bench-secret_0123456789"


# ----------------------------------------------------------------------------- PostgreSQL databases


@asynccontextmanager
async def scratch_database(admin_url: str) -> Any:
    """A fresh database gridbot_bench_<hex> on the server of `admin_url`, dropped afterwards."""
    name = f"gridbot_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


# ----------------------------------------------------------------------------- part 1: load


@contextmanager
def proxy_process(upstreams: list[str], log: Path) -> Iterator[str]:
    """tests/replicas/proxy.py in a process of its own (not sharing the load generator's event loop)."""
    port = free_port()
    code = (
        "import asyncio, sys\n"
        "from tests.replicas.proxy import RoundRobinProxy\n"
        "import tests.replicas.proxy as p\n"
        f"p.free_port = lambda: {port}\n"
        "async def main():\n"
        "    proxy = RoundRobinProxy(sys.argv[1:])\n"
        "    await proxy.start()\n"
        "    print(proxy.url, flush=True)\n"
        "    await asyncio.Event().wait()\n"
        "asyncio.run(main())\n"
    )
    with log.open("ab") as err:
        process = subprocess.Popen(
            [sys.executable, "-c", code, *upstreams], cwd=ROOT, stdout=subprocess.PIPE, stderr=err
        )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().decode().strip()
        assert url, f"the proxy did not start: see {log}"
        yield url
    finally:
        stop(process)


async def redis_available(url: str) -> bool:
    try:
        from redis.asyncio import Redis
    except ImportError:
        return False
    client = Redis.from_url(url, socket_connect_timeout=1.0)
    try:
        await client.ping()
        return True
    except Exception:  # any failure to connect means "not available"
        return False
    finally:
        await client.aclose()


async def clean_redis(url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter("gridbot:rl:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@dataclass
class LoadResult:
    name: str
    steps: list[Step]
    rss: list[float]  # MiB per replica (max sampled over the run)
    saturation: float = 0.0
    best: Step | None = field(default=None)


async def run_configuration(
    name: str, url: str, replicas: int, args: argparse.Namespace, tmp: Path
) -> LoadResult:
    rates: list[float] = args.rates
    total = 30 + sum(int(r * args.step_seconds) for r in rates) + args.burst
    await prepare(url, total)
    redis_url = REDIS_URL if args.redis else None
    if redis_url:
        await clean_redis(redis_url)
    ports = [free_port() for _ in range(replicas)]
    with (
        emulator() as api,
        proxy_process([f"http://127.0.0.1:{p}/telegram" for p in ports], tmp / f"{name}-proxy.log") as hook,
    ):
        processes = []
        for i, port in enumerate(ports):
            env = bot_env(
                url,
                args.adapter,
                api,
                GRIDBOT_WEBHOOK_URL=hook,
                GRIDBOT_WEBHOOK_SECRET=SECRET,
                GRIDBOT_WEBHOOK_HOST="127.0.0.1",
                GRIDBOT_WEBHOOK_PORT=str(port),
                GRIDBOT_WEBHOOK_PATH="/telegram",
                GRIDBOT_BROADCAST_SENDER_NAME=f"bench-{i}",
                **({"GRIDBOT_REDIS_URL": redis_url} if redis_url else {}),
            )
            processes.append(
                start_process(["-m", "bot.cli.run", "--webhook"], env, tmp / f"{name}-replica{i}.log")
            )
        rss = [0.0] * replicas

        def sample() -> None:
            for i, process in enumerate(processes):
                if process.poll() is None:
                    rss[i] = max(rss[i], rss_mib(process.pid))

        try:
            for port in ports:
                await listening(port, 60)
            residents = Residents(api)
            steps: list[Step] = []
            async with residents.session():
                warm = await residents.step(10, 30, settle=60)  # start-up, jieba, first connections
                assert warm.answered == warm.sent, f"{name} did not answer: see {tmp}"
                sample()
                for rate in rates:
                    count = max(1, int(rate * args.step_seconds))
                    steps.append(await residents.step(rate, count, settle=args.settle))
                    sample()
                    print(f"    {name:14} {steps[-1].row()}", flush=True)
                if args.burst:
                    burst = await residents.step(100_000, args.burst, settle=args.settle * 2)
                    burst.offered = float("inf")
                    steps.append(burst)
                    sample()
                    print(f"    {name:14} {burst.row()}", flush=True)
        finally:
            for process in processes:
                stop(process)
    if redis_url:
        await clean_redis(redis_url)
    result = LoadResult(name, steps, rss)
    complete = [s for s in steps if s.answered == s.sent] or steps
    result.best = max(complete, key=lambda s: s.throughput)
    result.saturation = result.best.throughput
    return result


async def part_load(args: argparse.Namespace, tmp: Path) -> None:
    args.redis = await redis_available(REDIS_URL)
    print(
        f"\n== Load: {args.adapter}, webhook behind the round-robin proxy, Redis "
        f"{'on' if args.redis else 'OFF (not reachable)'}; rates {args.rates} /s for {args.step_seconds:g} s "
        f"each, then a burst of {args.burst}; {os.cpu_count()} CPUs shared by everything"
    )
    print(f"    {'config':14} {HEADER}")
    results: dict[str, LoadResult] = {}
    results["sqlite-1"] = await run_configuration(
        "sqlite-1", f"sqlite+aiosqlite:///{tmp / 'bench-load.db'}", 1, args, tmp
    )
    for replicas in (1, 2):
        async with scratch_database(args.admin_url) as url:
            name = f"postgres-{replicas}"
            results[name] = await run_configuration(name, url, replicas, args, tmp)
    print(
        f"\n  {'configuration':14} {'msgs/s sat.':>11} {'at offered':>10} {'p50 ms':>8} {'p99 ms':>8}  RSS MiB/replica"
    )
    for name, result in results.items():
        assert result.best is not None
        light = result.steps[0]
        print(
            f"  {name:14} {result.saturation:>11.1f} {result.best.offered:>10.0f} {light.p50_ms:>8.1f} "
            f"{light.p99_ms:>8.1f}  {' / '.join(f'{r:.0f}' for r in result.rss)}"
        )
    print(f"  (p50/p99 at the lightest step, {args.rates[0]:g}/s; every step is listed above)")

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x" if b else "n/a"

    s1, p1, p2 = results["sqlite-1"], results["postgres-1"], results["postgres-2"]
    print(f"  2 vs 1 replica (PostgreSQL): msgs/s {ratio(p2.saturation, p1.saturation)}")
    print(f"  PostgreSQL vs SQLite (1 replica): msgs/s {ratio(p1.saturation, s1.saturation)}")
    for i, rate in enumerate(args.rates):
        print(
            f"  at {rate:g}/s: p50 PG/SQLite {ratio(p1.steps[i].p50_ms, s1.steps[i].p50_ms)}, "
            f"p99 PG/SQLite {ratio(p1.steps[i].p99_ms, s1.steps[i].p99_ms)}; "
            f"p99 2/1 replicas {ratio(p2.steps[i].p99_ms, p1.steps[i].p99_ms)}"
        )


# ----------------------------------------------------------------------------- part 2: storage growth


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


@dataclass
class Subjects:
    now: datetime
    people: list[int]
    grid_id: int
    building_id: int
    resident_id: int


Query = Callable[[SqlWorkOrderRepository, Subjects], Awaitable[object]]

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
            from storage.uow import SqlUnitOfWorkFactory

            now = datetime.now(UTC).replace(microsecond=0)
            factory = SqlUnitOfWorkFactory(make_session_factory(engine), FixedClock(now))
            async with factory() as uow:
                await uow.community.apply(example_spec())
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
            before = await time_queries(engine, subjects, args.runs, "0005")
            start = time.perf_counter()
            await upgrade(engine, "head")
            migrated = time.perf_counter() - start
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text("ANALYZE"))
                sizes = (
                    await connection.execute(
                        text(
                            "SELECT pg_size_pretty(pg_total_relation_size('work_orders')), "
                            "pg_size_pretty(pg_total_relation_size('order_events'))"
                        )
                    )
                ).one()
            print(
                f"\n  migration 0006 (history indexes) on this database: {migrated:.1f} s; "
                f"now work_orders {sizes[0]}, order_events {sizes[1]}"
            )
        finally:
            await engine.dispose()
        engine = make_engine(url)  # fresh connections: no plan cached from before the indexes
        try:
            after = await time_queries(engine, subjects, args.runs, "0006")
        finally:
            await engine.dispose()
    print(
        f"\n  {'query':24} {'repository ms (median)':>32}   {'its SQL ms (EXPLAIN ANALYZE)':>32}\n"
        f"  {'':24} {'0005':>10} {'0006':>10} {'speed-up':>9}   {'0005':>10} {'0006':>10} {'speed-up':>9}"
    )
    for name in QUERIES:
        (b, bs), (a, as_) = before[name], after[name]
        print(
            f"  {name:24} {b:>10.2f} {a:>10.2f} {b / a:>8.1f}x   {bs:>10.2f} {as_:>10.2f} {bs / as_:>8.1f}x"
        )
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
    return Subjects(
        now.astimezone(ZoneInfo("Asia/Shanghai")), people, int(row[0] or 0), int(row[1] or 0), int(row[2])
    )


# ----------------------------------------------------------------------------- main


async def main_async(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    if args.part in ("all", "storage"):
        await part_storage(args)
    if args.part in ("all", "load"):
        with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
            await part_load(args, Path(tmp))
    print(f"\n(bench-load took {time.perf_counter() - started:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--part", choices=["all", "load", "storage"], default="all")
    parser.add_argument("--quick", action="store_true", help="fewer orders, rates and runs (~2 min)")
    parser.add_argument("--orders", type=int, default=None, help="historical orders (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=None, help="timed runs per query (median)")
    parser.add_argument("--rates", type=float, nargs="+", default=None, help="offered reports/s per step")
    parser.add_argument("--step-seconds", type=float, default=None, help="length of each rate step")
    parser.add_argument("--burst", type=int, default=None, help="reports posted at once after the steps")
    parser.add_argument("--settle", type=float, default=30.0, help="max wait for a step's last answers, s")
    parser.add_argument("--adapter", choices=["ptb", "aiogram"], default="aiogram")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="PostgreSQL URL allowed to CREATE DATABASE")
    parser.add_argument("--tmp", default=None, help="directory for the SQLite database and the logs")
    args = parser.parse_args()
    quick = args.quick
    args.orders = args.orders or (200_000 if quick else 1_000_000)
    args.runs = args.runs or (3 if quick else 7)
    args.rates = args.rates or ([5, 20, 80] if quick else [5, 10, 20, 40, 80, 160])
    args.step_seconds = args.step_seconds or (4.0 if quick else 6.0)
    args.burst = args.burst if args.burst is not None else (200 if quick else 400)
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
