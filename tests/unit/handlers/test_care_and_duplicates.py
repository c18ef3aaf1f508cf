"""The vulnerable-resident ledger, daily check-ins and "me too" reports."""

from __future__ import annotations

from handlers import texts
from handlers.care import texts as care_texts
from handlers.care.model import CheckinAnswer, Consent
from handlers.workorders import texts as order_texts
from handlers.workorders.model import EventKind, OrderState
from nlp.types import Category
from tests.driver import (
    LEADER_WANG,
    MEMBER_LI,
    MEMBER_QIAN,
    NEWCOMER,
    RESIDENT_CHEN,
    RESIDENT_ZHANG,
    STAFF_LIU,
    ChatDriver,
)
from tests.fakes import FakeClock, FakeUnitOfWorkFactory


def resident_id(uow_factory: FakeUnitOfWorkFactory, chat_id: int) -> int:
    return next(r.id for r in uow_factory.store.residents.values() if r.chat_id == chat_id and r.id)


class TestLedger:
    async def test_chat_consent_is_asked_and_only_then_the_green_channel_applies(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await driver.text(STAFF_LIU, f"/ledger_add {RESIDENT_ZHANG} 独居老人,慢性病患者")
        entry = uow_factory.store.ledger[resident_id(uow_factory, RESIDENT_ZHANG)]
        assert entry.consent is Consent.PENDING
        assert "独居老人" in driver.last(RESIDENT_ZHANG).text
        await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
        assert not next(iter(uow_factory.store.orders.values())).green_channel  # not before consent
        await driver.press_button(RESIDENT_ZHANG, care_texts.BTN_AGREE_LEDGER)
        assert uow_factory.store.ledger[entry.resident_id].consent is Consent.CHAT
        assert "已同意" in driver.last(STAFF_LIU).text
        await driver.text(RESIDENT_ZHANG, "楼上漏水了")
        newest = max(uow_factory.store.orders.values(), key=lambda o: o.id or 0)
        assert newest.green_channel == "独居老人、慢性病患者"

    async def test_declining_removes_the_entry(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await driver.text(STAFF_LIU, f"/ledger_add {RESIDENT_ZHANG} 残疾人")
        await driver.press_button(RESIDENT_ZHANG, care_texts.BTN_DECLINE_LEDGER)
        assert not uow_factory.store.ledger
        assert "不同意" in driver.last(STAFF_LIU).text

    async def test_visible_to_staff_and_own_grid_members_only(self, driver: ChatDriver) -> None:
        await driver.text(STAFF_LIU, f"/ledger_add {RESIDENT_ZHANG} 独居老人 paper")  # 兴泰: 第一网格
        await driver.text(STAFF_LIU, "/ledger")
        assert "张阿姨" in driver.last(STAFF_LIU).text
        await driver.text(MEMBER_LI, "/ledger")
        assert "张阿姨" in driver.last(MEMBER_LI).text
        await driver.text(MEMBER_QIAN, "/ledger")  # 第二网格
        assert driver.last(MEMBER_QIAN).text == care_texts.LEDGER_EMPTY
        outcome = await driver.text(RESIDENT_CHEN, "/ledger")
        assert outcome.replies[-1].text == texts.NOT_ALLOWED
        outcome = await driver.text(MEMBER_LI, f"/ledger_add {RESIDENT_CHEN} 独居老人 paper")
        assert outcome.replies[-1].text == texts.NOT_ALLOWED

    async def test_bad_ledger_commands_explain_themselves(self, driver: ChatDriver) -> None:
        await driver.text(STAFF_LIU, "/ledger_add 9001 外星人")
        assert driver.last(STAFF_LIU).text == care_texts.LEDGER_ADD_USAGE
        await driver.text(STAFF_LIU, "/ledger_add 123456 独居老人")
        assert driver.last(STAFF_LIU).text == care_texts.LEDGER_UNKNOWN_RESIDENT


class TestCheckin:
    async def opt_in(self, driver: ChatDriver) -> None:
        await driver.text(RESIDENT_ZHANG, "/checkin")
        assert "09:00" in driver.last(RESIDENT_ZHANG).text

    async def test_answered_fine(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
    ) -> None:
        await self.opt_in(driver)
        assert await driver.core.run_checkins() == 1
        await driver.deliver_now()
        assert driver.last(RESIDENT_ZHANG).text == care_texts.CHECKIN_QUESTION
        assert await driver.core.run_checkins() == 0  # asked once a day
        await driver.press_button(RESIDENT_ZHANG, care_texts.BTN_CHECKIN_FINE)
        (checkin,) = uow_factory.store.checkins.values()
        assert checkin.answer is CheckinAnswer.FINE
        clock.advance(hours=6)
        assert await driver.core.run_checkins() == 0
        assert not driver.inbox(MEMBER_LI)

    async def test_unanswered_alerts_the_member_then_escalates(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
    ) -> None:
        await self.opt_in(driver)
        await driver.core.run_checkins()
        clock.advance(hours=3, minutes=1)
        assert await driver.core.run_checkins() == 1
        await driver.deliver_now()
        alert = driver.last(MEMBER_LI)
        assert "平安问候未回复" in alert.text
        assert "兴泰小区5号楼2单元501" in alert.text
        assert await driver.core.run_checkins() == 0
        clock.advance(hours=2, minutes=1)
        assert await driver.core.run_checkins() == 1
        await driver.deliver_now()
        assert "已上报" in driver.last(LEADER_WANG).text
        assert "已上报" in driver.last(STAFF_LIU).text
        clock.advance(hours=5)
        assert await driver.core.run_checkins() == 0
        await driver.press_button(MEMBER_LI, care_texts.BTN_CHECKIN_CONFIRM)
        (checkin,) = uow_factory.store.checkins.values()
        assert checkin.answer is CheckinAnswer.CONFIRMED_BY_MEMBER
        assert "确认平安" in driver.last(LEADER_WANG).text

    async def test_need_help_opens_an_assistance_order(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await self.opt_in(driver)
        await driver.core.run_checkins()
        await driver.deliver_now()
        await driver.press_button(RESIDENT_ZHANG, care_texts.BTN_CHECKIN_HELP)
        (order,) = uow_factory.store.orders.values()
        assert order.category is Category.ASSISTANCE
        assert order.priority.value == "high"
        assert order.location.label == "兴泰小区5号楼2单元501"
        assert driver.last(MEMBER_LI).button(order_texts.BTN_ACCEPT)

    async def test_next_day_asks_again_and_downtime_is_caught_up_once(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
    ) -> None:
        await self.opt_in(driver)
        clock.current = clock.current.replace(hour=8)
        assert await driver.core.run_checkins() == 0  # before 09:00
        clock.current = clock.current.replace(hour=15)  # the bot was down all morning
        assert await driver.core.run_checkins() == 1
        clock.advance(days=1)
        clock.current = clock.current.replace(hour=9, minute=30)
        await driver.core.run_checkins()
        assert len({c.day for c in uow_factory.store.checkins.values()}) == 2

    async def test_only_the_resident_answers_their_checkin(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await self.opt_in(driver)
        await driver.core.run_checkins()
        (checkin,) = uow_factory.store.checkins.values()
        outcome = await driver.press(RESIDENT_CHEN, f"ci:{checkin.id}:fine")
        assert outcome.callback_answer == texts.NOT_ALLOWED
        outcome = await driver.press(MEMBER_QIAN, f"cm:{checkin.id}")
        assert outcome.callback_answer == texts.NOT_ALLOWED


class TestMeToo:
    async def test_same_problem_same_building_is_offered_as_the_existing_order(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
    ) -> None:
        await driver.text(RESIDENT_ZHANG, "兴泰5号楼楼道灯坏了")
        clock.advance(hours=1)
        await driver.text(NEWCOMER, "兴泰5号楼的灯坏了", name="小王")
        await driver.press_button(NEWCOMER, texts.BTN_AGREE)
        assert "已有相同问题的工单" in driver.last(NEWCOMER).text
        await driver.press_button(NEWCOMER, order_texts.BTN_JOIN)
        (order,) = uow_factory.store.orders.values()
        assert order.followers == [resident_id(uow_factory, NEWCOMER)]
        assert "共 2 位" in driver.last(MEMBER_LI).text
        await driver.press_button(MEMBER_LI, order_texts.BTN_ACCEPT)
        assert "接单" in driver.last(NEWCOMER).text  # followers get the updates
        await driver.press_button(MEMBER_LI, order_texts.BTN_RESOLVE)
        await driver.text(MEMBER_LI, "换了灯泡")
        assert "换了灯泡" in driver.last(NEWCOMER).text
        assert not driver.last(NEWCOMER).reply.buttons  # only the reporter rates
        assert EventKind.JOINED in [e.kind for e in uow_factory.store.events[order.id or 0]]

    async def test_the_resident_can_insist_on_a_new_order(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await driver.text(RESIDENT_ZHANG, "兴泰5号楼楼道灯坏了")
        await driver.text(NEWCOMER, "兴泰5号楼的灯坏了")
        await driver.press_button(NEWCOMER, texts.BTN_AGREE)
        await driver.press_button(NEWCOMER, order_texts.BTN_NEW_ORDER)
        assert len(uow_factory.store.orders) == 2

    async def test_outside_the_window_or_another_building_is_a_new_order(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
    ) -> None:
        await driver.text(RESIDENT_ZHANG, "兴泰5号楼楼道灯坏了")
        await driver.text(RESIDENT_CHEN, "兴泰6号楼楼道灯坏了")  # another building
        clock.advance(hours=25)
        await driver.text(RESIDENT_CHEN, "兴泰5号楼楼道灯坏了")  # too late to be the same report
        assert len(uow_factory.store.orders) == 3
        assert all(not o.followers for o in uow_factory.store.orders.values())

    async def test_closed_orders_are_not_offered(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await driver.text(RESIDENT_ZHANG, "兴泰5号楼楼道灯坏了")
        (order,) = uow_factory.store.orders.values()
        await driver.press(RESIDENT_ZHANG, f"cx:{order.id}")
        assert next(iter(uow_factory.store.orders.values())).state is OrderState.CANCELLED
        await driver.text(RESIDENT_CHEN, "兴泰5号楼楼道灯坏了")
        assert len(uow_factory.store.orders) == 2
