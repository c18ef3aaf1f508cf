"""The core reports what it did (orders opened, 催办, escalations) to an observer, after the commit only."""

from __future__ import annotations

from datetime import timedelta

from handlers import texts
from handlers.core import Core
from handlers.messages import Incoming
from handlers.ports import Happened, Notice, Observer
from tests.driver import RESIDENT_ZHANG, ChatDriver
from tests.fakes import FakeClock, FakeUnitOfWorkFactory


class RecordingObserver:
    def __init__(self) -> None:
        self.notices: list[Notice] = []

    def observe(self, notice: Notice) -> None:
        self.notices.append(notice)


class BrokenObserver:
    def observe(self, notice: Notice) -> None:
        raise RuntimeError("metrics backend down")


def observed(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock, observer: Observer
) -> None:
    driver.core = Core(uow_factory, driver.core._classifier, clock, observer=observer)


async def test_an_opened_order_is_reported_with_its_category(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    observer = RecordingObserver()
    observed(driver, uow_factory, clock, observer)
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    assert observer.notices == [Notice(Happened.ORDER_OPENED, "repair")]
    (order,) = uow_factory.store.orders.values()
    assert order.category.value == "repair"


async def test_reminder_and_each_escalation_level_are_reported(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    observer = RecordingObserver()
    observed(driver, uow_factory, clock, observer)
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    (order,) = uow_factory.store.orders.values()
    assert order.accept_due_at is not None
    clock.advance(hours=3, minutes=1)  # a quarter of the 4 h left: 催办
    await driver.core.run_timers()
    clock.current = order.accept_due_at + timedelta(minutes=1)
    await driver.core.run_timers()  # due: the grid leader
    clock.advance(hours=2)
    await driver.core.run_timers()  # escalate_every later: staff
    assert [n for n in observer.notices if n.what is not Happened.ORDER_OPENED] == [
        Notice(Happened.REMINDED),
        Notice(Happened.ESCALATED, "1"),
        Notice(Happened.ESCALATED, "2"),
    ]


async def test_refused_and_duplicate_updates_report_nothing(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    observer = RecordingObserver()
    observed(driver, uow_factory, clock, observer)
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    (order,) = uow_factory.store.orders.values()
    observer.notices.clear()
    # A resident pressing 接单 on their own order: refused, the transaction rolled back.
    outcome = await driver.press(RESIDENT_ZHANG, f"ac:{order.id}")
    assert outcome.callback_answer == texts.NOT_ALLOWED
    assert observer.notices == []
    # The same message delivered again: skipped.
    again = await driver.core.handle(
        Incoming(chat_id=RESIDENT_ZHANG, sender_id=RESIDENT_ZHANG, text="楼道灯坏了", dedupe_key="m:dup")
    )
    assert not again.duplicate
    observer.notices.clear()
    again = await driver.core.handle(
        Incoming(chat_id=RESIDENT_ZHANG, sender_id=RESIDENT_ZHANG, text="楼道灯坏了", dedupe_key="m:dup")
    )
    assert again.duplicate
    assert observer.notices == []


async def test_a_failing_observer_never_breaks_handling(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    observed(driver, uow_factory, clock, BrokenObserver())
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    (order,) = uow_factory.store.orders.values()  # committed and answered all the same
    assert order.number.startswith("GD")
    assert any("GD" in text for text in driver.texts(RESIDENT_ZHANG))
