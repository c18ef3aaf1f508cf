"""Grid members handle orders in chat; residents follow and rate; roles are checked on every press."""

from __future__ import annotations

import pytest

from handlers import texts, verbs
from handlers.verbs import Verb
from handlers.workorders import texts as order_texts
from handlers.workorders.model import EventKind, OrderState, Satisfaction, WorkOrder
from tests.driver import (
    LEADER_WANG,
    MEMBER_LI,
    MEMBER_QIAN,
    MEMBER_ZHANG,
    RESIDENT_CHEN,
    RESIDENT_ZHANG,
    STAFF_LIU,
    ChatDriver,
)
from tests.fakes import FakeUnitOfWorkFactory


def stored(uow_factory: FakeUnitOfWorkFactory) -> WorkOrder:
    (order,) = uow_factory.store.orders.values()
    return order


def history(uow_factory: FakeUnitOfWorkFactory) -> list[EventKind]:
    (events,) = uow_factory.store.events.values()
    return [e.kind for e in events]


@pytest.fixture
async def reported(driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory) -> WorkOrder:
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    return stored(uow_factory)


async def test_whole_loop_accept_relay_resolve_rate(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, reported: WorkOrder
) -> None:
    card = driver.last(MEMBER_LI)
    outcome = await driver.press(MEMBER_LI, card.button(order_texts.BTN_ACCEPT).data, on=card)
    assert outcome.callback_answer
    assert reported.number in outcome.callback_answer
    assert stored(uow_factory).state is OrderState.ACCEPTED
    accepted_note = driver.last(RESIDENT_ZHANG)
    assert "网格员 李娜" in accepted_note.text
    assert "接单" in accepted_note.text

    # the member replies to the card: relayed to the resident, threaded under the order's message
    await driver.text(MEMBER_LI, "下午两点过去看", reply_to=card.message_id)
    relayed = driver.last(RESIDENT_ZHANG)
    assert "下午两点过去看" in relayed.text
    assert relayed.reply_to_message_id == accepted_note.message_id
    # the resident replies to the relayed message: back to the member, threaded under the card
    await driver.text(RESIDENT_ZHANG, "好的我在家", reply_to=relayed.message_id)
    back = driver.last(MEMBER_LI)
    assert "好的我在家" in back.text
    assert back.reply_to_message_id is not None

    await driver.press_button(MEMBER_LI, order_texts.BTN_RESOLVE)
    assert order_texts.ASK_RESOLVE_NOTE in driver.last(MEMBER_LI).text
    await driver.text(MEMBER_LI, "已更换灯泡")
    assert stored(uow_factory).state is OrderState.RESOLVED
    rating = driver.last(RESIDENT_ZHANG)
    assert "已更换灯泡" in rating.text
    await driver.press_button(RESIDENT_ZHANG, "满意")
    order = stored(uow_factory)
    assert order.state is OrderState.CLOSED
    assert order.satisfaction is Satisfaction.SATISFIED
    assert history(uow_factory) == [
        EventKind.CREATED,
        EventKind.ASSIGNED,
        EventKind.ACCEPTED,
        EventKind.MEMBER_REPLIED,
        EventKind.RESIDENT_REPLIED,
        EventKind.RESOLVED,
        EventKind.RATED,
        EventKind.CLOSED,
    ]


async def resolve(driver: ChatDriver) -> None:
    await driver.press_button(MEMBER_LI, order_texts.BTN_ACCEPT)
    await driver.press_button(MEMBER_LI, order_texts.BTN_RESOLVE)
    await driver.text(MEMBER_LI, "已更换灯泡")


async def test_unsatisfied_reopens_to_the_same_member_and_tells_staff(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, reported: WorkOrder
) -> None:
    await resolve(driver)
    await driver.press_button(RESIDENT_ZHANG, "不满意")
    order = stored(uow_factory)
    assert order.state is OrderState.ASSIGNED
    assert order.assignee_id == reported.assignee_id
    assert "不满意" in driver.last(MEMBER_LI).text
    assert driver.last(MEMBER_LI).button(order_texts.BTN_ACCEPT)
    assert reported.number in driver.last(STAFF_LIU).text
    assert "不满意" in driver.last(STAFF_LIU).text


async def test_transfer_hands_the_card_to_another_member(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, reported: WorkOrder
) -> None:
    await driver.press_button(MEMBER_LI, order_texts.BTN_TRANSFER)
    await driver.press_button(MEMBER_LI, "网格员 张伟")
    assert stored(uow_factory).state is OrderState.ASSIGNED
    assert driver.last(MEMBER_ZHANG).button(order_texts.BTN_ACCEPT)
    assert "张伟" in driver.last(RESIDENT_ZHANG).text
    # the former assignee can no longer act on it
    outcome = await driver.press_button(MEMBER_LI, order_texts.BTN_ACCEPT)
    assert outcome.callback_answer == texts.NOT_ALLOWED


async def test_return_goes_to_staff_who_dispatch_it(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, reported: WorkOrder
) -> None:
    await driver.press_button(MEMBER_LI, order_texts.BTN_RETURN)
    order = stored(uow_factory)
    assert order.state is OrderState.NEW
    assert order.assignee_id is None
    await driver.press_button(STAFF_LIU, "网格员 钱芳")
    assert stored(uow_factory).state is OrderState.ASSIGNED
    assert driver.last(MEMBER_QIAN).button(order_texts.BTN_ACCEPT)


