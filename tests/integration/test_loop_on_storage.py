"""The whole resident <-> grid-member loop through the real classifier, storage, outbox and sender."""

from __future__ import annotations

from sqlalchemy import select

from bot.delivery.replies import RetryLater, Unreachable
from handlers import texts
from handlers.messages import Incoming
from handlers.workorders import texts as order_texts
from handlers.workorders.model import OrderState
from storage.models import OutboxRow, WorkOrderRow
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import MEMBER_LI, RESIDENT_ZHANG, STAFF_LIU, ChatDriver
from tests.fakes import FakeClock
from tests.integration.conftest import RecordingMessenger


async def order_rows(uow_factory: SqlUnitOfWorkFactory) -> list[WorkOrderRow]:
    async with uow_factory() as uow:
        return list(await uow.session.scalars(select(WorkOrderRow)))


async def test_report_accept_relay_resolve_rate(
    driver: ChatDriver, uow_factory: SqlUnitOfWorkFactory
) -> None:
    await driver.text(RESIDENT_ZHANG, "兴泰5号楼2单元楼道灯坏了好几天了")
    (row,) = await order_rows(uow_factory)
    assert row.category == "repair"
    assert row.state == "assigned"
    card = driver.last(MEMBER_LI)
    assert row.number in card.text
    await driver.press_button(MEMBER_LI, order_texts.BTN_ACCEPT)
    assert "已接单" in driver.last(MEMBER_LI).text  # the card was edited in place
    await driver.text(MEMBER_LI, "下午过去看看", reply_to=card.message_id)
    relayed = driver.last(RESIDENT_ZHANG)
    assert "下午过去看看" in relayed.text
    assert relayed.reply_to_message_id is not None
    await driver.text(RESIDENT_ZHANG, "好的谢谢", reply_to=relayed.message_id)
    assert "好的谢谢" in driver.last(MEMBER_LI).text
    await driver.press_button(MEMBER_LI, order_texts.BTN_RESOLVE)
    await driver.text(MEMBER_LI, "已更换灯泡")
    await driver.press_button(RESIDENT_ZHANG, "基本满意")
    (row,) = await order_rows(uow_factory)
    assert row.state == OrderState.CLOSED.value
    assert row.satisfaction == "basically"
    async with uow_factory() as uow:
        history = [e.kind.value for e in await uow.orders.history(row.id)]
    assert history == [
        "created",
        "assigned",
        "accepted",
        "member_replied",
        "resident_replied",
        "resolved",
        "rated",
        "closed",
    ]


async def test_refusal_rolls_back_and_still_records_the_update(
    driver: ChatDriver, uow_factory: SqlUnitOfWorkFactory
) -> None:
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    (row,) = await order_rows(uow_factory)
    outcome = await driver.press(RESIDENT_ZHANG, f"ac:{row.id}")
    assert outcome.callback_answer == texts.NOT_ALLOWED
    (row,) = await order_rows(uow_factory)
    assert row.state == "assigned"


async def test_redelivered_update_has_one_effect(
    driver: ChatDriver, uow_factory: SqlUnitOfWorkFactory
) -> None:
    incoming = Incoming(
        chat_id=RESIDENT_ZHANG, sender_id=RESIDENT_ZHANG, text="楼道灯坏了", dedupe_key="u:42"
    )
    results = [await driver.core.handle(incoming) for _ in range(3)]
    assert [r.duplicate for r in results] == [False, True, True]
    assert len(await order_rows(uow_factory)) == 1


async def test_unknown_place_and_emergency(driver: ChatDriver, uow_factory: SqlUnitOfWorkFactory) -> None:
    await driver.text(9777, "有人晕倒在电梯里了快来人", name="路人")
    await driver.press_button(9777, texts.BTN_AGREE)
    (row,) = await order_rows(uow_factory)
    assert row.priority == "urgent"
    assert any("120" in t for t in driver.texts(9777))
    assert row.number in driver.last(STAFF_LIU).text


async def test_delivery_outcomes_are_recorded(
    driver: ChatDriver, uow_factory: SqlUnitOfWorkFactory, messenger: RecordingMessenger, clock: FakeClock
) -> None:
    messenger.fail_next = [Unreachable("blocked"), RetryLater(0.01)]
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    async with uow_factory() as uow:
        rows = list(await uow.session.scalars(select(OutboxRow).order_by(OutboxRow.id)))
    assert [r.status for r in rows] == ["failed", "sent"]  # the member blocked the bot; the resident got it
    assert rows[1].attempts == 2  # rate limited once, then sent
