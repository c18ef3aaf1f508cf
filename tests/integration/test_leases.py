"""One contract for both delivery queues (reply outbox, broadcast deliveries), on SQLite and PostgreSQL:
claims under a lease, outcomes only from the holder, chats that refused us, attempts and renewals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import direct
from storage.database import make_session_factory
from storage.models import (
    BroadcastDeliveryRow,
    BroadcastRow,
    BroadcastRunRow,
    MessageLinkRow,
    OutboxRow,
    UnreachableChatRow,
)
from storage.queues.broadcasts import SqlDeliveryQueue
from storage.queues.leases import DeliveryOutcome, LeaseQueue
from storage.queues.outbox import SqlOutboxQueue
from tests.fakes import FakeClock
from tests.integration.conftest import Database, add_order
from tests.integration.delivery.test_report_cost import counting

LEASE = timedelta(minutes=2)
BLOCKED, OTHER = 101, 102


async def _fill_outbox(session: AsyncSession, clock: FakeClock, chats: list[int]) -> None:
    session.add_all(
        OutboxRow(chat_id=chat, payload={"text": f"给 {chat}"}, created_at=clock.now()) for chat in chats
    )


async def _fill_deliveries(session: AsyncSession, clock: FakeClock, chats: list[int]) -> None:
    broadcast = BroadcastRow(
        title="防诈提醒",
        text="正文",
        topic="anti_fraud",
        audience={},
        schedule={},
        status="approved",
        created_at=clock.now(),
    )
    session.add(broadcast)
    await session.flush()
    for chat in chats:  # a run per row: a chat gets one row per run
        run = BroadcastRunRow(
            broadcast_id=broadcast.id, fire_at=clock.now(), text="正文", total=1, created_at=clock.now()
        )
        session.add(run)
        await session.flush()
        session.add(BroadcastDeliveryRow(run_id=run.id, chat_id=chat, status="pending"))
        clock.advance(seconds=1)  # runs of one broadcast fire at different times


@dataclass(frozen=True)
class Kind:
    queue: Callable[[async_sessionmaker[AsyncSession], FakeClock], LeaseQueue]
    fill: Callable[[AsyncSession, FakeClock, list[int]], Any]
    claim: Callable[[Any, str], Any]  # (queue, owner) -> awaitable list of claimed items


KINDS = {
    "outbox": Kind(SqlOutboxQueue, _fill_outbox, lambda q, owner: q.claim(10, owner=owner)),
    "deliveries": Kind(SqlDeliveryQueue, _fill_deliveries, lambda q, owner: q.claim(owner, 10)),
}


@pytest.fixture(params=sorted(KINDS))
def kind(request: pytest.FixtureRequest) -> Kind:
    return KINDS[request.param]


async def _queue(database: Database, clock: FakeClock, kind: Kind, chats: list[int]) -> LeaseQueue:
    factory = make_session_factory(database.engine)
    async with factory() as session, session.begin():
        await kind.fill(session, clock, chats)
    return kind.queue(factory, clock)


async def _row(queue: LeaseQueue, row_id: int) -> Any:
    async with queue._session_factory() as session:
        return await session.get(queue.rows, row_id)


async def test_only_the_holder_of_a_claim_records_its_outcome(
    database: Database, clock: FakeClock, kind: Kind
) -> None:
    queue = await _queue(database, clock, kind, [OTHER])
    (dead,) = await kind.claim(queue, "dead")
    clock.advance(minutes=3)
    assert await queue.release_stale(LEASE) == 1
    (live,) = await kind.claim(queue, "live")
    assert live.id == dead.id
    # The stopped sender's late answers change nothing: the row stays with the live sender.
    assert not await queue.mark_failed(dead, "timeout", retry=True)
    assert not await queue.mark_sent(dead, 1)
    row = await _row(queue, live.id)
    assert (row.status, row.claimed_by, row.message_id) == ("sending", "live", None)
    assert await queue.record(live, DeliveryOutcome.SENT, message_id=2)
    row = await _row(queue, live.id)
    assert (row.status, row.message_id, row.attempts) == ("sent", 2, 2)


async def test_a_chat_that_refused_us_gets_nothing_more(
    database: Database, clock: FakeClock, kind: Kind
) -> None:
    queue = await _queue(database, clock, kind, [BLOCKED, BLOCKED, OTHER])
    claimed = await kind.claim(queue, "s1")
    first, rest = claimed[0], claimed[1:]
    assert first.chat_id == BLOCKED
    assert await queue.mark_unreachable(first, "Forbidden: bot was blocked by the user")
    await queue.release([item.id for item in rest])
    again = await kind.claim(queue, "s1")
    assert [item.chat_id for item in again] == [OTHER]
    for item in claimed[:2]:
        row = await _row(queue, item.id)
        assert row.status == queue.unreachable_status
        assert row.error.startswith("unreachable")
    async with queue._session_factory() as session:
        assert await session.get(UnreachableChatRow, BLOCKED) is not None


async def test_a_row_given_back_untried_keeps_its_attempts_a_restart_does_not(
    database: Database, clock: FakeClock, kind: Kind
) -> None:
    queue = await _queue(database, clock, kind, [OTHER])
    (item,) = await kind.claim(queue, "s1")
    assert await queue.release([item.id]) == 1  # skipped (its chat must wait): not an attempt
    (item,) = await kind.claim(queue, "s1")
    assert item.attempts == 1
    assert await queue.release_owned("s1") == 1  # a restart: the message may have gone out
    (item,) = await kind.claim(queue, "s1")
    assert item.attempts == 2


async def test_a_renewed_lease_is_not_taken_over(database: Database, clock: FakeClock, kind: Kind) -> None:
    queue = await _queue(database, clock, kind, [OTHER])
    (item,) = await kind.claim(queue, "waiting")
    clock.advance(minutes=3)  # a long 429 pause
    await queue.renew("waiting")
    assert await queue.release_stale(LEASE) == 0
    assert await queue.mark_sent(item, 7)


async def test_replies_marked_sent_together_keep_each_its_own_message_and_link(
    database: Database, clock: FakeClock
) -> None:
    """One pass marks several replies (storage/queues/sent.py, statements built once per shape): each row
    gets its own message id, each reply about an order its link, and a row whose lease was lost is told."""
    factory = make_session_factory(database.engine)
    async with factory() as session, session.begin():
        order = await add_order(session, clock, 900)
        session.add_all(
            OutboxRow(chat_id=chat, payload={"text": "好的"}, order_id=order.id, created_at=clock.now())
            for chat in (201, 202, 203)
        )
        session.add(OutboxRow(chat_id=204, payload={"text": "收到"}, created_at=clock.now()))
    queue = SqlOutboxQueue(factory, clock)
    claimed = {item.chat_id: item for item in await queue.claim(10, owner="s1")}
    lost = claimed[203]
    async with factory() as session, session.begin():  # its lease ran out and another sender took it
        taken = await session.get(OutboxRow, lost.id)
        assert taken is not None
        taken.claimed_by = "s2"
    for shape in range(2):  # the second pass reuses the statements the first one built
        sent = [(claimed[201], 11 + shape), (claimed[202], None), (lost, 13), (claimed[204], 14)]
        assert await queue.record_sent(sent) == {lost.id}
        rows = {chat: await _row(queue, item.id) for chat, item in claimed.items()}
        assert {chat: (row.status, row.message_id) for chat, row in rows.items()} == {
            201: ("sent", 11 + shape),
            202: ("sent", None),
            203: ("sending", None),  # s2's to send now
            204: ("sent", 14),
        }
        if shape == 0:  # marked once: the next pass finds them sent and leaves them as they are
            async with factory() as session:
                links = (await session.scalars(select(MessageLinkRow))).all()
            # 203's message did go out (its row is s2's now): a reply to it still finds the order
            assert sorted((link.chat_id, link.message_id, link.order_id) for link in links) == [
                (201, 11, order.id),
                (203, 13, order.id),
            ]
            await _back_to_sending(factory, [claimed[201].id, claimed[202].id, claimed[204].id])


async def _back_to_sending(factory: async_sessionmaker[AsyncSession], ids: list[int]) -> None:
    async with factory() as session, session.begin():
        for row_id in ids:
            row = await session.get(OutboxRow, row_id)
            assert row is not None
            row.status, row.message_id = "sending", None


async def test_postgresql_marks_sent_in_one_round_trip(database: Database, clock: FakeClock) -> None:
    """The sender marks each message before the next goes out: on PostgreSQL its one statement runs in
    autocommit, directly on the asyncpg connection (no BEGIN and COMMIT round trips in the serial chain, no
    SQLAlchemy execution), and what counts commits sees one."""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite marks on the bot's inline connection (storage/direct)")
    factory = make_session_factory(database.engine)
    async with factory() as session, session.begin():
        session.add(OutboxRow(chat_id=301, payload={"text": "好的"}, created_at=clock.now()))
    queue = SqlOutboxQueue(factory, clock)
    (item,) = await queue.claim(10, owner="s1")
    through: list[str] = []

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        through.append(statement.split()[0])

    told: list[str] = []
    event.listen(database.engine.sync_engine, "before_cursor_execute", on_statement)
    try:
        with direct.observe(lambda sql, _statement: told.append(sql.split()[0])):
            assert await queue.record_sent([(item, 21)]) == set()
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", on_statement)
    assert through == []
    assert told == ["UPDATE", "COMMIT"]  # one statement; the COMMIT is what counts commits told of it
    assert (await _row(queue, item.id)).status == "sent"  # and it stays written: autocommit


async def test_postgresql_claims_in_one_update_and_asks_once_when_nothing_is_claimable(
    database: Database, clock: FakeClock
) -> None:
    """Under two replicas a grid member's chat is shared, and most claims came while the other replica was
    still sending to it: the sender asks first, in one statement in autocommit (no BEGIN, locks, COMMIT);
    once the chat is free, its rows are taken by one UPDATE after the chat's lock, in order, attempts
    counted."""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite claims on one writer's transaction (BEGIN IMMEDIATE)")
    factory = make_session_factory(database.engine)
    async with factory() as session, session.begin():
        held = OutboxRow(chat_id=401, payload={"text": "在发"}, created_at=clock.now(), status="sending")
        held.claimed_by, held.claimed_at, held.attempts = "replica-b", clock.now(), 1
        session.add(held)
        session.add_all(
            OutboxRow(chat_id=401, payload={"text": text}, created_at=clock.now()) for text in ("一", "二")
        )
    queue = SqlOutboxQueue(factory, clock)
    with counting(database.engine) as counted:
        assert await queue.claimable() is False
    assert (len(counted.statements), counted.commits, counted.begins) == (1, 0, 0), counted.statements
    assert await queue.claim(10, owner="replica-a") == []  # (what a claim would have found)
    async with factory() as session, session.begin():
        row = await session.get(OutboxRow, held.id)
        assert row is not None
        row.status = "sent"
    assert await queue.claimable() is True
    assert await queue.claimable(frozenset({401})) is False  # set aside, and nothing urgent
    with counting(database.engine) as counted:
        claimed = await queue.claim(10, owner="replica-a")
    # The chat's lock and the UPDATE, in one transaction.
    assert (len(counted.statements), counted.commits, counted.begins) == (2, 1, 1), counted.statements
    assert [item.reply.text for item in claimed] == ["一", "二"]
    assert [item.attempts for item in claimed] == [1, 1]
    for item in claimed:
        row = await _row(queue, item.id)
        assert (row.status, row.claimed_by, row.attempts) == ("sending", "replica-a", 1)
