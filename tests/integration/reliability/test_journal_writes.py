"""The journal's writes: what is stored comes back unchanged, a chat that writes again is reachable again,
and on PostgreSQL each write is one statement in autocommit (no BEGIN … COMMIT round trips on the path of
every webhook request)."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import TelegramUpdateRow, UnreachableChatRow
from storage.repositories.telegram import JournaledUpdate, SqlUpdateJournal
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClock
from tests.integration.conftest import Database
from tests.integration.delivery.test_report_cost import counting

BLOCKED, STILL_BLOCKED = 7001, 7002


def update(update_id: int, chat: int, text: str) -> JournaledUpdate:
    payload = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "chat": {"id": chat, "type": "private", "first_name": "王阿姨"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    return JournaledUpdate(update_id, payload)


async def _unreachable(uow_factory: SqlUnitOfWorkFactory, clock: FakeClock) -> set[int]:
    async with uow_factory.session_factory() as session:
        return set(await session.scalars(select(UnreachableChatRow.chat_id)))


async def test_what_is_journaled_comes_back_unchanged_and_the_writer_is_reachable_again(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    async with uow_factory.session_factory() as session, session.begin():
        for chat in (BLOCKED, STILL_BLOCKED):
            session.add(UnreachableChatRow(chat_id=chat, since=clock.now(), reason="Forbidden"))
    journal = SqlUpdateJournal(uow_factory.session_factory, clock)
    sent = [update(11, BLOCKED, '/start 楼道灯坏了😀 "引号"\n第二行'), update(12, 8001, "漏水 \\ 反斜杠")]
    fresh = await journal.record(sent, {BLOCKED, 8001})
    assert [item.update_id for item in fresh] == [11, 12]
    assert await _unreachable(uow_factory, clock) == {STILL_BLOCKED}
    assert await journal.unhandled() == sent  # replayed after a crash exactly as received
    await journal.mark_handled_many([11])
    assert await journal.unhandled() == sent[1:]
    async with uow_factory.session_factory() as session:
        row = await session.get(TelegramUpdateRow, 11)
        assert row is not None
        assert row.handled_at is not None
        assert row.failures == 0


async def test_on_postgresql_each_journal_write_is_one_statement_without_begin(
    database: Database, uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    if database.kind != "postgresql":
        return  # SQLite: one writer, BEGIN IMMEDIATE is no round trip
    journal = SqlUpdateJournal(uow_factory.session_factory, clock)
    with counting(database.engine) as counted:
        fresh = await journal.record([update(21, 9001, "x"), update(22, 9002, "y")], {9001, 9002})
        await journal.mark_handled_many([21, 22])
    assert [item.update_id for item in fresh] == [21, 22]
    assert len(counted.statements) == 2, counted.statements
    assert counted.commits == 2
    assert counted.begins == 0
    assert await journal.unhandled() == []
