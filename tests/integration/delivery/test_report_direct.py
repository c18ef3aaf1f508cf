"""The report path's statements run on the driver's connection itself (storage/direct): the inline SQLite
connection, or the asyncpg connection beneath SQLAlchemy's adapter."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from bot.settings import DeliverySettings
from nlp.types import Classifier
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import RESIDENT_CHEN, RESIDENT_ZHANG
from tests.fakes import FakeClock
from tests.integration.conftest import Database, RecordingMessenger
from tests.integration.delivery.test_report_cost import counting, running_bot


async def test_a_report_runs_its_statements_directly(
    database: Database,
    uow_factory: SqlUnitOfWorkFactory,
    clock: FakeClock,
    messenger: RecordingMessenger,
    classifier: Classifier,
) -> None:
    """Statements a process repeats run on the driver's connection itself, not through SQLAlchemy's
    execution (storage/direct: ~100 µs of CPU each on SQLite, a third of the bot's): once the report's
    statements have run twice, a third report sends none through SQLAlchemy, on either database."""
    driver, _ = running_bot(uow_factory, clock, messenger, classifier, DeliverySettings())
    for chat in (RESIDENT_CHEN, RESIDENT_ZHANG):
        await driver.text(chat, "楼道灯坏了")
    through: list[str] = []

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if not statement.startswith("BEGIN"):
            through.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", on_statement)
    try:
        with counting(database.engine) as counted:
            await driver.text(RESIDENT_CHEN, "垃圾堆了好几天没人清理")
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", on_statement)
    assert any("已为您生成工单" in s.text for s in driver.inbox(RESIDENT_CHEN))
    assert len(counted.statements) >= 8
    assert through == []
