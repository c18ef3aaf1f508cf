"""A resident's own data (/mydata, /deletedata) and what others may see of it ("me too" followers)."""

from __future__ import annotations

from handlers import texts
from handlers.community import texts as own_texts
from handlers.community.model import is_erased_chat
from handlers.verbs import Verb, encode
from handlers.workorders import texts as order_texts
from handlers.workorders.model import OrderState
from tests.driver import MEMBER_LI, NEWCOMER, RESIDENT_CHEN, RESIDENT_ZHANG, STAFF_LIU, ChatDriver
from tests.fakes import FakeClock, FakeUnitOfWorkFactory
from tests.unit.handlers.fuzz.fuzzing import fake_state

PHONE = "13812345678"
PHRASE = "紫色长颈鹿在楼道里"  # something only this resident wrote


def resident_of(uow_factory: FakeUnitOfWorkFactory, chat: int):  # type: ignore[no-untyped-def]
    return next((r for r in uow_factory.store.residents.values() if r.chat_id == chat), None)


class TestMyData:
    async def test_lists_what_is_kept(self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory) -> None:
        await driver.text(RESIDENT_ZHANG, "兴泰5号楼楼道灯坏了")
        await driver.text(RESIDENT_ZHANG, "/checkin")
        await driver.text(RESIDENT_ZHANG, "/mydata")
        shown = driver.last(RESIDENT_ZHANG).text
        assert "张阿姨" in shown
        assert "兴泰小区5号楼2单元501" in shown
        assert "每日平安问候：已开启" in shown
        (order,) = uow_factory.store.orders.values()
        assert f"您提交的工单：1 张（未完成：{order.number}）" in shown

    async def test_someone_who_never_agreed_has_nothing_kept(self, driver: ChatDriver) -> None:
        await driver.text(NEWCOMER, "/mydata")
        assert driver.last(NEWCOMER).text == own_texts.NOTHING_HELD