async def test_grid_leader_may_act_on_the_grids_orders(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, reported: WorkOrder
) -> None:
    assert reported.id is not None
    await driver.press(LEADER_WANG, verbs.encode(Verb.TRANSFER_MENU, reported.id))
    await driver.press_button(LEADER_WANG, "网格员 张伟")
    assert stored(uow_factory).assignee_id != reported.assignee_id


class TestRefusals:
    """Each check here is one the use cases make; without it the test fails."""

    async def test_resident_cannot_accept(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, reported: WorkOrder
    ) -> None:
        assert reported.id is not None
        outcome = await driver.press(RESIDENT_ZHANG, verbs.encode(Verb.ACCEPT, reported.id))
        assert outcome.callback_answer == texts.NOT_ALLOWED
        assert stored(uow_factory).state is OrderState.ASSIGNED

    async def test_member_of_another_grid_cannot_accept(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, reported: WorkOrder
    ) -> None:
        assert reported.id is not None
        outcome = await driver.press(MEMBER_QIAN, verbs.encode(Verb.ACCEPT, reported.id))
        assert outcome.callback_answer == texts.NOT_ALLOWED
        assert stored(uow_factory).state is OrderState.ASSIGNED

    async def test_member_of_another_grid_cannot_relay(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, reported: WorkOrder
    ) -> None:
        # a reply to a message that was not about this order in their chat is an ordinary message
        card = driver.last(MEMBER_LI)
        await driver.text(MEMBER_QIAN, "我来冒充", reply_to=card.message_id)
        assert not any("我来冒充" in t for t in driver.texts(RESIDENT_ZHANG))

    async def test_stale_button_after_the_state_moved_on(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, reported: WorkOrder
    ) -> None:
        card = driver.last(MEMBER_LI)
        accept = card.button(order_texts.BTN_ACCEPT).data
        await driver.press(MEMBER_LI, accept, on=card)
        events_before = len(uow_factory.store.events[reported.id or 0])
        outcome = await driver.press(MEMBER_LI, accept, on=card)
        assert outcome.callback_answer == texts.STATE_CHANGED
        assert len(uow_factory.store.events[reported.id or 0]) == events_before

    @pytest.mark.parametrize("data", ["ac:999999", "zz:1", "ac:1:2", "ac:../", "", "ra:1:x"])
    async def test_tampered_buttons_are_refused_politely(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, reported: WorkOrder, data: str
    ) -> None:
        outcome = await driver.press(MEMBER_LI, data)
        assert outcome.callback_answer in (texts.STALE_BUTTON, texts.ORDER_NOT_FOUND, texts.NOT_ALLOWED)
        assert stored(uow_factory).state is OrderState.ASSIGNED

    async def test_resident_cannot_rate_or_cancel_someone_elses_order(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, reported: WorkOrder
    ) -> None:
        assert reported.id is not None
        await resolve(driver)
        outcome = await driver.press(RESIDENT_CHEN, verbs.encode(Verb.RATE, reported.id, "u"))
        assert outcome.callback_answer == texts.NOT_ALLOWED
        outcome = await driver.press(RESIDENT_CHEN, verbs.encode(Verb.CANCEL, reported.id))
        assert outcome.callback_answer == texts.NOT_ALLOWED
        assert stored(uow_factory).state is OrderState.RESOLVED

    async def test_rating_twice_is_refused(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, reported: WorkOrder
    ) -> None:
        await resolve(driver)
        await driver.press_button(RESIDENT_ZHANG, "满意")
        assert reported.id is not None
        outcome = await driver.press(RESIDENT_ZHANG, verbs.encode(Verb.RATE, reported.id, "u"))
        assert outcome.callback_answer == texts.STATE_CHANGED
        assert stored(uow_factory).state is OrderState.CLOSED

    async def test_only_staff_dispatch(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, reported: WorkOrder
    ) -> None:
        await driver.press_button(MEMBER_LI, order_texts.BTN_RETURN)
        assert reported.id is not None
        qian = next(p for p in uow_factory.store.people.values() if p.chat_id == MEMBER_QIAN)
        outcome = await driver.press(MEMBER_LI, verbs.encode(Verb.DISPATCH, reported.id, qian.id))
        assert outcome.callback_answer == texts.NOT_ALLOWED
        assert stored(uow_factory).state is OrderState.NEW

    async def test_resolve_needs_acceptance_first(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, reported: WorkOrder
    ) -> None:
        assert reported.id is not None
        outcome = await driver.press(MEMBER_LI, verbs.encode(Verb.RESOLVE, reported.id))
        assert outcome.callback_answer == texts.STATE_CHANGED

    async def test_refused_text_message_gets_a_chinese_answer(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, reported: WorkOrder
    ) -> None:
        # a member whose resolve note comes after the order was transferred away
        await driver.press_button(MEMBER_LI, order_texts.BTN_ACCEPT)
        await driver.press_button(MEMBER_LI, order_texts.BTN_RESOLVE)
        assert reported.id is not None
        await driver.press(STAFF_LIU, verbs.encode(Verb.TRANSFER_MENU, reported.id))
        await driver.press_button(STAFF_LIU, "网格员 张伟")
        await driver.text(MEMBER_LI, "已修好")
        assert driver.last(MEMBER_LI).text == texts.NOT_ALLOWED
        assert stored(uow_factory).state is OrderState.ASSIGNED
