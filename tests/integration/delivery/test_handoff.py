"""Replies handed to the sender at commit keep each chat's order when some go back to the queue, and an
emergency committed mid-batch goes next: moved to the front in memory when it was handed over (with the
card it refers back to), claimed first when it waits in the queue."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING

from handlers.messages import DeliveryPriority, Reply
from storage.queues.outbox import SqlOutboxQueue
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClock
from tests.integration.conftest import RecordingMessenger, add_order

if TYPE_CHECKING:
    from bot.delivery.replies import OutboxSender

X, Y, Z, W = 9101, 9102, 9103, 9104
URGENT = DeliveryPriority.URGENT


async def _commit(factory: SqlUnitOfWorkFactory, *replies: Reply) -> None:
    async with factory() as uow:
        for reply in replies:
            await uow.outbox.put(reply)
        await uow.commit()


async def test_rows_put_back_take_the_later_handed_rows_of_their_chat_along(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, messenger: RecordingMessenger
) -> None:
    from bot.delivery.replies import OutboxSender

    sender = OutboxSender(SqlOutboxQueue(uow_factory.session_factory, clock), messenger)
    uow_factory.handoff = sender
    await _commit(uow_factory, Reply(Y, "Y1"), Reply(X, "X1"))  # handed over: nothing else of X or Y waits
    send = messenger.send

    async def send_and_meanwhile(reply: Reply, reply_to: int | None) -> int | None:
        if reply.text == "Y1":  # while Y1 is on the wire: an emergency elsewhere, and X's next message
            await _commit(uow_factory, Reply(Z, "🔥 119", priority=DeliveryPriority.URGENT), Reply(X, "X2"))
        return await send(reply, reply_to)

    messenger.send = send_and_meanwhile  # type: ignore[method-assign]
    await sender.flush(claim=False)
    texts = [sent.text for sent in messenger.delivered]
    assert texts.index("🔥 119") < texts.index("X1")  # the emergency went next
    assert [t for t in texts if t.startswith("X")] == ["X1", "X2"]  # and X2 did not overtake it


class CountingQueue(SqlOutboxQueue):
    """The outbox queue, counting the rows given back to it."""

    released = 0

    async def release(self, ids: list[int]) -> None:
        self.released += len(ids)
        await super().release(ids)


def _on_the_wire(messenger: RecordingMessenger, text: str, meanwhile: Callable[[], Awaitable[None]]) -> None:
    """While the message `text` is being sent, run `meanwhile` (commits of other reports)."""
    send = messenger.send

    async def send_and_meanwhile(reply: Reply, reply_to: int | None) -> int | None:
        if reply.text == text:
            await meanwhile()
        return await send(reply, reply_to)

    messenger.send = send_and_meanwhile  # type: ignore[method-assign]


async def _an_order(uow_factory: SqlUnitOfWorkFactory, clock: FakeClock) -> int:
    async with uow_factory.session_factory() as session, session.begin():
        return (await add_order(session, clock, X - 1)).id


async def test_a_handed_emergency_goes_next_without_a_round_trip_and_its_card_first(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, messenger: RecordingMessenger
) -> None:
    from bot.delivery.replies import OutboxSender

    order = await _an_order(uow_factory, clock)
    queue = CountingQueue(uow_factory.session_factory, clock)
    sender = OutboxSender(queue, messenger)
    uow_factory.handoff = sender
    await _commit(
        uow_factory, *(Reply(X + n, f"确认 {n}") for n in range(6)), Reply(Y, "卡片", order_id=order)
    )

    async def meanwhile() -> None:  # the resident confirms the danger: a thread under the card, urgent
        danger = Reply(Y, "居民确认正在发生危险", order_id=order, thread=True, priority=URGENT)
        await _commit(uow_factory, danger)
        await _commit(uow_factory, Reply(Z, "🔥 119", priority=URGENT), Reply(W, "别的确认"))

    _on_the_wire(messenger, "确认 0", meanwhile)
    await sender.flush(claim=False)
    sent = messenger.delivered
    texts = [s.reply.text for s in sent]
    # The urgent follow-up went next, its card just before it (the follow-up is a reply to it)...
    assert texts[1:4] == ["卡片", "居民确认正在发生危险", "🔥 119"], texts
    assert sent[2].reply_to_message_id == sent[1].message_id
    # ... the rest of the batch after them, all of it sent from memory: nothing went back to the queue.
    assert texts[4:] == [*(f"确认 {n}" for n in range(1, 6)), "别的确认"]
    assert queue.released == 0


async def test_an_emergency_waiting_in_the_queue_is_claimed_before_the_handed_rows(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, messenger: RecordingMessenger
) -> None:
    from bot.delivery.replies import OutboxSender

    sender = OutboxSender(SqlOutboxQueue(uow_factory.session_factory, clock), messenger)
    uow_factory.handoff = sender
    await _commit(uow_factory, *(Reply(X + n, f"确认 {n}") for n in range(3)))

    async def meanwhile() -> None:
        uow_factory.handoff = None  # (a console's row: queued, not handed over) Z is busy: its next rows wait
        await _commit(uow_factory, Reply(Z, "Z 的旧消息"))
        uow_factory.handoff = sender
        await _commit(uow_factory, Reply(Z, "🔥 119", priority=URGENT))  # left in the queue, urgent
        await _commit(uow_factory, Reply(W, "别的确认"))  # handed over after it

    _on_the_wire(messenger, "确认 0", meanwhile)
    await sender.flush(claim=False)
    texts = [s.reply.text for s in messenger.delivered]
    assert texts[:2] == ["确认 0", "🔥 119"], texts
    assert sorted(texts) == sorted(["确认 0", "确认 1", "确认 2", "Z 的旧消息", "🔥 119", "别的确认"])


async def test_an_emergency_handed_behind_normal_rows_goes_first(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, messenger: RecordingMessenger
) -> None:
    from bot.delivery.replies import OutboxSender

    sender = OutboxSender(SqlOutboxQueue(uow_factory.session_factory, clock), messenger)
    uow_factory.handoff = sender
    # Committed while the sender was busy elsewhere: all in hand when its next pass starts.
    await _commit(uow_factory, *(Reply(X + n, f"确认 {n}") for n in range(4)), Reply(Y, "Y1"))
    await _commit(uow_factory, Reply(Y, "Y2"), Reply(Z, "🔥 119", priority=URGENT))
    await sender.flush(claim=False)
    texts = [s.reply.text for s in messenger.delivered]
    assert texts[0] == "🔥 119", texts
    assert texts.index("Y1") < texts.index("Y2")


async def _busy_sender(
    uow_factory: SqlUnitOfWorkFactory, queue: SqlOutboxQueue, messenger: RecordingMessenger, rows: int
) -> OutboxSender:
    """A sender given `rows` confirmations to send, handed over in memory."""
    from bot.delivery.replies import OutboxSender

    sender = OutboxSender(queue, messenger)
    uow_factory.handoff = sender
    await _commit(uow_factory, *(Reply(X + n, f"确认 {n}") for n in range(rows)))
    return sender


def _as_the_runner_wraps(
    job: Callable[[], Awaitable[object]], sender: object
) -> Callable[[], Awaitable[object]]:
    """A housekeeping tick's job as `gridbot run` schedules it (bot/telegram/runner.py `_waking`)."""
    from bot.delivery.outcomes import OutcomesFirst
    from bot.schedule.scheduler import Tick
    from bot.telegram.runner import TelegramRunner

    runner = SimpleNamespace(outcomes=OutcomesFirst(enabled=False), sender=sender, broadcasts=None)
    return TelegramRunner._waking(runner, Tick("timers", job, 30)).job  # type: ignore[arg-type]


