"""Statements run directly on the inline SQLite connection (storage/direct.py) answer exactly what
SQLAlchemy answers and store exactly what it stores; what they cannot take goes through SQLAlchemy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Table, bindparam, event, exc, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage import direct
from storage.database import make_engine, make_session_factory
from storage.direct import DirectConnection, DirectSession
from storage.migrate import upgrade
from storage.models import OutboxRow, ResidentRow

OUTBOX = cast(Table, OutboxRow.__table__)
RESIDENTS = cast(Table, ResidentRow.__table__)
NOW = datetime(2026, 12, 3, 9, 30, 15, 123456, tzinfo=UTC)

# Built once, as the app's statements are: a statement runs directly from its third execution on (the
# second compiles it).
ADD_ROW = insert(OUTBOX).values(
    chat_id=bindparam("p_chat"),
    payload=bindparam("p_payload", type_=OUTBOX.c.payload.type),
    order_id=bindparam("p_order"),
    priority=bindparam("p_priority"),
    status="pending",
    attempts=0,
    created_at=bindparam("p_at", type_=OUTBOX.c.created_at.type),
)
ADD_ROW_RETURNING = ADD_ROW.returning(OUTBOX.c.id, OUTBOX.c.created_at, OUTBOX.c.payload)
BY_CHATS = (
    select(OUTBOX.c.id, OUTBOX.c.chat_id, OUTBOX.c.payload, OUTBOX.c.created_at, OUTBOX.c.sent_at)
    .where(
        OUTBOX.c.chat_id.in_(bindparam("p_chats", expanding=True)), OUTBOX.c.status.in_(["pending", "sent"])
    )
    .order_by(OUTBOX.c.id)
)
NOT_CHATS = select(func.count()).where(
    OUTBOX.c.chat_id.not_in(bindparam("p_chats", expanding=True)), OUTBOX.c.chat_id >= bindparam("p_from")
)
MARK = (
    update(OUTBOX)
    .where(OUTBOX.c.chat_id == bindparam("p_chat"))
    .values(status="sent", sent_at=bindparam("p_at", type_=OUTBOX.c.sent_at.type))
)
ADD_RESIDENT = insert(RESIDENTS).returning(RESIDENTS.c.id)  # the columns named by the parameters
RESIDENT = select(RESIDENTS.c.name, RESIDENTS.c.consented_at, RESIDENTS.c.phone_consent).where(
    RESIDENTS.c.chat_id == bindparam("p_chat")
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'direct.db'}")
    await upgrade(engine)
    yield engine
    await engine.dispose()


def payload(i: int) -> dict[str, Any]:
    return {"text": f'第{i}条 "引号" 🚒', "buttons": [[["接单", f"a:{i}"]]], "thread": i % 2 == 0}


async def run_all(factory: async_sessionmaker[AsyncSession], base: int) -> list[Any]:
    """Every kind of statement, three times over (the third round runs directly in a DirectSession)."""
    seen: list[Any] = []
    for round_ in range(3):
        async with factory() as session, session.begin():
            first = base + 10 * round_
            await session.execute(
                ADD_ROW,
                [
                    {
                        "p_chat": first + i,
                        "p_payload": payload(i),
                        "p_order": None,
                        "p_priority": i,
                        "p_at": NOW,
                    }
                    for i in range(3)
                ],
            )
            returned = await session.execute(
                ADD_ROW_RETURNING,
                [
                    {
                        "p_chat": first + 5 + i,
                        "p_payload": payload(i),
                        "p_order": 7,
                        "p_priority": 0,
                        "p_at": NOW,
                    }
                    for i in range(4)
                ],
            )
            seen.append(sorted((row.created_at, row.payload["text"]) for row in returned))
            marked = await session.execute(MARK, {"p_chat": first + 1, "p_at": NOW + timedelta(seconds=1)})
            seen.append(marked.rowcount)  # type: ignore[attr-defined]  # CursorResult and DirectResult
            rows = (await session.execute(BY_CHATS, {"p_chats": [first + i for i in range(10)]})).all()
            seen.append([(r.chat_id - base, r.payload, r.created_at, r.sent_at) for r in rows])
            seen.append(await session.scalar(NOT_CHATS, {"p_chats": [first, first + 1], "p_from": base}))
            seen.append([r._mapping["chat_id"] - base for r in rows])
            resident = await session.scalar(
                ADD_RESIDENT,
                {"chat_id": first, "name": "张 阿姨", "consented_at": NOW, "phone_consent": True},
            )
            seen.append(resident is not None)
            found = (await session.execute(RESIDENT, {"p_chat": first})).one()
            seen.append(tuple(found))
    return seen


async def test_direct_statements_answer_and_store_what_sqlalchemy_does(engine: AsyncEngine) -> None:
    plain = async_sessionmaker(engine, expire_on_commit=False)  # SQLAlchemy's path throughout
    directed = make_session_factory(engine)
    assert directed.class_ is DirectSession
    ran: list[str] = []
    with direct.observe(lambda sql, _statement: ran.append(sql)):
        expected = await run_all(plain, 1_000)
        got = await run_all(directed, 2_000)
    assert got == expected
    assert len(ran) == 6  # the third round's statements ran directly …
    assert not any(s.startswith("INSERT INTO residents") for s in ran)  # … but one with a Python-side default
    assert any(s.startswith("INSERT INTO outbox") and s.count("), (") == 3 for s in ran)  # one INSERT, 4 rows
    async with engine.connect() as connection:  # stored alike, byte for byte
        stored = (
            await connection.exec_driver_sql(
                "SELECT chat_id % 1000, payload, created_at, sent_at, status, priority FROM outbox ORDER BY id"
            )
        ).all()
    half = len(stored) // 2
    assert stored[:half] == stored[half:]
    created_at = got[2][0][2]
    assert isinstance(created_at, datetime)
    assert created_at.tzinfo is not None


async def test_a_statement_runs_directly_from_its_third_execution(engine: AsyncEngine) -> None:
    factory = make_session_factory(engine)
    add = insert(OUTBOX).values(payload={}, status="pending", attempts=0, created_at=NOW)  # this test's own
    ran: list[Any] = []
    with direct.observe(lambda _sql, statement: ran.append(statement)):
        for i in range(4):
            async with factory() as session, session.begin():
                await session.execute(add, {"chat_id": i, "priority": 0})
        fresh = select(func.count()).select_from(OUTBOX)  # built per call: never direct
        async with factory() as session:
            for _ in range(3):
                await session.scalar(select(func.count()).select_from(OUTBOX))
            assert await session.scalar(fresh) == 4
    assert ran == [add, add]


async def test_pending_orm_changes_are_flushed_first(engine: AsyncEngine) -> None:
    factory = make_session_factory(engine)
    count = select(func.count()).select_from(RESIDENTS)
    async with factory() as session, session.begin():
        await session.scalar(count)
        await session.scalar(count)  # compiled: the next run would be direct
        session.add(ResidentRow(chat_id=42, name="新来的"))
        assert await session.scalar(count) == 1  # through SQLAlchemy: it flushed the new row first


async def test_an_empty_in_list_and_a_missing_parameter_are_sqlalchemys_to_answer(
    engine: AsyncEngine,
) -> None:
    factory = make_session_factory(engine)
    async with factory() as session:
        for _ in range(2):
            await session.scalar(NOT_CHATS, {"p_chats": [1], "p_from": 0})
        assert await session.scalar(NOT_CHATS, {"p_chats": [], "p_from": 0}) == 0
        with pytest.raises(exc.StatementError, match="p_from"):
            await session.scalar(NOT_CHATS, {"p_chats": [1]})


async def test_errors_are_sqlalchemys_without_the_parameters(engine: AsyncEngine) -> None:
    factory = make_session_factory(engine)
    add = insert(RESIDENTS).values(chat_id=bindparam("p_chat"), name=bindparam("p_name"), checkin=False)
    async with factory() as session, session.begin():
        for chat in (1, 2):
            await session.execute(add, {"p_chat": chat, "p_name": "王大爷", "phone_consent": False})
        with pytest.raises(exc.IntegrityError) as raised:
            await session.execute(add, {"p_chat": 1, "p_name": "王大爷 13812345678", "phone_consent": False})
    assert "13812345678" not in str(raised.value)


async def add_then_fail(connection: DirectConnection) -> None:
    async with connection.begin() as tx:
        await tx.execute(
            ADD_ROW, {"p_chat": 2, "p_payload": {}, "p_order": None, "p_priority": 0, "p_at": NOW}
        )
        raise RuntimeError("the sender failed")


async def test_a_direct_transaction_commits_or_rolls_back_and_lets_the_next_writer_in(
    engine: AsyncEngine,
) -> None:
    connection = DirectConnection(engine)
    told: list[str] = []
    with direct.observe(lambda sql, _statement: told.append(sql.split()[0])):
        async with connection.begin() as tx:
            await tx.execute(
                ADD_ROW, {"p_chat": 1, "p_payload": {}, "p_order": None, "p_priority": 0, "p_at": NOW}
            )
        with pytest.raises(RuntimeError):
            await add_then_fail(connection)
    assert told == ["BEGIN", "INSERT", "COMMIT", "BEGIN", "INSERT", "ROLLBACK"]
    async with asyncio.timeout(5), make_session_factory(engine)() as session, session.begin():  # not locked
        assert await session.scalar(select(OUTBOX.c.chat_id)) == 1
        assert await session.scalar(select(func.count()).select_from(OUTBOX)) == 1


ROW = {"p_chat": 7, "p_payload": {}, "p_order": None, "p_priority": 0, "p_at": NOW}


async def warmed(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions in which ADD_ROW runs directly: run twice through SQLAlchemy (rolled back) first."""
    factory = make_session_factory(engine)
    for _ in range(2):
        async with factory() as session:
            await session.execute(ADD_ROW, ROW)
    return factory


