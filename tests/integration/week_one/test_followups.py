"""Issue 15 item 4 on SQLite and PostgreSQL: the rating's reminder and 未评价 run from the order's stored timer,
the 回访 list is a table (migration 0014), and the statistics roll-up counts 未评价 and phone ratings."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from handlers.followups import texts as followup_texts
from handlers.statistics.report import build_report
from handlers.statistics.rollup import roll_up
from handlers.workorders import texts as order_texts
from handlers.workorders.model import OrderState, Satisfaction
from nlp.categories import SHIPPED
from storage.migrate import downgrade, upgrade
from storage.models import FollowupRow, WorkOrderRow
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import MEMBER_LI, RESIDENT_CHEN, RESIDENT_ZHANG, STAFF_LIU, ChatDriver
from tests.fakes import FakeClock
from tests.integration.conftest import Database


async def resolve(driver: ChatDriver, resident: int, text: str, member: int) -> None:
    await driver.text(resident, text)
    await driver.press_button(member, order_texts.BTN_ACCEPT)
    await driver.press_button(member, order_texts.BTN_RESOLVE)
    await driver.text(member, "已处理")


async def test_unrated_orders_close_onto_the_list_and_a_call_is_a_rating_by_phone(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, driver: ChatDriver
) -> None:
    start = clock.now()
    await resolve(driver, RESIDENT_ZHANG, "兴泰5号楼楼道灯坏了", MEMBER_LI)
    await driver.text(RESIDENT_CHEN, "森源6号楼门口垃圾没人清")
    async with uow_factory() as uow:
        orders = await uow.orders.open_orders()
    (lamp,) = [o for o in orders if o.resident_chat_id == RESIDENT_ZHANG]
    clock.advance(hours=24)
    assert await driver.core.run_timers() >= 1  # the reminder (and the other order's 催办)
    await driver.deliver_now()
    assert driver.last(RESIDENT_ZHANG).text == followup_texts.rating_reminder(lamp.number)
    clock.advance(days=6)
    assert await driver.core.run_timers() >= 1
    async with uow_factory() as uow:
        closed = await uow.orders.get(lamp.id or 0)
        assert closed is not None
        assert closed.state is OrderState.CLOSED
        assert closed.next_timer_at is None
        assert await uow.followups.pending() == [lamp.id]
        assert await uow.followups.pending_count() == 1
    await roll_up(uow_factory, clock, max_days=None)
    async with uow_factory() as uow:
        report = await build_report(uow, start.date(), clock.now().date(), clock.now(), categories=SHIPPED)
    assert (report.total.resolved, report.total.rated, report.total.unrated) == (1, 0, 1)
    assert report.total.satisfaction_rate is None

    await driver.text(STAFF_LIU, "/huifang")
    await driver.press_button(STAFF_LIU, f"{followup_texts.BTN_CALL} {lamp.number}")
    await driver.press_button(STAFF_LIU, "满意")
    await driver.text(STAFF_LIU, "居民说修得挺好")
    assert driver.last(STAFF_LIU).text == followup_texts.recorded(lamp.number, "满意")
    async with uow_factory() as uow:
        rated = await uow.orders.get(lamp.id or 0)
        assert rated is not None
        assert rated.satisfaction is Satisfaction.SATISFIED
        assert await uow.followups.pending() == []
        assert not await uow.followups.done(lamp.id or 0, clock.now(), 1, "satisfied")  # only once
        row = await uow.session.get(FollowupRow, lamp.id)
        assert row is not None
        assert row.result == "satisfied"
    clock.advance(minutes=5)
    await roll_up(uow_factory, clock, max_days=None)
    async with uow_factory() as uow:
        report = await build_report(uow, start.date(), clock.now().date(), clock.now(), categories=SHIPPED)
    total = report.total
    assert (total.rated, total.satisfied, total.phone_rated, total.unrated) == (1, 1, 1, 0)
    assert total.satisfaction_rate == 1.0


async def test_migration_0014_gives_orders_waiting_for_a_rating_their_timer(
    database: Database, uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, driver: ChatDriver
) -> None:
    await resolve(driver, RESIDENT_ZHANG, "兴泰5号楼楼道灯坏了", MEMBER_LI)
    await downgrade(database.engine, "0013")
    async with uow_factory() as uow:
        timers = list(await uow.session.scalars(select(WorkOrderRow.next_timer_at)))
    assert timers == [None]  # as an order resolved before 0014 was stored
    assert await upgrade(database.engine, "0014") == ["0014"]
    await upgrade(database.engine)
    async with uow_factory() as uow:
        (timer,) = list(await uow.session.scalars(select(WorkOrderRow.next_timer_at)))
    assert timer is not None
    clock.current = max(clock.now(), timer) + timedelta(seconds=1)
    assert await driver.core.run_timers() == 1
    await driver.deliver_now()
    assert followup_texts.rating_reminder("")[:10] in driver.last(RESIDENT_ZHANG).text