async def test_a_tick_that_queued_nothing_urgent_mid_batch_gives_nothing_back(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, messenger: RecordingMessenger
) -> None:
    """Every tick's wake was marked urgent (an escalation may have been queued): landing mid-batch, it made
    the sender give the rest of the batch back to the queue and claim it again, urgent rows or none."""
    queue = CountingQueue(uow_factory.session_factory, clock)
    sender = await _busy_sender(uow_factory, queue, messenger, 4)
    tick = _as_the_runner_wraps(lambda: _commit(uow_factory, Reply(W, "超时提醒")), sender)

    _on_the_wire(messenger, "确认 0", tick)
    await sender.flush(claim=False)
    texts = [s.reply.text for s in messenger.delivered]
    assert texts == [*(f"确认 {n}" for n in range(4)), "超时提醒"], texts
    assert queue.released == 0


async def test_an_escalation_a_tick_left_in_the_queue_goes_next(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, messenger: RecordingMessenger
) -> None:
    sender = await _busy_sender(uow_factory, SqlOutboxQueue(uow_factory.session_factory, clock), messenger, 3)

    async def escalate() -> None:
        uow_factory.handoff = None  # Z is busy (a row queued, not handed over): its next rows wait too
        await _commit(uow_factory, Reply(Z, "Z 的旧消息"))
        uow_factory.handoff = sender
        await _commit(uow_factory, Reply(Z, "⚠️ 工单超时未接单，已升级", priority=URGENT))

    _on_the_wire(messenger, "确认 0", _as_the_runner_wraps(escalate, sender))
    await sender.flush(claim=False)
    texts = [s.reply.text for s in messenger.delivered]
    assert texts[:2] == ["确认 0", "⚠️ 工单超时未接单，已升级"], texts
    assert sorted(texts[2:]) == ["Z 的旧消息", "确认 1", "确认 2"]


def test_each_rows_claim_is_decided_once_on_postgresql() -> None:
    """The busy/refused checks are in the statement once, in a MATERIALIZED CTE: inline (or in a CTE that
    PostgreSQL folds back in) each of the four claimed columns carried both subqueries, eight planned and
    run at every report."""
    from sqlalchemy.dialects import postgresql

    from storage.queues.handoff import insert_handed_arrays

    sql = str(insert_handed_arrays().compile(dialect=postgresql.asyncpg.dialect()))
    assert sql.count("EXISTS") == 2
    assert sql.startswith("WITH decided AS MATERIALIZED")
