"""Routing rules: category overrides, leave and duty hand-over to deputies, round-robin."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from handlers import texts
from handlers.workorders import texts as order_texts
from nlp.types import Category
from tests.driver import (
    LEADER_WANG,
    MEMBER_LI,
    MEMBER_ZHANG,
    POLICE_WU,
    RESIDENT_ZHANG,
    STAFF_CHEN,
    STAFF_LIU,
    ChatDriver,
)
from tests.fakes import FakeClock, FakeUnitOfWorkFactory


def orders(uow_factory: FakeUnitOfWorkFactory) -> list:  # type: ignore[type-arg]
    return sorted(uow_factory.store.orders.values(), key=lambda o: o.id or 0)


async def test_fraud_goes_to_the_police_liaison_and_staff_are_informed(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(RESIDENT_ZHANG, "有人冒充公安打电话让我转账是不是骗子")
    (order,) = orders(uow_factory)
    assert order.category is Category.FRAUD
    assert driver.last(POLICE_WU).button(order_texts.BTN_ACCEPT)
    for staff in (STAFF_LIU, STAFF_CHEN):
        assert "知会" in driver.last(staff).text
        assert not driver.last(staff).reply.buttons


async def test_member_on_leave_hands_new_orders_to_the_deputy(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(MEMBER_LI, "/leave")
    assert driver.last(MEMBER_LI).text == order_texts.LEAVE_ON
    assert "请假" in driver.last(STAFF_LIU).text
    for _ in range(3):
        await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    assert {o.assignee_id for o in orders(uow_factory)} == {_person_id(uow_factory, MEMBER_ZHANG)}
    await driver.text(MEMBER_LI, "/back")
    await driver.text(RESIDENT_ZHANG, "楼道灯又坏了")
    assert orders(uow_factory)[-1].assignee_id == _person_id(uow_factory, MEMBER_LI)


async def test_off_duty_member_hands_over_and_the_leader_steps_in_when_nobody_is_on(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    # 张伟 works mon-sat 08:00-20:00; on Sunday evening 李娜 (always on duty) takes everything
    clock.current = datetime(2026, 12, 6, 21, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    await driver.text(RESIDENT_ZHANG, "楼上漏水了")
    li = _person_id(uow_factory, MEMBER_LI)
    assert [o.assignee_id for o in orders(uow_factory)] == [li, li]
    await driver.text(MEMBER_LI, "/leave")  # and now nobody of the grid is available
    await driver.text(RESIDENT_ZHANG, "垃圾没人收")
    assert orders(uow_factory)[-1].assignee_id == _person_id(uow_factory, LEADER_WANG)


async def test_round_robin_takes_turns(driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory) -> None:
    uow_factory.store.settings = replace(uow_factory.store.settings, assignment="round_robin")
    for _ in range(4):
        await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    li, zhang = _person_id(uow_factory, MEMBER_LI), _person_id(uow_factory, MEMBER_ZHANG)
    assert [o.assignee_id for o in orders(uow_factory)] == [li, zhang, li, zhang]


async def test_team_shows_who_is_on_leave_to_staff_only(driver: ChatDriver) -> None:
    await driver.text(MEMBER_LI, "/leave")
    await driver.text(STAFF_LIU, "/team")
    team = driver.last(STAFF_LIU).text
    assert "网格员 李娜｜请假" in team
    assert "代班：张伟" in team
    outcome = await driver.text(MEMBER_ZHANG, "/team")
    assert outcome.replies[-1].text == texts.NOT_ALLOWED


def _person_id(uow_factory: FakeUnitOfWorkFactory, chat_id: int) -> int:
    return next(p.id for p in uow_factory.store.people.values() if p.chat_id == chat_id)


async def test_stats_give_staff_the_whole_picture(driver: ChatDriver, clock: FakeClock) -> None:
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    await driver.text(RESIDENT_ZHANG, "楼下垃圾没人收")
    await driver.press_button(MEMBER_LI, order_texts.BTN_ACCEPT)
    await driver.press_button(MEMBER_LI, order_texts.BTN_RESOLVE)
    await driver.text(MEMBER_LI, "已修好")
    await driver.press_button(RESIDENT_ZHANG, "不满意")
    clock.advance(days=1)
    await driver.text(STAFF_LIU, "/stats 7")
    report = driver.last(STAFF_LIU).text
    assert "近 7 天：新增工单 2 张" in report
    assert "维修报修 1" in report
    assert "环境卫生 1" in report
    assert "未完成 2 张" in report
    assert "超时 2 张" in report  # a day later, neither has been accepted in time
    assert "不满意 1" in report
    assert "重新办理 1 次" in report
    outcome = await driver.text(MEMBER_LI, "/stats")
    assert outcome.replies[-1].text == texts.NOT_ALLOWED
