"""Issue 17, the emergency lane, on SQLite and PostgreSQL: urgent rows are claimed first, overtake a
chat's queued messages (order kept within a priority), a card's later edits never overtake the card, and
the sender sends an emergency committed mid-batch next. The limiter's lanes run on a fake clock."""

from __future__ import annotations

import asyncio
import time

from bot.delivery.ratelimit import Lane, Limits, RateLimiter
from bot.delivery.replies import OutboxSender
from bot.settings import DeliverySettings
from handlers.messages import DeliveryPriority, Reply
from storage.database import make_session_factory
from storage.queues.outbox import QueuedReply, SqlOutbox, SqlOutboxQueue
from tests.fakes import FakeClock
from tests.integration.conftest import Database

URGENT, NORMAL = DeliveryPriority.URGENT, DeliveryPriority.NORMAL
RESIDENT, MEMBER, OTHER = 9001, 2002, 9002


async def _put(database: Database, clock: FakeClock, *replies: Reply) -> None:
    """Queue `replies` in one transaction, as a use case does."""
    async with make_session_factory(database.engine)() as session, session.begin():
        outbox = SqlOutbox(session, clock)
        for reply in replies:
            await outbox.put(reply)


def _texts(batch: list[QueuedReply]) -> list[str]:
    return [item.reply.text for item in batch]


async def test_urgent_rows_are_claimed_first_and_keep_their_order(database: Database) -> None:
    clock = FakeClock()
    await _put(database, clock, *(Reply(RESIDENT, f"确认 {n}") for n in range(5)))
    await _put(database, clock, Reply(OTHER, "别人的确认"))
    await _put(
        database,
        clock,
        Reply(RESIDENT, "🔥 119", priority=URGENT),
        Reply(MEMBER, "🆘 卡片", priority=URGENT),
        Reply(RESIDENT, "已紧急通知", priority=URGENT),
    )
    queue = SqlOutboxQueue(make_session_factory(database.engine), clock)
    batch = await queue.claim(limit=20, owner="a")
    assert _texts(batch)[:3] == ["🔥 119", "🆘 卡片", "已紧急通知"]
    resident = [t for t in _texts(batch) if t.startswith(("🔥", "已紧急", "确认"))]
    assert resident == ["🔥 119", "已紧急通知", *(f"确认 {n}" for n in range(5))]
    assert all(item.urgent for item in batch[:3])
    assert not any(item.urgent for item in batch[3:])


async def test_a_chat_set_aside_still_gives_its_urgent_rows(database: Database) -> None:
    clock = FakeClock()
    await _put(database, clock, Reply(RESIDENT, "确认 1"), Reply(RESIDENT, "🔥 119", priority=URGENT))
    queue = SqlOutboxQueue(make_session_factory(database.engine), clock)
    batch = await queue.claim(limit=20, skip_chats=frozenset({RESIDENT}), owner="a")
    assert _texts(batch) == ["🔥 119"]


async def test_an_urgent_follow_up_takes_the_queued_card_along(database: Database) -> None:
    clock = FakeClock()
    await _put(
        database, clock, Reply(MEMBER, "旧工单卡片", order_id=7), Reply(MEMBER, "别的消息", order_id=8)
    )
    # Threads under the card of order 7: the card must go first, so it is raised with it.
    await _put(
        database, clock, Reply(MEMBER, "居民确认正在发生危险", order_id=7, thread=True, priority=URGENT)
    )
    queue = SqlOutboxQueue(make_session_factory(database.engine), clock)
    batch = await queue.claim(limit=20, owner="a")
    assert _texts(batch) == ["旧工单卡片", "居民确认正在发生危险", "别的消息"]


