"""The first seconds of an emergency: before consent, certain vs possible, fraud in progress, the lanes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from handlers import texts
from handlers.messages import DeliveryPriority
from handlers.workorders import texts as order_texts
from handlers.workorders.emergency import Alarm, alarm_for, check_answer, fraud_in_progress, next_best
from handlers.workorders.model import EventKind, OrderState, WorkOrder
from nlp.types import Category, Classification, EmergencyLevel, Location, Priority
from tests.driver import (
    LEADER_WANG,
    MEMBER_LI,
    NEWCOMER,
    POLICE_WU,
    RESIDENT_CHEN,
    RESIDENT_ZHANG,
    STAFF_CHEN,
    STAFF_LIU,
    ChatDriver,
)
from tests.fakes import FakeClock, FakeUnitOfWorkFactory

URGENT = DeliveryPriority.URGENT


def only_order(uow_factory: FakeUnitOfWorkFactory) -> WorkOrder:
    orders = list(uow_factory.store.orders.values())
    assert len(orders) == 1, orders
    return orders[0]


@dataclass
class Possible:
    """A classifier unsure whether this is an emergency: weak evidence, repair as the runner-up."""

    level: EmergencyLevel = EmergencyLevel.POSSIBLE

    def classify(self, text: str) -> Classification:
        return Classification(
            Category.UNKNOWN,
            Priority.URGENT,
            Location(),
            candidates=(Category.EMERGENCY, Category.REPAIR),
            emergency_level=self.level,
        )


class TestBeforeConsent:
    async def test_a_newcomers_fire_gets_advice_and_alerts_at_once_then_consent(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await driver.text(NEWCOMER, "厨房着火了", name="小王")
        order = only_order(uow_factory)  # opened before any consent
        inbox = driver.texts(NEWCOMER)
        assert "119" in inbox[0]  # the advice comes first
        assert order.number in inbox[1]  # then who was alerted
        assert inbox[-1] == order_texts.CONSENT_AFTER_EMERGENCY  # consent only afterwards
        assert driver.last(NEWCOMER).button(texts.BTN_AGREE)
        for staff in (STAFF_LIU, STAFF_CHEN):
            assert order.number in driver.last(staff).text
        resident = uow_factory.store.residents[order.resident_id]
        assert resident.consented_at is None
        assert resident.name == "小王"

    async def test_declining_keeps_only_the_emergency(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await driver.text(NEWCOMER, "厨房着火了")
        order = only_order(uow_factory)
        await driver.press_button(NEWCOMER, texts.BTN_DECLINE)
        assert driver.last(NEWCOMER).text == order_texts.CONSENT_DECLINED_AFTER_EMERGENCY
        kept = only_order(uow_factory)
        assert kept.id == order.id
        assert kept.state is OrderState.NEW
        assert uow_factory.store.residents[order.resident_id].consented_at is None
        assert uow_factory.store.conversations.get(NEWCOMER) is None
        # Anything but an emergency still needs consent first: no order, the question again.
        await driver.text(NEWCOMER, "楼道灯坏了")
        assert len(uow_factory.store.orders) == 1
        assert driver.last(NEWCOMER).button(texts.BTN_AGREE)

    async def test_agreeing_afterwards_records_consent(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await driver.text(NEWCOMER, "有人晕倒了")
        await driver.press_button(NEWCOMER, texts.BTN_AGREE)
        order = only_order(uow_factory)
        assert uow_factory.store.residents[order.resident_id].consented_at is not None


class TestCertain:
    async def test_acknowledgement_names_each_role_once(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await driver.text(NEWCOMER, "楼道着火了")  # no building known: staff dispatch it
        ack = driver.texts(NEWCOMER)[1]
        assert ack.count("社区工作人员") == 1, ack
        await driver.text(RESIDENT_ZHANG, "楼道着火了")  # 兴泰小区5号楼: the grid member, leader, staff
        ack = driver.texts(RESIDENT_ZHANG)[1]
        assert ack.startswith("已紧急通知网格员 "), ack
        assert "、网格长和社区工作人员" in ack, ack

    async def test_every_message_of_the_first_seconds_is_urgent(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await driver.text(RESIDENT_ZHANG, "楼道着火了")
        order = only_order(uow_factory)
        for chat in (RESIDENT_ZHANG, MEMBER_LI, LEADER_WANG, STAFF_LIU, STAFF_CHEN):
            mine = [s for s in driver.inbox(chat) if s.reply.order_id == order.id or chat == RESIDENT_ZHANG]
            assert mine, chat
            assert all(s.reply.priority is URGENT for s in mine), chat

    async def test_an_ordinary_report_stays_in_the_normal_lane(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
        assert all(s.reply.priority is DeliveryPriority.NORMAL for s in driver.sent)


class TestPossible:
    @pytest.fixture(autouse=True)
    def unsure(self, driver: ChatDriver) -> None:
        driver.core._classifier = Possible()

    async def report(self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory) -> WorkOrder:
        await driver.text(RESIDENT_ZHANG, "楼道里好像有股烟味")
        order = only_order(uow_factory)
        assert order.emergency_check
        assert order.category is Category.EMERGENCY
        return order

    async def test_advice_and_question_at_once_and_only_the_grid_member_is_alerted(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await self.report(driver, uow_factory)
        advice, question = driver.inbox(RESIDENT_ZHANG)
        assert "119" in advice.text
        assert question.text == order_texts.EMERGENCY_CHECK
        assert question.button(order_texts.BTN_CHECK_YES)
        assert question.button(order_texts.BTN_CHECK_NO)
        assert advice.reply.priority is URGENT
        assert question.reply.priority is URGENT
        assert order_texts.POSSIBLE_HEADING in driver.last(MEMBER_LI).text
        assert driver.last(MEMBER_LI).reply.priority is URGENT
        for chat in (LEADER_WANG, STAFF_LIU, STAFF_CHEN):
            assert not driver.inbox(chat), chat

    async def test_yes_alerts_the_grid_leader_and_staff(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        order = await self.report(driver, uow_factory)
        outcome = await driver.press_button(RESIDENT_ZHANG, order_texts.BTN_CHECK_YES)
        assert outcome.callback_answer == order_texts.CHECK_NOTED_YES
        for chat in (LEADER_WANG, STAFF_LIU, STAFF_CHEN):
            assert order.number in driver.last(chat).text, chat
            assert "🆘" in driver.last(chat).text, chat
            assert driver.last(chat).reply.priority is URGENT
        assert "确认正在发生危险" in driver.last(MEMBER_LI).text
        assert driver.last(RESIDENT_ZHANG).text.startswith("已紧急通知")
        stored = uow_factory.store.orders[order.id or 0]
        assert not stored.emergency_check
        assert stored.category is Category.EMERGENCY

    async def test_no_makes_it_an_ordinary_report_of_the_next_best_category(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        order = await self.report(driver, uow_factory)
        outcome = await driver.press_button(RESIDENT_ZHANG, order_texts.BTN_CHECK_NO)
        assert outcome.callback_answer == order_texts.CHECK_NOTED_NO
        stored = uow_factory.store.orders[order.id or 0]
        assert stored.category is Category.REPAIR
        assert stored.priority is Priority.NORMAL
        assert not stored.emergency_check
        assert "维修报修" in driver.last(MEMBER_LI).text
        assert "已为您生成工单" in driver.last(RESIDENT_ZHANG).text
        for chat in (LEADER_WANG, STAFF_LIU, STAFF_CHEN):
            assert not driver.inbox(chat), chat
        kinds = [e.kind for e in uow_factory.store.events[order.id or 0]]
        assert EventKind.RECATEGORISED in kinds

    async def test_silence_escalates_when_the_database_clock_says_so(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
    ) -> None:
        order = await self.report(driver, uow_factory)
        clock.advance(minutes=2, seconds=59)
        await driver.core.run_timers()
        await driver.deliver_now()
        assert not driver.inbox(STAFF_LIU)  # not yet
        clock.advance(seconds=1)
        assert await driver.core.run_timers() == 1
        await driver.deliver_now()
        for chat in (LEADER_WANG, STAFF_LIU, STAFF_CHEN):
            assert order.number in driver.last(chat).text, chat
        assert "您暂时没有回复" in driver.last(RESIDENT_ZHANG).text
        # A late answer changes nothing more, and says so.
        outcome = await driver.press_button(RESIDENT_ZHANG, order_texts.BTN_CHECK_NO)
        assert outcome.callback_answer == order_texts.CHECK_ALREADY
        assert uow_factory.store.orders[order.id or 0].category is Category.EMERGENCY

    async def test_silence_escalates_even_after_the_member_accepted(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
    ) -> None:
        order = await self.report(driver, uow_factory)
        await driver.press_button(MEMBER_LI, order_texts.BTN_ACCEPT)
        clock.advance(minutes=3)
        await driver.core.run_timers()
        await driver.deliver_now()
        assert order.number in driver.last(STAFF_LIU).text

    async def test_a_typed_yes_counts(self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory) -> None:
        order = await self.report(driver, uow_factory)
        await driver.text(RESIDENT_ZHANG, "是的！")
        assert len(uow_factory.store.orders) == 1  # an answer, not a new report
        assert order.number in driver.last(STAFF_LIU).text

    async def test_only_the_reporter_answers(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        order = await self.report(driver, uow_factory)
        outcome = await driver.press(RESIDENT_CHEN, f"ec:{order.id}:y")
        assert outcome.callback_answer == texts.STALE_BUTTON
        assert uow_factory.store.orders[order.id or 0].emergency_check
        assert not driver.inbox(STAFF_LIU)


class TestFraudInProgress:
    async def test_advice_and_police_and_staff_at_once(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await driver.text(RESIDENT_ZHANG, "骗子打电话让我转账到安全账户")
        order = only_order(uow_factory)
        assert order.category is Category.FRAUD
        assert order.priority is Priority.URGENT
        advice = driver.inbox(RESIDENT_ZHANG)[0]
        assert "96110" in advice.text
        assert "110" in advice.text
        assert advice.reply.priority is URGENT
        assert driver.last(POLICE_WU).reply.priority is URGENT
        for staff in (STAFF_LIU, STAFF_CHEN):
            assert "🆘" in driver.last(staff).text
            assert driver.last(staff).reply.priority is URGENT
        ack = driver.last(RESIDENT_ZHANG).text
        assert "社区民警" in ack
        assert ack.count("社区工作人员") == 1


def test_alarm_follows_the_emergency_level_only() -> None:
    def result(category: Category, level: EmergencyLevel) -> Classification:
        return Classification(category, Priority.NORMAL, emergency_level=level)

    assert alarm_for(result(Category.REPAIR, EmergencyLevel.POSSIBLE), "") is Alarm.POSSIBLE
    assert alarm_for(result(Category.EMERGENCY, EmergencyLevel.CERTAIN), "") is Alarm.CERTAIN
    assert alarm_for(result(Category.EMERGENCY, EmergencyLevel.NONE), "") is Alarm.CERTAIN  # never dropped
    assert alarm_for(result(Category.REPAIR, EmergencyLevel.NONE), "着火") is Alarm.NONE
    assert alarm_for(result(Category.FRAUD, EmergencyLevel.NONE), "要我报验证码") is Alarm.FRAUD
    assert alarm_for(result(Category.FRAUD, EmergencyLevel.NONE), "听说有人收到中奖短信") is Alarm.NONE


def test_fraud_in_progress_needs_money_or_a_code_asked_for_now() -> None:
    assert fraud_in_progress("对方让我转账到安全账户")
    assert fraud_in_progress("客服要我报验证码")
    assert fraud_in_progress("他们现在让我马上转账")
    assert not fraud_in_progress("有人冒充公安打电话让我转账，是不是骗子")  # asked before, asking us now
    assert not fraud_in_progress("收到一条验证码短信，是不是诈骗")
    assert not fraud_in_progress("社区什么时候搞反诈宣传")


def test_next_best_skips_emergency_and_unknown() -> None:
    unsure = Classification(
        Category.UNKNOWN, Priority.URGENT, candidates=(Category.EMERGENCY, Category.REPAIR)
    )
    assert next_best(unsure) is Category.REPAIR
    assert next_best(Classification(Category.EMERGENCY, Priority.URGENT)) is Category.OTHER


def test_typed_answers() -> None:
    assert check_answer("是的！") is True
    assert check_answer(" 不是 ") is False
    assert check_answer("是不是要交物业费") is None


async def test_every_press_is_answered_visibly(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    """Issue 17: a "me too" press answered no text; now each press shows at least a short toast."""
    await driver.text(RESIDENT_ZHANG, "兴泰5号楼楼道灯坏了")
    await driver.text(NEWCOMER, "兴泰5号楼的灯坏了")
    agreed = await driver.press_button(NEWCOMER, texts.BTN_AGREE)
    assert agreed.callback_answer  # a press whose result is a chat message still gets its toast
    joined = await driver.press_button(NEWCOMER, order_texts.BTN_JOIN)
    assert joined.callback_answer == order_texts.joined_toast(only_order(uow_factory).number)
