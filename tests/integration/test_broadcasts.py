"""The delivery ledger on SQLite and PostgreSQL: expansion, claims, leases, 429 / 403, the duplicate window."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.delivery.broadcasts import BroadcastSender
from bot.delivery.replies import DeliveryError, RetryLater, Unreachable
from bot.settings import BroadcastSettings, DeliverySettings
from handlers.broadcasts.model import Campaign, Topic
from handlers.broadcasts.planning import approve, create, notify_finished, plan_due
from handlers.broadcasts.requests import BroadcastRequest
from handlers.community.model import Resident
from handlers.messages import Reply
from storage.queues.broadcasts import SqlDeliveryQueue
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClock

SYNTHETIC = range(50_000_001, 50_000_041)  # 40 residents of nowhere in particular


class Recorder:
    """A messenger that records what it sent and can be told to fail."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.faults: dict[int, list[Exception]] = {}

    async def send(self, reply: Reply, reply_to_message_id: int | None) -> int:
        queued = self.faults.get(reply.chat_id)
        if queued:
            raise queued.pop(0)
        self.sent.append(reply.chat_id)
        return len(self.sent)


class NoPause:
    async def wait(self) -> None:
        return None

    def slow_down(self) -> None:
        return None


def settings(**changes: object) -> DeliverySettings:
    base = DeliverySettings(sender_name="s1", per_chat_per_second=10_000, batch_size=7)
    return base.model_copy(update=changes)


def make_sender(queue: SqlDeliveryQueue, messenger: Recorder, **changes: object) -> BroadcastSender:
    """A sender with `changes` to its delivery or broadcast settings, unpaced."""
    broadcast = BroadcastSettings(rate_per_second=10_000)
    ours = {k: v for k, v in changes.items() if k in BroadcastSettings.model_fields}
    delivery = settings(**{k: v for k, v in changes.items() if k not in ours})
    broadcast = broadcast.model_copy(update=ours)
    return BroadcastSender(queue, messenger, delivery, broadcast, pace=NoPause())  # type: ignore[arg-type]


async def _broadcast(factory: SqlUnitOfWorkFactory, clock: FakeClock, *, emergency: bool = False) -> int:
    async with factory() as uow:
        for chat in SYNTHETIC:
            await uow.residents.save(Resident(None, chat, "居民", consented_at=clock.now()))
        await uow.broadcasts.save_campaign(Campaign("c", "标题", Topic.ANTI_FRAUD, "正文 96110"))
        made = await create(uow, clock, BroadcastRequest(campaign="c", emergency=emergency), None)
        assert made.id is not None
        await approve(uow, clock, made.id, None)
        await uow.commit()
    assert await plan_due(factory, clock) == 1
    return made.id


def _queue(factory: SqlUnitOfWorkFactory, clock: FakeClock) -> SqlDeliveryQueue:
    return SqlDeliveryQueue(factory.session_factory, clock)


