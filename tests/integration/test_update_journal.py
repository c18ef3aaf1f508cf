"""The Telegram update journal: what a crash leaves is replayed, and a poison update is given up."""

from __future__ import annotations

import asyncio
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


async def test_a_fetch_journals_its_updates_together_and_only_new_ones_are_handed_on(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    """A redelivered batch (the offset was not confirmed) mixes updates already journaled with new ones:
    only the new ones come back, in the fetch's order, whatever the database returned first."""
    journal = SqlUpdateJournal(uow_factory.session_factory, clock)
    assert [u.update_id for u in await journal.record([update(1), update(2)])] == [1, 2]
    fresh = await journal.record([update(4), update(2), update(3), update(1)])
    assert [u.update_id for u in fresh] == [4, 3]
    assert await journal.record([update(3)]) == []
    assert [u.update_id for u in await journal.unhandled()] == [1, 2, 3, 4]


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


class CountingJournal(SqlUpdateJournal):
    """Counts the journal's handled-marking transactions."""

    marking_rounds = 0

    async def mark_handled_many(self, update_ids: list[int]) -> None:
        self.marking_rounds += 1
        await super().mark_handled_many(update_ids)


async def test_updates_handled_together_are_marked_in_one_transaction(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    journal = CountingJournal(uow_factory.session_factory, clock)
    await journal.record([update(i, chat=9000 + i) for i in range(1, 21)])

    async def process(_payload: dict[str, Any]) -> None:
        return None

    pump = UpdatePump(journal, process)
    await pump.start()
    assert await pump.drain(5)
    assert await journal.unhandled() == []  # all marked before the pump stopped
    assert pump.handled == 20
    assert journal.marking_rounds <= 2  # not one commit per update


async def test_handled_but_not_yet_marked_updates_are_not_adopted_again(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    journal = SqlUpdateJournal(uow_factory.session_factory, clock)
    await journal.record([update(1)])
    handled: list[int] = []
    done = asyncio.Event()

    async def process(payload: dict[str, Any]) -> None:
        handled.append(payload["update_id"])
        done.set()

    pump = UpdatePump(journal, process)
    await pump.start()
    await done.wait()
    await asyncio.sleep(0)  # the worker has finished with it; its mark is still waiting (MARK_WAIT)
    assert [u.update_id for u in await journal.unhandled()] == [1]
    assert await pump.adopt(older_than=0) == 0  # handled here: not queued a second time
    assert await pump.drain(5)
    assert handled == [1]
    assert await journal.unhandled() == []


class SlowJournal(SqlUpdateJournal):
    """Its first marking round waits until `release` is set."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.writing = asyncio.Event()
        self.release = asyncio.Event()

    async def mark_handled_many(self, update_ids: list[int]) -> None:
        if not self.writing.is_set():
            self.writing.set()
            await self.release.wait()
        await super().mark_handled_many(update_ids)


async def test_an_update_handled_while_marks_are_written_is_marked_in_the_next_round(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    journal = SlowJournal(uow_factory.session_factory, clock)
    await journal.record([update(1)])

    second_handled = asyncio.Event()

    async def process(payload: dict[str, Any]) -> None:
        if payload["update_id"] == 2:
            second_handled.set()

    pump = UpdatePump(journal, process)
    await pump.start()
    await journal.writing.wait()  # update 1's round is being written
    await pump.accept([update(2, chat=9002).payload])
    await second_handled.wait()
    journal.release.set()
    for _ in range(200):  # no further update comes: the pump marks update 2 on its own, within 2 s
        if not await journal.unhandled():
            break
        await asyncio.sleep(0.01)
    assert await journal.unhandled() == []
    assert await pump.drain(5)


class BrokenJournal(SqlUpdateJournal):
    """A journal that cannot mark anything (the database went away after the update was handled)."""

    async def mark_handled_many(self, update_ids: list[int]) -> None:
        raise ConnectionError("database away")


async def test_drain_does_not_wait_for_marks_the_journal_cannot_take(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    journal = BrokenJournal(uow_factory.session_factory, clock)
    await journal.record([update(1)])

    async def process(_payload: dict[str, Any]) -> None:
        return None

    pump = UpdatePump(journal, process)
    await pump.start()
    await asyncio.sleep(0.3)  # handled; marking failed once and is backing off
    async with asyncio.timeout(5):
        assert await pump.drain(1)
    assert [u.update_id for u in await journal.unhandled()] == [1]  # replayed at the next start


class HeldJournal(SqlUpdateJournal):
    """Counts journal writes; each holds on until `open` is set (a database under load)."""

    rounds: list[list[int]]
    open: asyncio.Event
    fail: bool = False

    async def record(self, updates: Any, seen_chats: Any = ()) -> list[JournaledUpdate]:
        items = list(updates)
        self.rounds.append([item.update_id for item in items])
        await self.open.wait()
        if self.fail:
            raise ConnectionError("the database went away")
        return await super().record(items, seen_chats)


async def test_webhook_updates_arriving_during_a_journal_write_are_written_together(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    """Telegram posts up to max_connections updates at once: the ones that arrive while a write is under
    way share the next transaction, and each caller returns only once its own updates are committed."""
    journal = HeldJournal(uow_factory.session_factory, clock)
    journal.rounds, journal.open = [], asyncio.Event()
    handled: list[int] = []

    async def process(payload: dict[str, Any]) -> None:
        handled.append(payload["update_id"])

    pump = UpdatePump(journal, process)
    await pump.start()
    first = asyncio.create_task(pump.accept([update(1, chat=1).payload]))
    await asyncio.sleep(0.01)
    later = [asyncio.create_task(pump.accept([update(i, chat=i).payload])) for i in range(2, 6)]
    await asyncio.sleep(0.01)
    assert journal.rounds == [[1]]
    assert not any(task.done() for task in [first, *later])
    journal.open.set()
    assert await asyncio.gather(first, *later) == [1, 1, 1, 1, 1]
    assert journal.rounds == [[1], [2, 3, 4, 5]]  # two transactions for five webhook calls
    assert await pump.accept([update(3, chat=3).payload]) == 0  # a redelivery is not new
    assert await pump.drain(5)
    assert sorted(handled) == [1, 2, 3, 4, 5]

    journal.fail, journal.open = True, asyncio.Event()
    calls = [asyncio.create_task(pump.accept([update(i, chat=i).payload])) for i in (7, 8)]
    await asyncio.sleep(0.01)
    journal.open.set()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(result, ConnectionError) for result in results)  # each webhook call answers 500


async def test_a_journal_write_cancelled_leaves_no_webhook_call_waiting(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    journal = HeldJournal(uow_factory.session_factory, clock)
    journal.rounds, journal.open = [], asyncio.Event()

    async def process(_payload: dict[str, Any]) -> None:
        return None

    pump = UpdatePump(journal, process)
    calls = [asyncio.create_task(pump.accept([update(i, chat=i).payload])) for i in (1, 2)]
    await asyncio.sleep(0.01)
    later = asyncio.create_task(pump.accept([update(3, chat=3).payload]))  # waits for the next round
    await asyncio.sleep(0.01)
    assert pump._journaling is not None
    pump._journaling.cancel()
    results = await asyncio.wait_for(asyncio.gather(*calls, later, return_exceptions=True), 2)
    assert all(isinstance(result, asyncio.CancelledError) for result in results)


async def test_a_worker_looks_ahead_at_what_was_queued_before_handling_the_first_of_it(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    """The classifier is shown a page of updates together before the first is handled (a tenth of the CPU
    a report, one at a time in a busy bot); a look-ahead that fails changes nothing of the handling."""
    journal = SqlUpdateJournal(uow_factory.session_factory, clock)
    events: list[object] = []

    def look_ahead(payloads: list[dict[str, Any]]) -> None:
        events.append(("ahead", [p["update_id"] for p in payloads]))
        if len(events) > 1:
            raise RuntimeError("the classifier is away")

    first_three = asyncio.Event()

    async def process(payload: dict[str, Any]) -> None:
        events.append(payload["update_id"])
        if payload["update_id"] == 3:
            first_three.set()

    pump = UpdatePump(journal, process, look_ahead=look_ahead)
    await pump.start()
    await pump.accept([u.payload for u in (update(1), update(2, chat=9002), update(3, chat=9003))])
    await asyncio.wait_for(first_three.wait(), 5)
    await pump.accept([update(4).payload])  # one alone: nothing to gain from company
    await pump.accept([update(5).payload, update(6).payload])
    assert await pump.drain(5)
    assert events == [("ahead", [1, 2, 3]), 1, 2, 3, 4, ("ahead", [5, 6]), 5, 6]
    assert pump.handled == 6
    assert pump.failed == 0
