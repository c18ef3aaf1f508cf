"""Replies handed to the sender at commit keep each chat's order when some go back to the queue."""

from __future__ import annotations

from handlers.messages import DeliveryPriority, Reply
from storage.queues.outbox import SqlOutboxQueue
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClock
from tests.integration.conftest import RecordingMessenger

X, Y, Z = 9101, 9102, 9103


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
    assert texts.index("🔥 119") < texts.index("X1")  # the emergency went next: X1 was put back
    assert [t for t in texts if t.startswith("X")] == ["X1", "X2"]  # and X2 did not overtake it
