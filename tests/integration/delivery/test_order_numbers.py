"""Work order numbers: the day's next, without gaps, unique across concurrent transactions, on SQLite and
PostgreSQL. On PostgreSQL the day's counter is taken by the order's own INSERT: its row stays locked until
the commit, and every report takes it, so it is taken as late as the number allows (two replicas waited on
each other for most of a report while it was taken first)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import insert

from bot.settings import DeliverySettings
from handlers.workorders.model import Actor, OrderLocation, WorkOrder, order_number
from nlp.types import Category, Classifier, Priority
from storage.models import OrderCounterRow
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import MEMBER_LI, RESIDENT_CHEN, RESIDENT_ZHANG
from tests.fakes import FakeClock
from tests.integration.conftest import Database, RecordingMessenger
from tests.integration.delivery.test_report_cost import counting, running_bot

DAY = "20261204"


async def _add(uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, *, commit: bool = True) -> WorkOrder:
    async with uow_factory() as uow:
        resident = await uow.residents.by_chat(RESIDENT_ZHANG)
        assert resident is not None
        assert resident.id is not None
        order = WorkOrder(
            id=None,
            number="",
            resident_id=resident.id,
            resident_chat_id=resident.chat_id,
            text="楼道灯坏了",
            category=Category.REPAIR,
            priority=Priority.NORMAL,
            location=OrderLocation(building_id=resident.building_id),
            created_at=clock.now(),
            keywords=("灯",),
        )
        order.open(Actor("resident", resident.id), clock.now())
        member = await uow.community.person_by_chat(MEMBER_LI)
        assert member is not None
        order.assign(member.id, Actor.system(), clock.now())
        order = await uow.orders.add_numbered(order, DAY)
        if commit:
            await uow.commit()
        return order


async def test_numbers_are_the_days_next_without_gaps_under_concurrency(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    await _add(uow_factory, clock, commit=False)  # rolled back: its number is given again
    orders = await asyncio.gather(*(_add(uow_factory, clock) for _ in range(12)))
    assert sorted(o.number for o in orders) == [order_number(DAY, n) for n in range(1, 13)]
    async with uow_factory() as uow:
        for order in orders:
            assert order.id is not None
            loaded = await uow.orders.get(order.id)
            assert loaded is not None
            assert loaded.number == order.number
            # its events written with it, in order
            assert [e.kind.value for e in await uow.orders.history(order.id)] == ["created", "assigned"]
            assert loaded.assignee_id is not None


async def test_the_number_is_written_as_order_number_writes_it_past_four_digits(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    async with uow_factory() as uow:
        await uow.session.execute(insert(OrderCounterRow).values(day=DAY, value=9998))
        await uow.commit()
    numbers = [(await _add(uow_factory, clock)).number for _ in range(2)]
    assert (
        numbers == [order_number(DAY, 9999), order_number(DAY, 10000)] == [f"GD{DAY}-9999", f"GD{DAY}-10000"]
    )


async def test_a_reports_counter_is_taken_by_the_orders_own_insert_on_postgresql(
    database: Database,
    uow_factory: SqlUnitOfWorkFactory,
    clock: FakeClock,
    messenger: RecordingMessenger,
    classifier: Classifier,
) -> None:
    if database.kind != "postgresql":
        pytest.skip("SQLite has one writer at a time: nothing waits on the counter there")
    driver, _ = running_bot(uow_factory, clock, messenger, classifier, DeliverySettings())
    await driver.text(RESIDENT_CHEN, "楼道灯坏了")  # the process's first report loads the community
    with counting(database.engine) as counted:
        await driver.text(RESIDENT_ZHANG, "垃圾堆了好几天没人清理")
    taking = [s for s in counted.statements if "order_counters" in s]
    assert len(taking) == 1, taking
    assert "INSERT INTO work_orders" in taking[0]
    assert "已为您生成工单" in driver.sent[-2].text or "已为您生成工单" in driver.sent[-1].text
