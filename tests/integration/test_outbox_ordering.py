"""Per-chat order across replicas: two senders draining one outbox never send a chat's messages out of
order or at the same time (on PostgreSQL: advisory lock per chat + "nothing in sending" guard)."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import text

from storage.database import make_session_factory
from storage.models import OutboxRow
from storage.queues.outbox import QueuedReply, SqlOutboxQueue
from tests.fakes import FakeClock
from tests.integration.conftest import Database

CHATS = (101, 102, 103, -100104, 105, 106)


async def _fill(database: Database, clock: FakeClock, per_chat: int) -> list[int]:
    """Rows interleaved across chats (ids in arrival order); returns the ids."""
    factory = make_session_factory(database.engine)
    async with factory() as session, session.begin():
        rows = [
            OutboxRow(chat_id=chat, payload={"text": f"{chat}:{n}"}, created_at=clock.now())
            for n in range(per_chat)
            for chat in CHATS
        ]
        session.add_all(rows)
    return [row.id for row in rows]


@dataclass
class Log:
    """What the "messenger" saw: sends per chat in order, and whether one chat was ever sent to twice at once."""

    sent: dict[int, list[int]] = field(default_factory=dict)
    busy: dict[int, str] = field(default_factory=dict)
    overlaps: list[tuple[int, str, str]] = field(default_factory=list)

    async def send(self, who: str, item: QueuedReply, rng: random.Random) -> None:
        chat = item.reply.chat_id
        if chat in self.busy:
            self.overlaps.append((chat, self.busy[chat], who))
        self.busy[chat] = who
        await asyncio.sleep(rng.choice((0, 0, 0.001, 0.003)))  # a real send takes a while
        self.sent.setdefault(chat, []).append(item.id)
        del self.busy[chat]


async def _sender(name: str, queue: SqlOutboxQueue, log: Log, seed: int) -> None:
    """Drain like OutboxSender: small batches; sometimes give rows back (a chat must wait) or fail one."""
    rng = random.Random(seed)
    idle = 0
    while idle < 3:
        batch = await queue.claim(limit=rng.choice((1, 3, 7)), owner=name)
        if not batch:
            idle += 1
            await asyncio.sleep(0.005)
            continue
        idle = 0
        held: set[int] = set()
        for item in batch:
            chat = item.reply.chat_id
            if chat in held or rng.random() < 0.1:
                held.add(chat)  # its turn is later: this and its later rows go back, in order
                await queue.release([item.id])
                continue
            if rng.random() < 0.05:
                held.add(chat)
                await queue.mark_failed(item, "timeout", retry=True)
                continue
            await log.send(name, item, rng)
            await queue.mark_sent(item, item.id)
        await asyncio.sleep(0)


async def test_two_senders_keep_each_chats_order_and_never_overlap(
    database: Database, clock: FakeClock
) -> None:
    ids = await _fill(database, clock, per_chat=25)
    factory = make_session_factory(database.engine)
    first, second = SqlOutboxQueue(factory, clock), SqlOutboxQueue(factory, clock)
    log = Log()
    async with asyncio.timeout(60):
        await asyncio.gather(_sender("a", first, log, 1), _sender("b", second, log, 2))

    assert log.overlaps == []
    expected: dict[int, list[int]] = {}
    async with factory() as session:
        for row_id in ids:
            row = await session.get(OutboxRow, row_id)
            assert row is not None
            expected.setdefault(row.chat_id, []).append(row.id)
            assert row.status == "sent", (row.id, row.status)
    # Every message once, each chat's in id order.
    assert log.sent == expected


async def test_concurrent_claims_never_split_a_chat(database: Database, clock: FakeClock) -> None:
    await _fill(database, clock, per_chat=4)
    factory = make_session_factory(database.engine)
    queues = [SqlOutboxQueue(factory, clock) for _ in range(3)]
    claimed: list[list[QueuedReply]] = []
    for _ in range(10):
        # Claims racing at the same instant, batches smaller than the backlog.
        claimed = list(await asyncio.gather(*(q.claim(limit=5, owner=f"r{i}") for i, q in enumerate(queues))))
        owners: dict[int, int] = {}
        for index, batch in enumerate(claimed):
            for item in batch:
                assert owners.setdefault(item.reply.chat_id, index) == index, "a chat split across claimers"
            ids = [item.id for item in batch]
            assert ids == sorted(ids)
        # Give everything back: the next round races again on the same rows.
        for batch in claimed:
            await queues[0].release([item.id for item in batch])
    assert any(claimed)


async def test_a_chat_being_sent_is_not_claimed_until_its_row_is_done(
    database: Database, clock: FakeClock
) -> None:
    await _fill(database, clock, per_chat=2)
    factory = make_session_factory(database.engine)
    first, second = SqlOutboxQueue(factory, clock), SqlOutboxQueue(factory, clock)
    head = await first.claim(limit=1, owner="a")  # the first row of the first chat only
    assert [item.reply.chat_id for item in head] == [CHATS[0]]
    rest = await second.claim(limit=100, owner="b")
    assert CHATS[0] not in {item.reply.chat_id for item in rest}
    await first.mark_sent(head[0], 1)
    later = await second.claim(limit=100, owner="b")
    assert [item.reply.chat_id for item in later] == [CHATS[0]]


async def test_leases_put_back_a_dead_senders_rows_but_not_a_live_ones(
    database: Database, clock: FakeClock
) -> None:
    await _fill(database, clock, per_chat=1)
    factory = make_session_factory(database.engine)
    queue = SqlOutboxQueue(factory, clock)
    dead = await queue.claim(limit=2, owner="dead")
    clock.advance(minutes=3)
    live = await queue.claim(limit=2, owner="live")
    assert len(dead) == 2
    assert len(live) == 2
    assert await queue.release_stale(timedelta(minutes=2)) == 2  # only the dead one's
    assert await queue.release_owned("live") == 2  # a restart under the same name
    again = await queue.claim(limit=100, owner="x")
    assert len(again) == len(CHATS)


async def test_a_chat_locked_by_a_claim_in_progress_is_passed_over(
    database: Database, clock: FakeClock
) -> None:
    """PostgreSQL: while another claimer's transaction holds a chat, a claim takes the other chats."""
    if database.kind != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's; SQLite has one writer at a time")
    await _fill(database, clock, per_chat=2)
    factory = make_session_factory(database.engine)
    async with database.engine.connect() as other, other.begin():
        await other.execute(text("SELECT pg_advisory_xact_lock(:chat)"), {"chat": CHATS[0]})
        claimed = await SqlOutboxQueue(factory, clock).claim(limit=100, owner="b")
        assert CHATS[0] not in {item.reply.chat_id for item in claimed}
        assert {item.reply.chat_id for item in claimed} == set(CHATS[1:])
    later = await SqlOutboxQueue(factory, clock).claim(limit=100, owner="b")
    assert {item.reply.chat_id for item in later} == {CHATS[0]}
