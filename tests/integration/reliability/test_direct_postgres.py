"""On PostgreSQL, statements run directly on the asyncpg connection beneath SQLAlchemy's adapter
(storage/direct/postgres.py) answer and store exactly what SQLAlchemy does, fail as it fails, and leave
a connection the server dropped out of the pool."""

from __future__ import annotations

from typing import Any, cast

import pytest
from sqlalchemy import Float, Table, bindparam, event, exc, func, insert, select, text, type_coerce
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from storage import direct
from storage.database import make_session_factory
from storage.direct import DirectConnection, DirectSession
from storage.models import InboundRow
from tests.integration.conftest import Database
from tests.integration.reliability.test_direct_sql import MARK, NOW, OUTBOX, run_all

INBOUND = cast(Table, InboundRow.__table__)

pytestmark = pytest.mark.parametrize("database", ["postgresql"], indirect=True)


@pytest.fixture
def engine(database: Database) -> AsyncEngine:
    return database.engine


async def test_direct_statements_answer_and_store_what_sqlalchemy_does(engine: AsyncEngine) -> None:
    plain = async_sessionmaker(engine, expire_on_commit=False)  # SQLAlchemy's path throughout
    directed = make_session_factory(engine)
    assert directed.class_ is DirectSession
    ran: list[str] = []
    with direct.observe(lambda sql, _statement: ran.append(sql.split()[0])):
        expected = await run_all(plain, 1_000)
        got = await run_all(directed, 2_000)
    assert got == expected
    # The third round's: the INSERT of many rows, the UPDATE's row count, the SELECT with an IN list the
    # caller gives (its SQL written for that length), the count; not the rows' INSERT with RETURNING (one
    # statement per row through SQLAlchemy), nor the resident's (a Python-side default).
    assert ran == ["INSERT", "UPDATE", "SELECT", "SELECT", "SELECT"]
    async with engine.connect() as connection:  # stored alike
        stored = (
            await connection.exec_driver_sql(
                "SELECT chat_id % 1000, payload::text, created_at, sent_at, status, priority FROM outbox "
                "ORDER BY chat_id % 1000, id"
            )
        ).all()
    assert stored[0::2] == stored[1::2]


async def test_a_columns_result_processor_is_the_one_sqlalchemy_picks_for_its_type(
    engine: AsyncEngine,
) -> None:
    """Made at the first direct run from the row's description (asyncpg's Float for a numeric column
    needs the column's type oid)."""
    average = select(type_coerce(func.avg(OUTBOX.c.priority), Float))
    factory = make_session_factory(engine)
    async with factory() as session, session.begin():
        await session.execute(insert(OUTBOX), [{**_row(i), "priority": i} for i in range(4)])
        answers = [await session.scalar(average) for _ in range(4)]
    assert answers == [1.5] * 4
    assert all(type(answer) is float for answer in answers)


def _row(chat: int) -> dict[str, Any]:
    return {
        "chat_id": chat,
        "payload": {},
        "priority": 0,
        "status": "pending",
        "attempts": 0,
        "created_at": NOW,
    }


async def test_errors_are_sqlalchemys_without_the_parameters(engine: AsyncEngine) -> None:
    factory = make_session_factory(engine)
    seen = insert(INBOUND).values(key=bindparam("p_key"), seen_at=bindparam("p_at"))
    ran: list[str] = []
    async with factory() as session, session.begin():
        for key in ("m:1", "m:2"):
            await session.execute(seen, {"p_key": key, "p_at": NOW})
        with (
            direct.observe(lambda sql, _statement: ran.append(sql)),
            pytest.raises(exc.IntegrityError) as raised,
        ):
            await session.execute(seen, {"p_key": "m:1", "p_at": NOW})
    assert ran  # it ran directly
    assert "m:1" not in str(raised.value)
    assert "duplicate key" in str(raised.value)


async def test_a_connection_the_server_dropped_leaves_the_pool(engine: AsyncEngine) -> None:
    factory = make_session_factory(engine)
    count = select(func.count()).select_from(OUTBOX)
    for _ in range(2):
        async with factory() as session:
            await session.scalar(count)
    async with factory() as session:
        pid = await session.scalar(text("SELECT pg_backend_pid()"))
        async with engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        connection = await session.connection()
        with pytest.raises(exc.DBAPIError) as raised:
            await session.scalar(count)
        assert connection.invalidated  # as SQLAlchemy's execution leaves it: never checked in as usable
    assert raised.value.connection_invalidated
    async with factory() as session:  # a fresh connection: the dropped one was not handed out again
        assert await session.scalar(count) == 0
        assert await session.scalar(text("SELECT pg_backend_pid()")) != pid


async def test_autocommit_runs_each_statement_as_its_own_transaction_on_one_held_checkout(
    engine: AsyncEngine,
) -> None:
    async with make_session_factory(engine)() as session, session.begin():
        await session.execute(insert(OUTBOX), [_row(chat) for chat in (7, 8, 9)])
    connection = DirectConnection(engine)
    checkouts: list[int] = []
    event.listen(engine.sync_engine, "checkout", lambda *_: checkouts.append(1))
    event.listen(engine.sync_engine, "checkin", lambda *_: checkouts.append(-1))
    told: list[str] = []
    marked: list[int] = []
    with direct.observe(lambda sql, _statement: told.append(sql.split()[0])):
        async with connection.holding():
            for chat in (7, 8):  # a sender's pass
                async with connection.autocommit() as tx:
                    marked.append((await tx.execute(MARK, {"p_chat": chat, "p_at": NOW})).rowcount)  # type: ignore[attr-defined]
                async with engine.connect() as other:  # committed already: another connection sees it
                    assert (
                        await other.scalar(select(OUTBOX.c.status).where(OUTBOX.c.chat_id == chat)) == "sent"
                    )
            assert checkouts.count(1) - checkouts.count(-1) == 1  # only the held one still out
    assert told == ["UPDATE", "UPDATE"]  # no BEGIN, no COMMIT
    assert marked == [1, 1]
    assert checkouts.count(1) == checkouts.count(-1)


async def test_a_statement_prepared_before_a_columns_type_changed_is_prepared_again(
    engine: AsyncEngine,
) -> None:
    """PostgreSQL refuses a prepared statement whose result type changed ("cached statement plan is
    invalid"): the error is SQLAlchemy's, and the next transaction prepares it again, as SQLAlchemy does."""
    factory = make_session_factory(engine)
    errors = select(OUTBOX.c.error).where(OUTBOX.c.chat_id == bindparam("p_chat"))
    for _ in range(3):  # the third runs directly: prepared on this connection
        async with factory() as session:
            await session.execute(errors, {"p_chat": 1})
    async with engine.begin() as other:
        await other.execute(text("ALTER TABLE outbox ALTER COLUMN error TYPE text"))
    ran: list[str] = []
    with direct.observe(lambda sql, _statement: ran.append(sql)):
        async with factory() as session:
            with pytest.raises(exc.NotSupportedError, match="cached statement plan is invalid"):
                await session.execute(errors, {"p_chat": 1})
        async with factory() as session:
            assert (await session.execute(errors, {"p_chat": 1})).all() == []
    assert len(ran) == 2  # both directly
