"""The ledger import on SQLite and PostgreSQL: batched (a fixed number of statements, not one per row), the same
rules as row by row, and whatever passed validation fits the columns (PostgreSQL enforces VARCHAR lengths).

The 100k-row figure is benchmarks/bench_imports.py; here 10k rows keep the suite quick.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.imports import limits
from bot.imports.community_file import load_community
from bot.imports.ledger_file import parse_ledger
from handlers.care.ledger_import import LedgerImportError, import_rows
from handlers.care.model import Consent
from handlers.community.settings import ResidentSpec
from handlers.core import Core
from nlp.types import Classification
from storage import direct
from storage.models import LedgerEntryRow, OutboxRow, ResidentRow
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import EXAMPLE_COMMUNITY, RESIDENT_CHEN, RESIDENT_ZHANG
from tests.fakes import FakeClock
from tests.integration.conftest import Database

HEADER = "chat_id,name,kinds,consent,checkin,compound,building,unit,room,note\n"


class _NoClassifier:
    def classify(self, text: str) -> Classification:
        raise NotImplementedError  # importing classifies nothing


def core(uow_factory: SqlUnitOfWorkFactory, clock: FakeClock) -> Core:
    return Core(uow_factory, _NoClassifier(), clock)


@contextmanager
def counting_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        with direct.observe(lambda sql, _statement: statements.append(sql)):  # SQLite's direct statements
            yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def generated(rows: int, first_chat: int = 5_000_000_000) -> str:
    return HEADER + "".join(
        f"{first_chat + i},居民{i:06d},独居老人、慢性病患者,paper,{'是' if i % 2 else '否'},"
        f"兴泰小区,{i % 12 + 1}号楼,{i % 3 + 1},{100 + i % 900},\n"
        for i in range(rows)
    )


async def count(uow_factory: SqlUnitOfWorkFactory, model: Any) -> int:
    async with uow_factory() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


async def test_ten_thousand_rows_in_a_fixed_number_of_statements(
    database: Database, uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    rows = parse_ledger(generated(10_000))
    with counting_statements(database.engine) as statements:
        started = time.perf_counter()
        assert await core(uow_factory, clock).run_job(lambda ctx: import_rows(ctx, rows)) == 10_000
        elapsed = time.perf_counter() - started
    # Row by row this was ~7 ms a row (70 s here) and 100k+ statements; batched it is ~0.05 ms a row.
    assert len(statements) < 120, len(statements)
    assert elapsed < 10, elapsed
    assert await count(uow_factory, LedgerEntryRow) == 10_000
    async with uow_factory() as uow:
        checkin = await uow.session.scalar(select(func.count()).where(ResidentRow.checkin))
        stored = await uow.ledger.get_many(
            [r.id for r in (await uow.residents.by_chats([5_000_000_001])).values()]
        )
    assert checkin == 5_000
    (entry,) = stored.values()
    assert entry.consent is Consent.PAPER
    assert entry.label == "独居老人、慢性病患者"

    # The same file again: every resident and entry known, updated in place in as few statements.
    with counting_statements(database.engine) as statements:
        await core(uow_factory, clock).run_job(lambda ctx: import_rows(ctx, rows))
    assert len(statements) < 120, len(statements)
    assert await count(uow_factory, ResidentRow) == 10_000 + 2  # and the example's two residents


async def test_the_same_rules_as_row_by_row(uow_factory: SqlUnitOfWorkFactory, clock: FakeClock) -> None:
    """Known residents keep their name and an agreed consent; `ask` asks once; newcomers need paper."""
    job = core(uow_factory, clock)
    first = parse_ledger(
        HEADER + f"{RESIDENT_ZHANG},别的名字,独居老人,ask,no,,,,,\n{RESIDENT_CHEN},老陈,残疾人,ask,yes,,,,,\n"
    )
    await job.run_job(lambda ctx: import_rows(ctx, first))
    async with uow_factory() as uow:
        zhang = await uow.residents.by_chat(RESIDENT_ZHANG)
        assert zhang is not None
        assert zhang.id is not None
        assert zhang.name == "张阿姨"  # the bot's own record wins over the spreadsheet
        entry = await uow.ledger.get(zhang.id)
        assert entry is not None
        assert entry.consent is Consent.PENDING
        entry.consent = Consent.CHAT  # 张阿姨 agrees in chat
        await uow.ledger.save(entry)
        await uow.commit()
    assert await count(uow_factory, OutboxRow) == 2  # one consent question each

    second = parse_ledger(
        HEADER + f"{RESIDENT_ZHANG},张阿姨,独居老人、慢性病患者,ask,yes,兴泰小区,5号楼,2,502,\n"
    )
    await job.run_job(lambda ctx: import_rows(ctx, second))
    async with uow_factory() as uow:
        zhang = await uow.residents.by_chat(RESIDENT_ZHANG)
        assert zhang is not None
        assert zhang.id is not None
        assert zhang.room == "502"
        assert not zhang.checkin  # check-ins need paper consent (or the resident's own /checkin)
        entry = await uow.ledger.get(zhang.id)
        assert entry is not None
        assert entry.consent is Consent.CHAT  # already agreed: new kinds need no second question
        assert entry.label == "独居老人、慢性病患者"
    assert await count(uow_factory, OutboxRow) == 2

    bad = parse_ledger(
        HEADER
        + "5000000001,新人,独居老人,paper,no,兴泰小区,99号楼,,,\n5000000002,新人二,独居老人,ask,no,,,,,\n"
    )
    with pytest.raises(LedgerImportError) as refused:
        await job.run_job(lambda ctx: import_rows(ctx, bad))
    assert refused.value.problems == [
        "2: unknown building 兴泰小区 99号楼",
        "3: resident 5000000002 has never used the bot: needs consent=paper",
    ]
    assert await count(uow_factory, ResidentRow) == 2


async def test_what_validation_lets_through_fits_the_columns(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    """Names, units and rooms at their limits, and the largest chat id, are stored (VARCHAR enforced on PG)."""
    spec = load_community(EXAMPLE_COMMUNITY)
    longest = dataclasses.replace(
        spec,
        residents=(
            ResidentSpec(
                name="名" * limits.RESIDENT_NAME,
                chat_id=limits.CHAT_ID_MAX,
                compound="兴泰小区",
                building="5",
                unit="1" * limits.UNIT,
                room="2" * limits.ROOM,
            ),
        ),
    )
    async with uow_factory() as uow:
        await uow.community.apply(longest, clock.now())
        await uow.commit()
    rows = parse_ledger(
        HEADER
        + f"{limits.CHAT_ID_MAX - 1},{'姓' * limits.RESIDENT_NAME},困难家庭,paper,yes,{'兴泰'},"
        + f"{'5'},{'3' * limits.UNIT},{'4' * limits.ROOM},{'注' * limits.MAX_NOTE}\n"
    )
    await core(uow_factory, clock).run_job(lambda ctx: import_rows(ctx, rows))
    async with uow_factory() as uow:
        found = await uow.residents.by_chats([limits.CHAT_ID_MAX, limits.CHAT_ID_MAX - 1])
    assert {len(r.name) for r in found.values()} == {limits.RESIDENT_NAME}
    assert {r.room for r in found.values()} == {"2" * limits.ROOM, "4" * limits.ROOM}