async def test_orm_work_joins_the_transaction_a_direct_statement_began(engine: AsyncEngine) -> None:
    factory = await warmed(engine)
    told: list[str] = []
    with direct.observe(lambda sql, _statement: told.append(sql.split()[0])):
        async with factory() as session:
            await session.execute(ADD_ROW, ROW)  # begins the transaction, directly
            session.add(ResidentRow(chat_id=8, name="李奶奶"))  # flushed into the same transaction
            assert await session.scalar(select(func.count()).select_from(RESIDENTS)) == 1
            await session.commit()
    assert told == ["BEGIN", "INSERT"]  # SQLAlchemy joined, and committed (its own commit event)
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(OUTBOX)) == 1
        assert await connection.scalar(select(RESIDENTS.c.name)) == "李奶奶"


async def test_a_direct_transaction_not_committed_is_rolled_back_and_lets_the_next_writer_in(
    engine: AsyncEngine,
) -> None:
    factory = await warmed(engine)
    told: list[str] = []
    with direct.observe(lambda sql, _statement: told.append(sql.split()[0])):
        async with factory() as session:
            await session.execute(ADD_ROW, ROW)
        async with factory() as session:  # closed without commit: rolled back
            await session.execute(ADD_ROW, ROW)
            await session.rollback()
        async with asyncio.timeout(5), factory() as session:  # the write lock was let go
            await session.execute(ADD_ROW, {**ROW, "p_chat": 9})
            await session.commit()
    assert told == ["BEGIN", "INSERT", "ROLLBACK"] * 2 + ["BEGIN", "INSERT", "COMMIT"]
    async with engine.connect() as connection:
        assert list(await connection.scalars(select(OUTBOX.c.chat_id))) == [9]


async def test_while_held_the_direct_transactions_share_one_checkout(engine: AsyncEngine) -> None:
    connection = DirectConnection(engine)
    checkouts: list[int] = []
    event.listen(engine.sync_engine, "checkout", lambda *_: checkouts.append(1))
    event.listen(engine.sync_engine, "checkin", lambda *_: checkouts.append(-1))
    async with connection.holding():
        for _ in range(3):  # a sender's pass: a "sent" for each message
            async with connection.begin() as tx:
                await tx.execute(ADD_ROW, ROW)
        assert checkouts == [1]
    assert checkouts == [1, -1]  # back to the pool at the end of the pass
    async with connection.begin() as tx:  # not held: its own checkout
        await tx.execute(ADD_ROW, ROW)
    assert checkouts == [1, -1, 1, -1]


async def test_the_desks_threaded_engine_keeps_sqlalchemys_sessions(tmp_path: Path) -> None:
    threaded = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'desk.db'}", inline=False)
    try:
        assert make_session_factory(threaded).class_ is AsyncSession
    finally:
        await threaded.dispose()
