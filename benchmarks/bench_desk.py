"""Issue 13's desk benchmark: the order list, search and order page with 1,000,000 orders on PostgreSQL.

Targets (copied as set): order list and search, server time p95 <= 100 ms; order page <= 50 ms.

A fresh PostgreSQL database (migrated to head) with the example community and N historical orders over three
years (bench_storage_data.py), whose texts are then varied (eight everyday reports instead of one, so a word
search finds some and misses others) and a share of residents given phone numbers; VACUUM ANALYZE. Then each
page is requested through the desk's ASGI app in-process (httpx ASGITransport: session check, the query, the
audit record, rendering — everything the server does, without a network), `--runs` times, logged in as the
example staff member (sees everything) or a grid member (sees one grid). Server time = that request's time.

The machine is shared and has 2 cores: figures are noisy; run it twice before believing a small difference.

Run: make bench-desk   (or .venv/bin/python benchmarks/bench_desk.py [--orders N] [--runs N])
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
from bench_storage_data import load_history
from loadkit import scratch_database
from sqlalchemy import text

from handlers.desk.login import issue_link
from handlers.workorders.sla import WeekdayCalendar
from nlp import load_classifier
from storage.database import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory
from tools.clock import FixedClock
from tools.example_community import example_spec
from web.app import create_app

ZONE = ZoneInfo("Asia/Shanghai")
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SITE = "http://desk.bench"
TARGET_LIST_P95_MS = 100.0
TARGET_ORDER_MS = 50.0
TEXTS = [
    "楼道灯坏了，晚上很黑",
    "厨房水管漏水，楼下天花板湿了",
    "小区门口垃圾好几天没人清运",
    "楼下有车一直占用消防通道",
    "电梯坏了，老人上下楼很困难",
    "楼上装修噪音太大，中午也不停",
    "想咨询一下养老补贴怎么申请",
    "单元门禁坏了，门关不上",
]
RARE = "楼上的狗叫了一晚上，睡不着"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(int(len(ordered) * 0.95 + 0.999999) - 1, 0)]


async def vary(engine: object, residents_with_phone: int) -> None:
    """Eight different texts instead of one; phones for some residents (searching by phone finds them)."""
    array = "ARRAY[" + ",".join(f"'{t}'" for t in TEXTS) + "]"
    async with engine.begin() as connection:  # type: ignore[attr-defined]
        await connection.execute(text("SET LOCAL synchronous_commit = off"))
        await connection.execute(
            text(f"UPDATE work_orders SET text = ({array})[1 + (id * 7) % {len(TEXTS)}]")
        )
        await connection.execute(
            text(
                "UPDATE residents SET phone = '139' || lpad(id::text, 8, '0') "
                f"WHERE id IN (SELECT id FROM residents ORDER BY id LIMIT {residents_with_phone})"
            )
        )
        # a two-character word few orders contain (25 of 1,000,000): found through the bigram index
        await connection.execute(text(f"UPDATE work_orders SET text = '{RARE}' WHERE id % 40000 = 11"))
        # a few orders with the desk's order number format, to be found by number
        await connection.execute(
            text("UPDATE work_orders SET number = 'GD20261201-' || id WHERE id % 100000 = 7")
        )


async def login(client: httpx.AsyncClient, factory: SqlUnitOfWorkFactory, name: str, now: datetime) -> None:
    async with factory() as uow:
        person = await uow.desk.person_by_name(name)
        assert person is not None, name
        url = await issue_link(uow.desk, person, now, site=SITE)
        await uow.commit()
    assert url is not None
    client.cookies.clear()
    response = await client.post("/login", data={"token": url.rsplit("/", 1)[1]})
    assert response.status_code == 303, response.text


async def measure(client: httpx.AsyncClient, path: str, runs: int) -> tuple[float, float, int]:
    """(p50, p95) in ms of `runs` requests, after one warm-up; and the last response's status."""
    status = (await client.get(path)).status_code
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = await client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        status = response.status_code
    times.sort()
    return times[len(times) // 2], p95(times), status


async def prepare(url: str, now: datetime, orders: int) -> SqlUnitOfWorkFactory:
    """Migrate and fill the database (unless it holds orders already: `--database` reuses one)."""
    engine = make_engine(url)
    await upgrade(engine)
    factory = SqlUnitOfWorkFactory(make_session_factory(engine), FixedClock(now))
    async with engine.connect() as connection:
        present = (await connection.execute(text("SELECT count(*) FROM work_orders"))).scalar_one()
    if present:
        print(f"  reusing {present:,} orders")
        return factory
    async with factory() as uow:
        await uow.community.apply(example_spec())
        await uow.commit()
    start = time.perf_counter()
    async with engine.begin() as connection:
        await connection.execute(text("SET LOCAL synchronous_commit = off"))
        counts = await load_history(connection, orders, now)
    await vary(engine, residents_with_phone=5_000)
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE"))
    print(f"  loaded {counts['work_orders']:,} orders in {time.perf_counter() - start:.1f} s")
    return factory


async def _one(factory: SqlUnitOfWorkFactory, sql: str) -> object:
    async with factory() as uow:
        return (await uow.session.execute(text(sql))).scalar_one()


async def measure_pages(factory: SqlUnitOfWorkFactory, now: datetime, runs: int) -> bool:
    first_phone = await _one(
        factory, "SELECT phone FROM residents WHERE phone IS NOT NULL ORDER BY id LIMIT 1"
    )
    middle = await _one(factory, "SELECT max(id) / 2 FROM work_orders")
    number = await _one(factory, "SELECT number FROM work_orders WHERE number LIKE 'GD%' LIMIT 1")
    grid_one = await _one(factory, "SELECT id FROM grids WHERE name = '第一网格'")
    # an order both viewers may open: the newest of 第一网格
    order = await _one(factory, f"SELECT max(id) FROM work_orders WHERE grid_id = {grid_one}")
    spec = example_spec()
    classifier = load_classifier(None, spec.compound_aliases())
    clock = FixedClock(now)
    app = create_app(factory, classifier, clock, WeekdayCalendar(), "Asia/Shanghai", SITE, publish=True)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    year = now.year
    pages = {
        "list, first page": "/orders",
        "list, page in the middle": f"/orders?before={middle}",
        "list, open orders": "/orders?state=open",
        "list, category repair": "/orders?category=repair",
        "list, overdue": "/orders?overdue=1",
        "list, one grid + date range": f"/orders?grid={grid_one}&from={year}-01-01&to={year}-03-31",
        "search, order number": f"/orders?q={number}",
        "search, phone": f"/orders?q={first_phone}",
        "search, resident name": "/orders?q=居民1234",
        "search, common word (漏水)": "/orders?q=漏水",
        "search, word + filter (open 漏水)": "/orders?q=漏水&state=open",
        "search, word nobody wrote (燃气泄露)": "/orders?q=燃气泄露",
        "search, 2 characters nobody wrote (燃气)": "/orders?q=燃气",
        "search, 2 characters few wrote (狗叫)": "/orders?q=狗叫",
        "search, 2 characters + grid + dates": f"/orders?q=漏水&grid={grid_one}&from={year}-01-01&to={year}-03-31",
    }
    ok = True
    async with httpx.AsyncClient(transport=transport, base_url=SITE) as client:
        p50, high, _ = await measure(client, "/healthz", runs)
        print(f"  floor on this machine now (/healthz, no database): p50 {p50:.1f} ms  p95 {high:.1f} ms")
        for who in ("陈主任", "李娜"):
            await login(client, factory, who, now)
            print(f"  as {who}:")
            for label, path in [*pages.items(), ("order page", f"/orders/{order}")]:
                target = TARGET_ORDER_MS if label == "order page" else TARGET_LIST_P95_MS
                p50, high, status = await measure(client, path, runs)
                met = high <= target and status == 200
                ok = ok and met
                print(
                    f"    {label:38s} p50 {p50:7.1f} ms  p95 {high:7.1f} ms  "
                    f"{'ok' if met else 'MISS'} (p95 <= {target:.0f} ms){'' if status == 200 else f' HTTP {status}'}"
                )
    return ok


async def run(args: argparse.Namespace) -> bool:
    print(f"== Desk on {args.orders:,} orders (PostgreSQL), {args.runs} requests per page")
    now = datetime.now(ZONE).replace(microsecond=0)
    if args.database:
        factory = await prepare(args.database, now, args.orders)
        return await measure_pages(factory, now, args.runs)
    async with scratch_database(args.postgres) as url:
        factory = await prepare(url, now, args.orders)
        try:
            return await measure_pages(factory, now, args.runs)
        finally:
            await factory.session_factory.kw["bind"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--postgres", default=os.environ.get("GRIDBOT_BENCH_POSTGRES", DEFAULT_POSTGRES))
    parser.add_argument("--database", help="an existing database to fill once and reuse (kept afterwards)")
    ok = asyncio.run(run(parser.parse_args()))
    print("all targets met" if ok else "some targets MISSED (see above)")


if __name__ == "__main__":
    main()
