"""The Telegram update journal: what a crash leaves is replayed, and a poison update is given up."""

from __future__ import annotations

from typing import Any

from bot.telegram.pump import MAX_FAILURES, UpdatePump
from storage.repositories.telegram import JournaledUpdate, SqlUpdateJournal
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClock


def update(update_id: int, chat: int = 9001) -> JournaledUpdate:
    payload = {
        "update_id": update_id,
        "message": {"message_id": update_id, "chat": {"id": chat}, "text": "x"},
    }
    return JournaledUpdate(update_id, payload)


async def test_a_poison_update_is_given_up_after_the_limit(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    journal = SqlUpdateJournal(uow_factory.session_factory, clock)
    await journal.record([update(1), update(2)])
    handled: list[int] = []

    async def process(payload: dict[str, Any]) -> None:
        if payload["update_id"] == 1:
            raise RuntimeError("the core cannot handle this one")
        handled.append(payload["update_id"])

    for attempt in range(1, MAX_FAILURES + 1):  # each restart replays what is still unhandled
        pump = UpdatePump(journal, process)
        await pump.start()
        assert await pump.drain(5)
        left = [u.update_id for u in await journal.unhandled()]
        assert left == ([] if attempt == MAX_FAILURES else [1]), attempt
    assert handled == [2]  # the good update was handled once, at the first start
    assert pump.given_up == 1
