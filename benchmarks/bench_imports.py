"""Ledger import at district scale: 100,000 rows from a GBK CSV (as Excel on Chinese Windows saves it).

    python benchmarks/bench_imports.py [--rows 100000] [--postgres URL] [--baseline-rows 2000]

Measures, on a fresh SQLite database (and PostgreSQL when given a URL), what `gridbot ledger import` does:
read and decode the file, validate every row, then import all of them in one transaction. Then the same file
again (every resident known: the update path). The target is the whole first import (read + validate +
import) in at most 10 s on SQLite; the exit code is 1 when it is missed. CPU seconds and the load average are
printed too: on a machine busy with other work the wall time says more about the neighbours.

Baseline, in the same run (these machines are noisy): the row-by-row import this replaced (look the resident
up, save it, register the entry, one row at a time) on --baseline-rows rows, reported per row and scaled.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bot.imports.ledger_file import load_ledger  # noqa: E402
from bot.schedule.clock import SystemClock  # noqa: E402
from handlers.care.ledger import register  # noqa: E402
from handlers.care.ledger_import import ImportRow, import_rows  # noqa: E402
from handlers.community.model import Resident  # noqa: E402
from handlers.context import Context  # noqa: E402
from handlers.core import Core  # noqa: E402
from nlp.types import Classification  # noqa: E402
from storage.database import make_engine, make_session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import LedgerEntryRow  # noqa: E402
from storage.uow import SqlUnitOfWorkFactory  # noqa: E402
from tools.example_community import example_spec  # noqa: E402

TARGET_SECONDS = 10.0
HEADER = "chat_id,name,kinds,consent,checkin,compound,building,unit,room,note\n"
KINDS = ["独居老人", "孕产妇", "残疾人", "慢性病患者", "困难家庭", "独居老人、慢性病患者"]
PLACES = [("兴泰小区", 12), ("森源华府", 6), ("滨河花园", 3)]


def write_csv(path: Path, rows: int) -> None:
    """`rows` residents with Chinese names, kinds and addresses in the example community, saved as GBK."""
    lines = [HEADER]
    for i in range(rows):
        compound, buildings = PLACES[i % len(PLACES)]
        lines.append(
            f"{5_000_000_000 + i},居民{i:06d},{KINDS[i % len(KINDS)]},paper,{'是' if i % 4 == 0 else '否'},"
            f"{compound},{i % buildings + 1}号楼,{i % 3 + 1},{100 + i % 1700},随访备注{i % 10}\n"
        )
    path.write_bytes("".join(lines).encode("gbk"))


async def _fresh(url: str, schema: str | None) -> tuple[SqlUnitOfWorkFactory, AsyncEngine]:
    """A migrated database with the example community; on PostgreSQL in its own schema."""
    if schema is None:
        engine = make_engine(url)
    else:
        admin = make_engine(url)
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        await admin.dispose()
        engine = make_engine(url, connect_args={"server_settings": {"search_path": schema}})
    await upgrade(engine)
    factory = SqlUnitOfWorkFactory(make_session_factory(engine), SystemClock())
    async with factory() as uow:
        await uow.community.apply(example_spec())
        await uow.commit()
    return factory, engine


class _NoClassifier:
    """Importing classifies nothing; skip loading the dictionary."""

    def classify(self, text: str) -> Classification:
        raise NotImplementedError


async def _row_by_row(ctx: Context, rows: list[ImportRow]) -> int:
    """The import as it was before (one resident at a time): the baseline."""
    now = ctx.clock.now()
    for item in rows:
        resident = await ctx.uow.residents.by_chat(item.chat_id)
        compound = await ctx.uow.community.compound_by_name(item.compound or "")
        building = (
            await ctx.uow.community.find_building(compound.id, item.building or "") if compound else None
        )
        if resident is None:
            resident = Resident(id=None, chat_id=item.chat_id, name=item.name, consented_at=now)
        if building is not None:
            resident.building_id, resident.unit, resident.room = building.id, item.unit, item.room
        resident = await ctx.uow.residents.save(resident)
        await register(ctx, resident, item.row, None)
    return len(rows)


async def run(url: str, path: Path, label: str, baseline_rows: int, schema: str | None = None) -> float:
    factory, engine = await _fresh(url, schema)
    core = Core(factory, _NoClassifier(), SystemClock())
    started, cpu = time.perf_counter(), time.process_time()
    rows = load_ledger(path)
    read = time.perf_counter()
    await core.run_job(lambda ctx: import_rows(ctx, rows))
    first, cpu = time.perf_counter(), time.process_time() - cpu
    await core.run_job(lambda ctx: import_rows(ctx, rows))
    again = time.perf_counter()
    async with factory() as uow:
        stored = await uow.session.scalar(select(func.count()).select_from(LedgerEntryRow))
    total = first - started
    print(
        f"{label}: {len(rows):,} rows: read+validate {read - started:.2f} s, import {first - read:.2f} s, "
        f"total {total:.2f} s ({len(rows) / total:,.0f} rows/s, {cpu:.2f} s of CPU in this process, "
        f"load average {os.getloadavg()[0]:.1f}); again (all known) {again - first:.2f} s; "
        f"{stored:,} ledger entries"
    )
    if baseline_rows:
        factory_b, engine_b = await _fresh(url, schema)
        core_b = Core(factory_b, _NoClassifier(), SystemClock())
        sample = rows[:baseline_rows]
        t0 = time.perf_counter()
        await core_b.run_job(lambda ctx: _row_by_row(ctx, sample))
        per_row = (time.perf_counter() - t0) / len(sample)
        print(
            f"{label}: baseline row by row: {per_row * 1000:.2f} ms/row on {len(sample):,} rows "
            f"(≈{per_row * len(rows):,.0f} s for {len(rows):,}); batched: {(first - read) / len(rows) * 1000:.3f} ms/row"
        )
        await engine_b.dispose()
    await engine.dispose()
    if schema is not None:
        admin = make_engine(url)
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()
    return total


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres", help="also run on this PostgreSQL URL (a fresh schema is made)")
    parser.add_argument("--baseline-rows", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.csv"
        write_csv(path, args.rows)
        print(f"{path.stat().st_size / 1e6:.1f} MB GBK CSV")
        total = await run(f"sqlite+aiosqlite:///{tmp}/bench.db", path, "SQLite", args.baseline_rows)
        if args.postgres:
            await run(args.postgres, path, "PostgreSQL", args.baseline_rows, schema="bench_imports")
    met = total <= TARGET_SECONDS
    print(f"target: {args.rows:,} rows in ≤ {TARGET_SECONDS:.0f} s on SQLite: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
