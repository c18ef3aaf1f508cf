"""A poison update (given up after failing MAX_FAILURES times) is reported to staff through the outbox, not
only logged: someone wrote and will get no answer, and staff are the ones who can call them back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.telegram.pump import MAX_FAILURES, UpdatePump
from bot.telegram.runner import tell_staff
from handlers.core import Core
from storage.models import OutboxRow
from storage.repositories.telegram import JournaledUpdate, SqlUpdateJournal
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import STAFF_CHEN, STAFF_LIU, ChatDriver
from tests.fakes import FakeClock

SECRET = "王阿姨家的门牌号"  # what the update said: it must not travel with the report


async def _outbox(uow_factory: SqlUnitOfWorkFactory) -> list[OutboxRow]:
    async with uow_factory() as uow:
        return list((await uow.session.scalars(select(OutboxRow).order_by(OutboxRow.id))).all())


async def test_staff_are_told_once_when_an_update_is_given_up(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, driver: ChatDriver
) -> None:
    core: Core = driver.core
    journal = SqlUpdateJournal(uow_factory.session_factory, clock)
    message = {"message_id": 1, "chat": {"id": 9001}, "text": SECRET}
    await journal.record([JournaledUpdate(41, {"update_id": 41, "message": message})])

    async def process(payload: dict[str, Any]) -> None:
        raise RuntimeError("the core cannot handle this one")

    async def give_up(update_id: int, kind: str) -> None:
        await tell_staff(core, update_id, kind)

    for attempt in range(1, MAX_FAILURES + 1):  # each start replays what is still unhandled
        pump = UpdatePump(journal, process, on_give_up=give_up)
        await pump.start()
        assert await pump.drain(5)
        told = [row for row in await _outbox(uow_factory) if "41" in row.payload["text"]]
        assert len(told) == (2 if attempt == MAX_FAILURES else 0), attempt
    assert sorted(row.chat_id for row in told) == [STAFF_LIU, STAFF_CHEN]
    assert all("一条消息" in row.payload["text"] for row in told)
    assert all(SECRET not in row.payload["text"] for row in told)


async def test_a_failure_to_tell_staff_does_not_stop_the_pump(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    journal = SqlUpdateJournal(uow_factory.session_factory, clock)
    await journal.record([JournaledUpdate(7, {"update_id": 7, "callback_query": {"id": "x"}})])
    calls: list[tuple[int, str]] = []

    async def process(payload: dict[str, Any]) -> None:
        raise RuntimeError("poison")

    async def give_up(update_id: int, kind: str) -> None:
        calls.append((update_id, kind))
        raise OSError("the database went away")

    for _ in range(MAX_FAILURES):
        pump = UpdatePump(journal, process, on_give_up=give_up)
        await pump.start()
        assert await pump.drain(5)
    assert calls == [(7, "callback_query")]
    assert await journal.unhandled() == []