async def test_run_expands_once_per_chat_and_is_sent_once(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    broadcast_id = await _broadcast(uow_factory, clock)
    queue = _queue(uow_factory, clock)
    per_chat = await queue.deliveries_per_chat(broadcast_id)
    assert len(per_chat) == len(SYNTHETIC) + 2  # plus the two residents of the example community
    messenger = Recorder()
    sender = make_sender(queue, messenger)
    stats = await sender.drain()
    assert stats.sent == len(per_chat)
    assert sorted(messenger.sent) == sorted(per_chat)
    progress = await queue.progress(broadcast_id)
    assert progress.counts.sent == len(per_chat)
    assert progress.counts.remaining == 0
    assert await notify_finished(uow_factory) == 1


async def test_two_senders_never_claim_the_same_row(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    await _broadcast(uow_factory, clock)
    queue = _queue(uow_factory, clock)
    a, b = Recorder(), Recorder()
    s1 = make_sender(queue, a, sender_name="a")
    s2 = make_sender(queue, b, sender_name="b")
    await asyncio.gather(s1.drain(), s2.drain())
    assert not set(a.sent) & set(b.sent)
    assert len(a.sent) + len(b.sent) == len(SYNTHETIC) + 2


async def test_429_pauses_and_retries_in_place_and_403_marks_unreachable(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    broadcast_id = await _broadcast(uow_factory, clock)
    queue = _queue(uow_factory, clock)
    messenger = Recorder()
    first, blocked = SYNTHETIC[0], SYNTHETIC[1]
    messenger.faults[first] = [RetryLater(0.01), RetryLater(0.01)]
    messenger.faults[blocked] = [Unreachable("Forbidden: bot was blocked by the user")]
    sender = make_sender(queue, messenger)
    stats = await sender.drain()
    assert stats.rate_limited == 2
    assert stats.unreachable == 1
    assert messenger.sent.count(first) == 1
    assert blocked not in messenger.sent
    per_chat = await queue.deliveries_per_chat(broadcast_id)
    assert per_chat[blocked] == ["unreachable"]
    assert per_chat[first] == ["sent"]

    # The next broadcast does not even try the chat that blocked us.
    second = await _broadcast_again(uow_factory, clock)
    await sender.drain()
    assert messenger.sent.count(blocked) == 0
    assert (await queue.deliveries_per_chat(second))[blocked] == ["unreachable"]


async def _broadcast_again(factory: SqlUnitOfWorkFactory, clock: FakeClock) -> int:
    async with factory() as uow:
        made = await create(uow, clock, BroadcastRequest(campaign="c"), None)
        assert made.id is not None
        await approve(uow, clock, made.id, None)
        await uow.commit()
    await plan_due(factory, clock)
    return made.id


async def test_endless_429_gives_the_row_back_bounded(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    broadcast_id = await _broadcast(uow_factory, clock)
    queue = _queue(uow_factory, clock)
    messenger = Recorder()
    stuck = SYNTHETIC[3]
    messenger.faults[stuck] = [RetryLater(0.001) for _ in range(100)]
    sender = make_sender(queue, messenger, max_rate_limited_retries=2, max_attempts=2)
    await sender.drain()
    assert (await queue.deliveries_per_chat(broadcast_id))[stuck] == ["failed"]
    assert stats_429(sender) == 6  # (2 retries + 1) x 2 attempts, then recorded as failed


def stats_429(sender: BroadcastSender) -> int:
    return sender.stats.rate_limited


async def test_other_errors_are_retried_then_failed(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    broadcast_id = await _broadcast(uow_factory, clock)
    queue = _queue(uow_factory, clock)
    messenger = Recorder()
    flaky, broken = SYNTHETIC[4], SYNTHETIC[5]
    messenger.faults[flaky] = [DeliveryError("timeout")]
    messenger.faults[broken] = [DeliveryError("bad request") for _ in range(10)]
    sender = make_sender(queue, messenger, max_attempts=3)
    await sender.drain()
    per_chat = await queue.deliveries_per_chat(broadcast_id)
    assert per_chat[flaky] == ["sent"]
    assert per_chat[broken] == ["failed"]


async def test_alerts_jump_the_queue(uow_factory: SqlUnitOfWorkFactory, clock: FakeClock) -> None:
    await _broadcast(uow_factory, clock)
    async with uow_factory() as uow:
        alert = await create(
            uow, clock, BroadcastRequest(text="停水通知：今天停水", audience="兴泰小区", emergency=True), None
        )
        assert alert.id is not None
        await approve(uow, clock, alert.id, None)
        await uow.commit()
    await plan_due(uow_factory, clock)
    queue = _queue(uow_factory, clock)
    first = await queue.claim("s1", 1)
    assert "紧急通知" in first[0].text


async def test_crash_resumes_and_repeats_at_most_the_message_in_flight(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    broadcast_id = await _broadcast(uow_factory, clock)
    queue = _queue(uow_factory, clock)

    class DiesAfterSending(Recorder):
        async def send(self, reply: Reply, reply_to_message_id: int | None) -> int:
            message_id = await super().send(reply, reply_to_message_id)
            if len(self.sent) == 10:
                raise SystemExit("killed between the send and its record")
            return message_id

    messenger = DiesAfterSending()
    crashed = make_sender(queue, messenger)
    with pytest.raises(SystemExit):
        await crashed.drain()
    # Another sender does not take the dead one's claims until the lease expires...
    other = make_sender(queue, messenger, sender_name="s2")
    await other.start()
    await other.drain()
    per_chat = await queue.deliveries_per_chat(broadcast_id)
    held = [c for c, s in per_chat.items() if s == ["sending"]]
    assert 0 < len(held) <= settings().batch_size
    # ...then it does (or the same sender restarts and takes them back at once).
    clock.advance(seconds=settings().lease_seconds + 1)
    await other.start()
    await other.drain()
    per_chat = await queue.deliveries_per_chat(broadcast_id)
    assert all(s == ["sent"] for s in per_chat.values())
    repeated = [c for c in set(messenger.sent) if messenger.sent.count(c) > 1]
    assert len(repeated) == 1  # exactly the one message in flight at the crash
    assert len(messenger.sent) == len(per_chat) + 1


async def test_stale_release_uses_the_lease(uow_factory: SqlUnitOfWorkFactory, clock: FakeClock) -> None:
    await _broadcast(uow_factory, clock)
    queue = _queue(uow_factory, clock)
    claimed = await queue.claim("gone", 5)
    assert len(claimed) == 5
    assert await queue.release_stale(timedelta(minutes=2)) == 0
    clock.advance(minutes=3)
    assert await queue.release_stale(timedelta(minutes=2)) == 5
    assert not await queue.mark_sent(claimed[0], 1)  # the dead sender's ("gone") late answer is not recorded


async def test_ledger_audience_reaches_consented_residents_only(uow_factory: SqlUnitOfWorkFactory) -> None:
    from datetime import UTC, datetime

    from handlers.broadcasts.requests import parse_audience
    from handlers.care.model import Consent, LedgerEntry, Vulnerability

    at = datetime(2026, 11, 30, tzinfo=UTC)
    async with uow_factory() as uow:
        zhang = await uow.residents.by_chat(9001)
        chen = await uow.residents.by_chat(9002)
        assert zhang is not None
        assert chen is not None
        assert zhang.id is not None
        assert chen.id is not None
        await uow.ledger.save(
            LedgerEntry(zhang.id, frozenset({Vulnerability.ELDERLY_ALONE}), Consent.PAPER, None, at)
        )
        await uow.ledger.save(
            LedgerEntry(chen.id, frozenset({Vulnerability.ELDERLY_ALONE}), Consent.PENDING, None, at)
        )
        await uow.commit()
    async with uow_factory() as uow:
        audience = await parse_audience(uow, "台账:独居老人")
        assert await uow.broadcasts.audience_chats(audience) == [9001]  # 老陈 has not agreed yet
        disabled = await parse_audience(uow, "台账:残疾人")
        assert await uow.broadcasts.audience_chats(disabled) == []