class TestDeleteData:
    async def _resident_with_everything(self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory) -> None:
        await driver.text(RESIDENT_ZHANG, f"兴泰5号楼楼道灯坏了，{PHRASE}，电话{PHONE}")
        await driver.text(RESIDENT_ZHANG, "/checkin")
        await driver.text(
            STAFF_LIU, f"/ledger_add {resident_of(uow_factory, RESIDENT_ZHANG).id} 独居老人 paper"
        )
        await driver.text(RESIDENT_ZHANG, "/subscriptions")
        await driver.press(RESIDENT_ZHANG, "sb:activity")

    async def test_asks_first_and_keeps_everything_on_no(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await self._resident_with_everything(driver, uow_factory)
        await driver.text(RESIDENT_ZHANG, "/deletedata")
        asked = driver.last(RESIDENT_ZHANG)
        assert "删除后无法恢复" in asked.text
        assert "1 张未完成的工单" in asked.text
        before = fake_state(uow_factory.store)
        await driver.press_button(RESIDENT_ZHANG, own_texts.BTN_KEEP)
        assert driver.last(RESIDENT_ZHANG).text == own_texts.DELETE_KEPT
        assert fake_state(uow_factory.store) == before

    async def test_deletes_everything_and_keeps_the_order_as_anonymous_statistics(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await self._resident_with_everything(driver, uow_factory)
        zhang = resident_of(uow_factory, RESIDENT_ZHANG)
        await driver.text(RESIDENT_ZHANG, "/deletedata")
        await driver.press_button(RESIDENT_ZHANG, own_texts.BTN_DELETE)
        store = uow_factory.store
        said = driver.last(RESIDENT_ZHANG).text
        assert "已删除您的个人信息" in said
        assert "1 张工单" in said
        assert "已撤销" in said
        assert "匿名保留" not in said
        assert resident_of(uow_factory, RESIDENT_ZHANG) is None  # no chat leads to the record any more
        record = store.residents[zhang.id]
        assert is_erased_chat(record.chat_id)
        assert (record.name, record.phone, record.building_id, record.consented_at) == (
            own_texts.REDACTED,
            None,
            None,
            None,
        )
        assert zhang.id not in store.ledger
        assert not [c for c in store.checkins.values() if c.resident_id == zhang.id]
        assert RESIDENT_ZHANG not in store.conversations
        assert not [k for k in store.links if k[0] == RESIDENT_ZHANG]
        assert not [t for c, t in store.broadcast_state.opt_outs if c == RESIDENT_ZHANG]  # type: ignore[attr-defined]
        (order,) = store.orders.values()
        assert order.text == own_texts.REDACTED
        assert order.state is OrderState.CANCELLED
        assert order.location.building_number == "5"
        assert order.location.room is None
        assert order.category.value == "repair"
        # Staff's ledger no longer lists them in any form.
        await driver.text(STAFF_LIU, "/ledger")
        assert driver.last(STAFF_LIU).text == "台账里还没有登记的居民。"
        # The member was told the order is withdrawn; nothing more goes to the deleted chat.
        assert order_texts.cancelled_member(order.number) in driver.texts(MEMBER_LI)
        await driver.text(RESIDENT_ZHANG, "/my")
        assert driver.last(RESIDENT_ZHANG).text == order_texts.MY_NONE

    async def test_nobody_kept_means_nothing_to_delete(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await driver.text(NEWCOMER, "兴泰5号楼楼道灯坏了")  # waits for consent, with the report
        await driver.text(NEWCOMER, "/deletedata")
        assert driver.last(NEWCOMER).text == own_texts.NOTHING_HELD
        await driver.press(NEWCOMER, encode(Verb.CONSENT, "y"))
        assert not uow_factory.store.orders  # the report that was waiting was dropped too


class TestMeToo:
    async def _two_orders(self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory) -> tuple[int, int]:
        """An open repair order at 兴泰5号楼 (offered) and a sanitation order elsewhere (not offered)."""
        await driver.text(RESIDENT_ZHANG, "兴泰5号楼楼道灯坏了")
        await driver.text(RESIDENT_CHEN, "森源华府6号楼垃圾没人收")
        ids = {o.category.value: o.id for o in uow_factory.store.orders.values()}
        return ids["repair"], ids["sanitation"]

    async def test_a_crafted_press_cannot_join_an_order_that_was_not_offered(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        _, other = await self._two_orders(driver, uow_factory)
        await driver.text(NEWCOMER, "兴泰5号楼的灯坏了", name="小王")
        await driver.press_button(NEWCOMER, texts.BTN_AGREE)
        assert "已有相同问题的工单" in driver.last(NEWCOMER).text
        before = fake_state(uow_factory.store)
        outcome = await driver.press(NEWCOMER, f"dj:{other}")
        assert outcome.callback_answer == texts.STALE_BUTTON
        assert fake_state(uow_factory.store) == before
        assert uow_factory.store.orders[other].followers == []

    async def test_the_order_must_still_match_when_pressed(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
    ) -> None:
        offered, _ = await self._two_orders(driver, uow_factory)
        await driver.text(NEWCOMER, "兴泰5号楼的灯坏了", name="小王")
        await driver.press_button(NEWCOMER, texts.BTN_AGREE)
        clock.advance(hours=25)  # past the duplicate window
        outcome = await driver.press(NEWCOMER, f"dj:{offered}")
        assert outcome.callback_answer == texts.STALE_BUTTON
        assert uow_factory.store.orders[offered].followers == []

    async def test_followers_read_the_resolution_note_with_phones_masked(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        offered, _ = await self._two_orders(driver, uow_factory)
        await driver.text(NEWCOMER, "兴泰5号楼的灯坏了", name="小王")
        await driver.press_button(NEWCOMER, texts.BTN_AGREE)
        await driver.press_button(NEWCOMER, order_texts.BTN_JOIN)
        assert uow_factory.store.orders[offered].followers
        await driver.press_button(MEMBER_LI, order_texts.BTN_ACCEPT)
        await driver.press_button(MEMBER_LI, order_texts.BTN_RESOLVE)
        await driver.text(MEMBER_LI, f"已修好，有问题打张阿姨电话 {PHONE}")
        assert PHONE in driver.last(RESIDENT_ZHANG).text  # the reporter gave it
        follower = driver.last(NEWCOMER).text
        assert PHONE not in follower
        assert "138****5678" in follower