class Wire:
    """A messenger that takes a few milliseconds per send and notes what went out, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, str]] = []
        self.started = time.monotonic()
        self.busy = asyncio.Event()  # five sent: the sender is in the middle of its batch
        self.fire = asyncio.Event()  # the advice went out

    async def send(self, reply: Reply, reply_to_message_id: int | None) -> int:
        await asyncio.sleep(0.003)
        self.sent.append((time.monotonic() - self.started, reply.text))
        if len(self.sent) >= 5:
            self.busy.set()
        if reply.text == "🔥 119":
            self.fire.set()
        return len(self.sent)


async def test_an_emergency_committed_mid_batch_goes_next(database: Database) -> None:
    clock = FakeClock()
    factory = make_session_factory(database.engine)
    await _put(database, clock, *(Reply(OTHER + n, f"确认 {n}") for n in range(40)))
    wire = Wire()
    # 20 a second overall: the 40 confirmations alone take two seconds.
    limiter = RateLimiter(Limits(overall_per_second=20, per_chat_burst=3))
    sender = OutboxSender(
        SqlOutboxQueue(factory, clock), wire, limiter, delivery=DeliverySettings(batch_size=20)
    )
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop, poll_interval=5))
    try:
        await asyncio.wait_for(wire.busy.wait(), 10)
        committed = time.monotonic() - wire.started
        await _put(database, clock, Reply(RESIDENT, "🔥 119", priority=URGENT))
        sender.wake(urgent=True)
        await asyncio.wait_for(wire.fire.wait(), 10)
    finally:
        stop.set()
        sender.wake()
        await task
    at, position = next((t, i) for i, (t, text) in enumerate(wire.sent) if text == "🔥 119")
    assert at - committed < 0.4, at - committed  # not after the 15 left of the batch (0.75 s)
    assert position <= 8, position


def _time() -> tuple[list[float], object, object]:
    now = [100.0]

    def clock() -> float:
        return now[0]

    async def sleep(seconds: float) -> None:
        now[0] += max(seconds, 0.0)
        await asyncio.sleep(0)

    return now, clock, sleep


async def test_the_urgent_lane_keeps_a_chats_last_burst_message() -> None:
    now, clock, sleep = _time()
    limits = Limits(per_chat_per_second=1, per_chat_burst=3, overall_per_second=30)
    limiter = RateLimiter(limits, clock=clock, sleep=sleep)  # type: ignore[arg-type]
    for _ in range(2):
        await limiter.acquire(RESIDENT)
    start = now[0]
    await limiter.acquire(RESIDENT)  # a third normal one waits: the last of the burst is kept
    assert now[0] - start >= 0.99
    urgent = RateLimiter(limits, clock=clock, sleep=sleep)  # type: ignore[arg-type]
    for _ in range(2):
        await urgent.acquire(RESIDENT)
    start = now[0]
    await urgent.acquire(RESIDENT, Lane.URGENT)  # ... for the advice: no wait
    assert now[0] == start


async def test_during_a_campaign_an_alert_takes_a_slot_instead_of_bursting() -> None:
    now, clock, sleep = _time()
    limiter = RateLimiter(Limits(overall_per_second=30), clock=clock, sleep=sleep)  # type: ignore[arg-type]
    sends: list[tuple[float, str]] = []
    steady = asyncio.Event()  # the campaign has sent a full second's worth

    async def campaign() -> None:
        for n in range(90):
            await limiter.acquire(50_000 + n, Lane.BULK, bulk=True)
            sends.append((now[0], "bulk"))
            if n == 30:
                steady.set()

    async def emergency() -> None:
        await steady.wait()
        for chat in (RESIDENT, MEMBER, 1001, 1002, 2001, RESIDENT, MEMBER):
            await limiter.acquire(chat, Lane.URGENT)
            sends.append((now[0], "urgent"))

    await asyncio.gather(campaign(), emergency())
    times = [t for t, _ in sends]
    # Never more than the limit in any one-second window, alert included: no 429 from Telegram;
    # the alert takes the campaign's slots (evenly spaced) rather than bursting on top of them.
    assert max(sum(1 for t in times if s <= t < s + 1) for s in times) <= 30
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 0.7 / 30  # slots, give or take
    urgent = [t for t, kind in sends if kind == "urgent"]
    assert urgent[-1] - urgent[0] < 0.5  # seven alerts within a quarter second of slots
    first_urgent = next(i for i, (_, kind) in enumerate(sends) if kind == "urgent")
    assert all(kind == "urgent" for _, kind in sends[first_urgent : first_urgent + 7])


async def test_a_chat_that_must_wait_long_is_deferred_without_counting() -> None:
    """The sender's `defer_after`: a chat whose own limits hold it longer is refused at once (set aside
    for a later pass), nothing counted; the urgent lane and other chats are not held by it."""
    now, clock, sleep = _time()
    limits = Limits(per_chat_per_second=1, per_chat_burst=3, overall_per_second=30)
    limiter = RateLimiter(limits, clock=clock, sleep=sleep)  # type: ignore[arg-type]
    for _ in range(2):
        assert await limiter.acquire(RESIDENT, defer_after=0.5) is True
    start = now[0]
    assert await limiter.acquire(RESIDENT, defer_after=0.5) is False  # ~1 s away: not waited for
    assert now[0] == start
    assert limiter.chat_wait(RESIDENT) > 0.5  # unchanged: the refusal took nothing
    assert await limiter.acquire(RESIDENT, Lane.URGENT, defer_after=0.5) is True  # the kept reserve
    assert await limiter.acquire(OTHER, defer_after=0.5) is True
