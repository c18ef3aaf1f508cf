"""One error path: an unexpected failure rolls back, is answered politely with an incident number, is logged
once without personal data, and is never replayed (it would fail the same way)."""

from __future__ import annotations

import logging
import re

import pytest

from handlers import texts
from handlers.context import Context
from handlers.core import TABLES, Core
from handlers.messages import Incoming
from handlers.verbs import Action, Verb, encode
from handlers.workorders.model import OrderState, WorkOrder
from nlp.types import Classification
from tests.driver import MEMBER_LI, RESIDENT_ZHANG, ChatDriver
from tests.fakes import FakeUnitOfWork, FakeUnitOfWorkFactory

PRIVATE = "我家5号楼2单元501楼道灯坏了 电话13800138000"
INCIDENT = re.compile(r"（编号 ([0-9a-f]{8})）$")


def _formatted(caplog: pytest.LogCaptureFixture) -> list[str]:
    formatter = logging.Formatter("%(message)s")
    return [formatter.format(record) for record in caplog.records]


@pytest.fixture
async def order(driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory) -> WorkOrder:
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    (found,) = uow_factory.store.orders.values()
    return found


class Calls:
    def __init__(self) -> None:
        self.count = 0


@pytest.fixture
def failing_accept(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """接单 breaks half-way: the order is changed and a message queued, then a ValueError from bad input."""
    calls = Calls()

    async def accept_then_break(ctx: Context, action: Action) -> None:
        calls.count += 1
        stored = await ctx.uow.orders.get(action.order_id)
        assert stored is not None
        stored.accept(ctx.actor, ctx.clock.now())
        await ctx.uow.orders.save(stored)
        await ctx.answer("已接单")
        int(PRIVATE)  # ValueError: invalid literal for int() with base 10: '<what the resident wrote>'

    monkeypatch.setitem(TABLES.buttons, Verb.ACCEPT, accept_then_break)  # type: ignore[index]
    return calls


async def test_a_failing_button_is_answered_once_and_never_replayed(
    driver: ChatDriver,
    uow_factory: FakeUnitOfWorkFactory,
    order: WorkOrder,
    failing_accept: Calls,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert order.id is not None
    before = uow_factory.store.snapshot()
    driver.clear()
    press = Incoming(MEMBER_LI, MEMBER_LI, callback_data=encode(Verb.ACCEPT, order.id), dedupe_key="cb:77")
    caplog.set_level(logging.DEBUG)

    outcome = await driver.core.handle(press)

    # the person is told, on the button itself, with the number staff can look up
    assert outcome.callback_answer is not None
    assert outcome.callback_answer.startswith(texts.INTERNAL_ERROR)
    found = INCIDENT.search(outcome.callback_answer)
    assert found is not None
    assert outcome.incident == found.group(1)
    # nothing of the failed transaction is kept: the order, its events, the queued message
    assert uow_factory.store.orders == before.orders
    assert uow_factory.store.events == before.events
    assert uow_factory.store.outbox == []
    assert uow_factory.store.orders[order.id].state is OrderState.ASSIGNED
    # logged once, with the incident number, where it broke, and nothing the person wrote
    logged = _formatted(caplog)
    assert [line for line in logged if outcome.incident in line] == logged[-1:]
    assert "ValueError" in logged[-1]
    assert "test_error_path.py" in logged[-1]
    assert not any(part in line for line in logged for part in ("楼道灯", "13800138000", "5号楼"))

    # the same update again (a journal replay, a webhook retry) is a duplicate: no second attempt
    again = await driver.core.handle(press)
    assert again.duplicate
    assert failing_accept.count == 1


async def test_a_failing_message_is_answered_in_the_chat(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        calls = 0

        def classify(self, text: str) -> Classification:
            Broken.calls += 1
            raise ValueError(f"cannot classify {text!r}")

    driver.core._classifier = Broken()
    caplog.set_level(logging.DEBUG)
    message = Incoming(RESIDENT_ZHANG, RESIDENT_ZHANG, message_id=5, text=PRIVATE, dedupe_key="m:9001:5")

    outcome = await driver.core.handle(message)
    await driver.deliver_now()

    assert outcome.incident is not None
    assert driver.texts(RESIDENT_ZHANG) == [texts.internal_error(outcome.incident)]
    assert uow_factory.store.orders == {}
    assert uow_factory.store.conversations == {}
    assert uow_factory.store.inbound == {"m:9001:5"}
    logged = _formatted(caplog)
    assert len([line for line in logged if outcome.incident in line]) == 1
    assert not any(part in line for line in logged for part in ("楼道灯", "13800138000", "5号楼"))
    assert (await driver.core.handle(message)).duplicate
    assert Broken.calls == 1


async def test_a_refusal_is_still_a_refusal(driver: ChatDriver, order: WorkOrder) -> None:
    assert order.id is not None
    outcome = await driver.press(RESIDENT_ZHANG, encode(Verb.ACCEPT, order.id))
    assert outcome.callback_answer == texts.NOT_ALLOWED
    assert outcome.incident is None


async def test_a_lost_connection_is_left_for_the_journal_to_retry(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, order: WorkOrder, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert order.id is not None
    calls = Calls()

    async def connection_lost(ctx: Context, action: Action) -> None:
        calls.count += 1
        raise ConnectionResetError("database went away")

    monkeypatch.setitem(TABLES.buttons, Verb.ACCEPT, connection_lost)  # type: ignore[index]
    press = Incoming(MEMBER_LI, MEMBER_LI, callback_data=encode(Verb.ACCEPT, order.id), dedupe_key="cb:78")
    for _ in range(2):
        with pytest.raises(ConnectionResetError):
            await driver.core.handle(press)
    assert calls.count == 2  # not recorded as handled: the second delivery tried again
    assert "cb:78" not in uow_factory.store.inbound


async def test_when_not_even_the_failure_can_be_recorded_the_update_stays_to_be_retried(
    uow_factory: FakeUnitOfWorkFactory, driver: ChatDriver, order: WorkOrder, failing_accept: Calls
) -> None:
    assert order.id is not None

    class DatabaseGoneAfterFirst(FakeUnitOfWorkFactory):
        def __call__(self) -> FakeUnitOfWork:
            if self.opened:
                raise ConnectionRefusedError("database went away")
            return super().__call__()

    broken = DatabaseGoneAfterFirst(uow_factory.store)
    core = Core(broken, driver.core._classifier, driver.core._clock)
    press = Incoming(MEMBER_LI, MEMBER_LI, callback_data=encode(Verb.ACCEPT, order.id), dedupe_key="cb:79")
    with pytest.raises(ConnectionRefusedError):
        await core.handle(press)
    assert "cb:79" not in uow_factory.store.inbound
