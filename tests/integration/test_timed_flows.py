"""Timed flows on real storage, with a restart in the middle of each: nothing lost, nothing repeated."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from handlers import texts
from handlers.care import texts as care_texts
from handlers.workorders import texts as order_texts
from nlp.types import Classifier
from storage.models import CheckinRow, OrderEventRow, WorkOrderRow
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import LEADER_WANG, MEMBER_LI, MEMBER_ZHANG, NEWCOMER, RESIDENT_ZHANG, STAFF_LIU, ChatDriver
from tests.fakes import FakeClock
from tests.integration.conftest import RecordingMessenger, build_driver


def restart(
    driver: ChatDriver,
    uow_factory: SqlUnitOfWorkFactory,
    clock: FakeClock,
    messenger: RecordingMessenger,
    classifier: Classifier,
) -> ChatDriver:
    """A new process on the same database: new core, new sender; the chats keep what they received."""
    fresh = build_driver(uow_factory, clock, messenger, classifier)
    return replace(fresh, sent=driver.sent, edits=driver.edits)


async def orders(uow_factory: SqlUnitOfWorkFactory) -> list[WorkOrderRow]:
    async with uow_factory() as uow:
        return list(await uow.session.scalars(select(WorkOrderRow).order_by(WorkOrderRow.id)))


async def event_kinds(uow_factory: SqlUnitOfWorkFactory) -> list[str]:
    async with uow_factory() as uow:
        rows = await uow.session.scalars(select(OrderEventRow).order_by(OrderEventRow.id))
        return [f"{r.kind}:{r.note}" if r.kind == "escalated" else r.kind for r in rows]


async def test_reminder_and_two_escalations_across_a_restart(
    driver: ChatDriver,
    uow_factory: SqlUnitOfWorkFactory,
    clock: FakeClock,
    messenger: RecordingMessenger,
    classifier: Classifier,
) -> None:
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    (order,) = await orders(uow_factory)
    assert order.accept_due_at == clock.now() + timedelta(hours=4)
    clock.advance(hours=3, minutes=5)
    assert await driver.core.run_timers() == 1
    await driver.deliver_now()
    driver = restart(driver, uow_factory, clock, messenger, classifier)
    assert await driver.core.run_timers() == 0  # the reminder is not repeated by the new process
    clock.advance(hours=1)
    assert await driver.core.run_timers() == 1
    driver = restart(driver, uow_factory, clock, messenger, classifier)
    clock.advance(hours=2)
    assert await driver.core.run_timers() == 1
    await driver.deliver_now()
    assert sum("催办" in t for t in driver.texts(MEMBER_LI)) == 1
    assert sum("已上报网格长" in t for t in driver.texts(LEADER_WANG)) == 1
    assert sum("已上报社区" in t for t in driver.texts(STAFF_LIU)) == 1
    assert [k for k in await event_kinds(uow_factory) if k not in ("created", "assigned")] == [
        "reminded",
        "escalated:level 1: 接单",
        "escalated:level 2: 接单",
    ]
    await driver.press_button(STAFF_LIU, order_texts.BTN_SUPERVISE)
    (order,) = await orders(uow_factory)
    assert order.supervised


async def test_downtime_is_caught_up_once(
    driver: ChatDriver, uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    clock.advance(days=2)  # the whole chain fell due while nothing was running
    while await driver.core.run_timers():
        pass
    await driver.deliver_now()
    assert [k for k in await event_kinds(uow_factory) if k.startswith("escalated")] == [
        "escalated:level 1: 接单",
        "escalated:level 2: 接单",
    ]
    assert await driver.core.run_timers() == 0


async def test_checkin_unanswered_then_escalated_across_a_restart(
    driver: ChatDriver,
    uow_factory: SqlUnitOfWorkFactory,
    clock: FakeClock,
    messenger: RecordingMessenger,
    classifier: Classifier,
) -> None:
    await driver.text(RESIDENT_ZHANG, "/checkin")
    assert await driver.core.run_checkins() == 1
    driver = restart(driver, uow_factory, clock, messenger, classifier)
    assert await driver.core.run_checkins() == 0  # asked once per day, whoever ticks
    clock.advance(hours=3, minutes=1)
    assert await driver.core.run_checkins() == 1
    driver = restart(driver, uow_factory, clock, messenger, classifier)
    clock.advance(hours=2, minutes=1)
    assert await driver.core.run_checkins() == 1
    assert await driver.core.run_checkins() == 0
    await driver.deliver_now()
    assert sum(t == care_texts.CHECKIN_QUESTION for t in driver.texts(RESIDENT_ZHANG)) == 1
    assert sum("平安问候未回复" in t for t in driver.texts(MEMBER_LI)) == 1
    assert sum("已上报" in t for t in driver.texts(LEADER_WANG)) == 1
    await driver.press_button(MEMBER_LI, care_texts.BTN_CHECKIN_CONFIRM)
    async with uow_factory() as uow:
        (row,) = await uow.session.scalars(select(CheckinRow))
    assert row.answer == "confirmed"


async def test_checkin_need_help_opens_an_order(
    driver: ChatDriver, uow_factory: SqlUnitOfWorkFactory
) -> None:
    await driver.text(RESIDENT_ZHANG, "/checkin")
    await driver.core.run_checkins()
    await driver.deliver_now()
    await driver.press_button(RESIDENT_ZHANG, care_texts.BTN_CHECKIN_HELP)
    (order,) = await orders(uow_factory)
    assert order.category == "assistance"
    assert order.priority == "high"
    assert driver.last(MEMBER_LI).button(order_texts.BTN_ACCEPT)


async def test_me_too_join_and_green_channel_and_leave(
    driver: ChatDriver, uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    await driver.text(STAFF_LIU, f"/ledger_add {RESIDENT_ZHANG} 独居老人 paper")
    await driver.text(MEMBER_LI, "/leave")
    await driver.text(RESIDENT_ZHANG, "兴泰5号楼楼道灯坏了")
    (order,) = await orders(uow_factory)
    assert order.green_channel == "独居老人"
    assert order.priority == "high"
    assert order.accept_due_at == clock.now() + timedelta(minutes=30)  # high: 1h, halved
    assert driver.last(MEMBER_ZHANG).button(order_texts.BTN_ACCEPT)  # 李娜 is on leave: her deputy
    await driver.text(NEWCOMER, "兴泰5号楼灯坏了", name="小王")
    await driver.press_button(NEWCOMER, texts.BTN_AGREE)
    await driver.press_button(NEWCOMER, order_texts.BTN_JOIN)
    (order,) = await orders(uow_factory)
    assert len(order.followers) == 1
    await driver.press_button(MEMBER_ZHANG, order_texts.BTN_ACCEPT)
    assert "接单" in driver.last(NEWCOMER).text


async def test_stats_on_storage(driver: ChatDriver, clock: FakeClock) -> None:
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    await driver.press_button(MEMBER_LI, order_texts.BTN_ACCEPT)
    await driver.press_button(MEMBER_LI, order_texts.BTN_RESOLVE)
    await driver.text(MEMBER_LI, "已修好")
    await driver.press_button(RESIDENT_ZHANG, "满意")
    await driver.text(RESIDENT_ZHANG, "楼下垃圾没人收")
    clock.advance(hours=5)
    await driver.text(STAFF_LIU, "/stats")
    report = driver.last(STAFF_LIU).text
    assert "新增工单 2 张" in report
    assert "未完成 1 张（已派单 1）" in report
    assert "超时 1 张" in report
    assert "满意率 100%" in report


async def test_fraud_override_and_reopen_restart_the_clock(
    driver: ChatDriver, uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    await driver.text(RESIDENT_ZHANG, "有人冒充公安打电话让我转账，是不是骗子")
    (fraud,) = await orders(uow_factory)
    assert fraud.category == "fraud"
    assert driver.last(1003).button(order_texts.BTN_ACCEPT)  # 吴警官, the police liaison
    assert "知会" in driver.last(STAFF_LIU).text
    await driver.press_button(1003, order_texts.BTN_ACCEPT)
    await driver.press_button(1003, order_texts.BTN_RESOLVE)
    await driver.text(1003, "已提醒居民，不要转账")
    clock.advance(days=1)
    await driver.press_button(RESIDENT_ZHANG, "不满意")
    (fraud,) = await orders(uow_factory)
    assert fraud.state == "assigned"
    assert fraud.accept_due_at == clock.now() + timedelta(hours=4)  # the clock starts again
    assert "不满意" in driver.last(STAFF_LIU).text


async def test_checkin_answered_fine_alerts_nobody(
    driver: ChatDriver, uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    await driver.text(RESIDENT_ZHANG, "/checkin")
    await driver.core.run_checkins()
    await driver.deliver_now()
    await driver.press_button(RESIDENT_ZHANG, care_texts.BTN_CHECKIN_FINE)
    clock.advance(hours=8)
    assert await driver.core.run_checkins() == 0
    await driver.deliver_now()
    assert not driver.inbox(MEMBER_LI)
