"""A resident's message becomes a work order routed to the right person."""

from __future__ import annotations

from dataclasses import asdict, fields

from handlers import texts
from handlers.workorders import texts as order_texts
from handlers.workorders.model import OrderState
from handlers.workorders.opening import PendingReport
from nlp.types import Category
from tests.driver import (
    LEADER_WANG,
    MEMBER_LI,
    MEMBER_QIAN,
    MEMBER_ZHANG,
    NEWCOMER,
    POLICE_WU,
    RESIDENT_CHEN,
    RESIDENT_ZHANG,
    STAFF_CHEN,
    STAFF_LIU,
    ChatDriver,
)
from tests.fakes import FakeUnitOfWorkFactory


def only_order(uow_factory: FakeUnitOfWorkFactory):  # type: ignore[no-untyped-def]
    orders = list(uow_factory.store.orders.values())
    assert len(orders) == 1, orders
    return orders[0]


async def test_registered_resident_report_goes_to_the_grid_member_of_their_building(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了好几天了")
    order = only_order(uow_factory)
    assert order.category is Category.REPAIR
    assert order.location.label == "兴泰小区5号楼2单元501"
    assert order.state is OrderState.ASSIGNED
    card = driver.last(MEMBER_LI)
    assert order.number in card.text
    assert "楼道灯坏了" in card.text
    assert card.button("接单")
    told = driver.last(RESIDENT_ZHANG).text
    assert order.number in told
    assert "维修报修" in told
    assert "网格员 李娜" in told
    assert order.number.startswith("GD20261130-")


async def test_location_in_the_message_wins_over_the_registered_address(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(RESIDENT_ZHANG, "滨河3号楼门口垃圾没人收")
    order = only_order(uow_factory)
    assert order.location.label == "滨河花园3号楼"
    assert driver.inbox(MEMBER_QIAN)
    assert not driver.inbox(MEMBER_LI)


async def test_building_without_compound_uses_the_registered_compound(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(RESIDENT_CHEN, "3号楼楼下垃圾堆成山了")  # 老陈 lives in 森源华府
    assert only_order(uow_factory).location.label == "森源华府3号楼"


async def test_orders_are_spread_to_the_least_loaded_member(driver: ChatDriver) -> None:
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    await driver.text(RESIDENT_ZHANG, "楼上漏水了")
    assert len(driver.inbox(MEMBER_LI)) == 1
    assert len(driver.inbox(MEMBER_ZHANG)) == 1


async def test_unknown_place_asks_for_compound_then_building(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(NEWCOMER, "路灯不亮了", name="小王")
    await driver.press_button(NEWCOMER, texts.BTN_AGREE)
    assert driver.last(NEWCOMER).text == texts.ASK_LOCATION_COMPOUND
    await driver.press_button(NEWCOMER, "太平洋")
    assert driver.last(NEWCOMER).text == texts.ASK_LOCATION_BUILDING
    await driver.press_button(NEWCOMER, "2号楼")
    order = only_order(uow_factory)
    assert order.location.label == "太平洋2号楼"
    assert order.text == "路灯不亮了"
    assert driver.inbox(MEMBER_LI)


async def test_unsure_building_still_reaches_a_person(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(NEWCOMER, "路灯不亮了")
    await driver.press_button(NEWCOMER, texts.BTN_AGREE)
    await driver.press_button(NEWCOMER, "太平洋")
    await driver.press_button(NEWCOMER, texts.BTN_UNSURE)
    order = only_order(uow_factory)
    assert order.state is OrderState.NEW
    assert order.number in driver.last(STAFF_LIU).text  # staff dispatch it
    assert driver.last(STAFF_LIU).button("网格员")


async def test_unclear_category_is_chosen_by_the_resident_and_remembered(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(RESIDENT_ZHANG, "麻烦问一下这个事情怎么弄")
    assert driver.last(RESIDENT_ZHANG).text == texts.ASK_CATEGORY
    assert not uow_factory.store.orders
    await driver.press_button(RESIDENT_ZHANG, "政策咨询")
    order = only_order(uow_factory)
    assert order.category is Category.POLICY
    assert order.category_chosen_by_resident


async def test_emergency_answers_first_with_numbers_and_alerts_the_whole_chain(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(RESIDENT_ZHANG, "楼道里着火了好多烟")
    first = driver.inbox(RESIDENT_ZHANG)[0].text
    assert "119" in first
    assert "120" in first
    assert "110" in first
    order = only_order(uow_factory)
    assert order.priority.value == "urgent"
    for chat in (MEMBER_LI, LEADER_WANG, STAFF_LIU, STAFF_CHEN):
        assert order.number in driver.last(chat).text, chat
    assert texts.ASK_LOCATION_COMPOUND not in driver.texts(RESIDENT_ZHANG)


async def test_emergency_from_an_unknown_place_is_not_held_up_by_questions(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(NEWCOMER, "有人晕倒了快来人")
    # Emergencies come before consent (PIPL Art. 13(4)): the order, the advice and the alerts at once.
    order = only_order(uow_factory)
    assert "120" in driver.texts(NEWCOMER)[0]
    assert order.number in driver.last(STAFF_LIU).text
    await driver.press_button(NEWCOMER, texts.BTN_AGREE)
    assert only_order(uow_factory).id == order.id


async def test_category_overrides_route_fraud_to_police_and_wages_to_staff(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(RESIDENT_ZHANG, "有人打电话说是公安局的要我转账，是不是骗子")
    await driver.text(RESIDENT_ZHANG, "老板拖欠工资三个月了")
    orders = sorted(uow_factory.store.orders.values(), key=lambda o: o.id or 0)
    assert [o.category for o in orders] == [Category.FRAUD, Category.WAGE_ARREARS]
    assert orders[0].number in driver.last(POLICE_WU).text
    assert any(orders[1].number in t for t in driver.texts(STAFF_LIU) + driver.texts(STAFF_CHEN))
    assert not driver.inbox(MEMBER_LI)


async def test_newcomer_report_waits_for_consent_and_is_not_lost(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(NEWCOMER, "兴泰3号楼楼道灯坏了", name="小王")
    assert not uow_factory.store.orders
    assert driver.last(NEWCOMER).text == texts.CONSENT_NEEDED
    await driver.press_button(NEWCOMER, texts.BTN_AGREE)
    order = only_order(uow_factory)
    assert order.text == "兴泰3号楼楼道灯坏了"
    resident = next(r for r in uow_factory.store.residents.values() if r.chat_id == NEWCOMER)
    assert resident.has_consented
    assert resident.name == "小王"


async def test_declining_consent_stores_nothing(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(NEWCOMER, "兴泰3号楼楼道灯坏了")
    await driver.press_button(NEWCOMER, texts.BTN_DECLINE)
    assert not uow_factory.store.orders
    assert not [r for r in uow_factory.store.residents.values() if r.chat_id == NEWCOMER]
    assert NEWCOMER not in uow_factory.store.conversations
    assert "110" in driver.last(NEWCOMER).text


async def test_start_and_address_registration_by_buttons(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(NEWCOMER, "/start", name="小王")
    await driver.press_button(NEWCOMER, texts.BTN_AGREE)
    await driver.press_button(NEWCOMER, texts.BTN_REGISTER)
    await driver.press_button(NEWCOMER, "阳光上城")
    await driver.press_button(NEWCOMER, "2号楼")
    await driver.press_button(NEWCOMER, "3单元")
    await driver.text(NEWCOMER, "abc")
    assert driver.last(NEWCOMER).text == texts.ROOM_INVALID
    await driver.text(NEWCOMER, "302")
    assert "阳光上城2号楼3单元302" in driver.last(NEWCOMER).text
    await driver.text(NEWCOMER, "楼道灯坏了")
    order = only_order(uow_factory)
    assert order.location.label == "阳光上城2号楼3单元302"


class TestBadInput:
    async def test_empty_text_is_answered_and_opens_nothing(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await driver.text(RESIDENT_ZHANG, "   ")
        assert driver.last(RESIDENT_ZHANG).text == texts.EMPTY_MESSAGE
        assert not uow_factory.store.orders

    async def test_emoji_only_is_answered_and_opens_nothing(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await driver.text(RESIDENT_ZHANG, "👍👍🙏")
        assert driver.last(RESIDENT_ZHANG).text == texts.NO_WORDS
        assert not uow_factory.store.orders

    async def test_very_long_text_is_kept_whole(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        text = "楼道灯坏了" + "很久" * 4_997 + "。"
        assert len(text) == 10_000
        await driver.text(RESIDENT_ZHANG, text)
        assert only_order(uow_factory).text == text

    async def test_unknown_command_gets_help(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await driver.text(RESIDENT_ZHANG, "/frobnicate")
        assert driver.last(RESIDENT_ZHANG).text == texts.UNKNOWN_COMMAND
        assert not uow_factory.store.orders

    async def test_a_redelivered_update_opens_one_order(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        from handlers.messages import Incoming

        incoming = Incoming(
            chat_id=RESIDENT_ZHANG, sender_id=RESIDENT_ZHANG, text="楼道灯坏了", dedupe_key="m:1"
        )
        first = await driver.core.handle(incoming)
        second = await driver.core.handle(incoming)
        assert not first.duplicate
        assert second.duplicate
        assert len(uow_factory.store.orders) == 1


async def test_my_lists_orders_and_cancel_tells_the_member(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    order = only_order(uow_factory)
    await driver.text(RESIDENT_ZHANG, "/my")
    listing = driver.last(RESIDENT_ZHANG)
    assert order.number in listing.text
    assert "已派单" in listing.text
    await driver.press_button(RESIDENT_ZHANG, order_texts.BTN_CANCEL)
    assert only_order(uow_factory).state is OrderState.CANCELLED
    assert "撤销" in driver.last(MEMBER_LI).text


async def test_close_candidates_are_offered_first(driver: ChatDriver) -> None:
    from nlp.types import Classification, Priority

    class Unsure:
        def classify(self, text: str) -> Classification:
            return Classification(
                Category.UNKNOWN, Priority.HIGH, candidates=(Category.SAFETY_HAZARD, Category.REPAIR)
            )

    driver.core._classifier = Unsure()
    await driver.text(RESIDENT_ZHANG, "楼道那个东西不太对劲")
    buttons = [b.text for row in driver.last(RESIDENT_ZHANG).reply.buttons for b in row]
    assert buttons[:2] == ["安全隐患", "维修报修"]
    assert len(buttons) == 13


async def test_resident_choice_tones_down_an_uncertain_emergency(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    from nlp.types import Classification, Priority

    class SomeSmoke:
        def classify(self, text: str) -> Classification:
            return Classification(
                Category.UNKNOWN, Priority.URGENT, candidates=(Category.EMERGENCY, Category.REPAIR)
            )

    driver.core._classifier = SomeSmoke()
    await driver.text(RESIDENT_ZHANG, "烟感一直响")
    assert "119" in driver.texts(RESIDENT_ZHANG)[0]  # maybe an emergency: the numbers come first
    await driver.press_button(RESIDENT_ZHANG, "维修报修")
    order = only_order(uow_factory)
    assert order.priority is Priority.HIGH
    assert not driver.inbox(STAFF_LIU)  # no emergency alert to the whole chain


async def test_every_update_holds_its_chat_for_the_transaction(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(RESIDENT_ZHANG, "/my")
    assert uow_factory.opened[-1].serialized == [RESIDENT_ZHANG]


def test_a_pending_report_round_trips_through_its_data_without_sharing_lists() -> None:
    report = PendingReport(
        text="楼道灯坏了",
        keywords=["灯"],
        candidates=["维修报修", "安全隐患"],
        confidence=0.4,
        unit="2",
        room="301",
    )
    data = report.to_data()
    assert data == asdict(report)
    assert set(data) == {f.name for f in fields(PendingReport)}
    data["keywords"].append("黑")  # the stored data is the conversation's, not the report's
    data["candidates"].clear()
    assert report.keywords == ["灯"]
    assert report.candidates == ["维修报修", "安全隐患"]
    assert PendingReport.from_data(report.to_data()) == report
