"""Issue 15, a community's first week: invite links, "me too" followers in the conversation, leave hand-over,
/history and /orders paging, role-correct wording. Each test fails on the code before the issue."""

from __future__ import annotations

from dataclasses import replace

import pytest

from handlers import texts
from handlers.community import texts as community_texts
from handlers.community.invites import code_hash, issue
from handlers.messages import ChatKind, Incoming
from handlers.workorders import duty
from handlers.workorders import texts as order_texts
from handlers.workorders.model import EventKind, OrderState, WorkOrder
from tests.driver import (
    MEMBER_LI,
    MEMBER_QIAN,
    MEMBER_ZHANG,
    NEWCOMER,
    POLICE_WU,
    RESIDENT_CHEN,
    RESIDENT_ZHANG,
    STAFF_LIU,
    ChatDriver,
)
from tests.fakes import FakeClock, FakeUnitOfWorkFactory

NEW_CHAT = 8801  # a Telegram account nobody has seen before


def orders(uow_factory: FakeUnitOfWorkFactory) -> list[WorkOrder]:
    return sorted(uow_factory.store.orders.values(), key=lambda o: o.id or 0)


def person_id(uow_factory: FakeUnitOfWorkFactory, chat_id: int) -> int:
    return next(p.id for p in uow_factory.store.people.values() if p.chat_id == chat_id)


async def invite(
    uow_factory: FakeUnitOfWorkFactory, clock: FakeClock, name: str, resident: bool = False
) -> str:
    async with uow_factory() as uow:
        issued = await issue(uow.community, name, clock.now(), resident=resident)
        await uow.commit()
    return issued.code


class TestInvites:
    @pytest.fixture
    def waiting(self, uow_factory: FakeUnitOfWorkFactory) -> int:
        """孙敏, a volunteer the example community lists without a chat id: not joined yet."""
        return next(p.id for p in uow_factory.store.waiting.values() if p.name == "孙敏")

    async def test_the_link_binds_the_chat_once_and_staff_hear_of_it(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock, waiting: int
    ) -> None:
        code = await invite(uow_factory, clock, "孙敏")
        assert code_hash(code) in uow_factory.store.invites
        assert code not in str(uow_factory.store.invites)
        await driver.text(NEW_CHAT, f"/start {code}")
        assert uow_factory.store.people[waiting].chat_id == NEW_CHAT
        assert "欢迎您，孙敏" in driver.last(NEW_CHAT).text
        assert "孙敏 已通过邀请链接加入" in driver.last(STAFF_LIU).text
        await driver.text(NEW_CHAT, "/help")
        assert driver.last(NEW_CHAT).text == texts.HELP_MEMBER  # a member now, not a resident
        await driver.text(NEW_CHAT + 1, f"/start {code}")  # the same link again, from someone else
        assert driver.last(NEW_CHAT + 1).text == community_texts.INVITE_USED
        assert uow_factory.store.people[waiting].chat_id == NEW_CHAT

    async def test_wrong_expired_or_taken_links_bind_nothing(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock, waiting: int
    ) -> None:
        await driver.text(NEW_CHAT, "/start not-a-real-code")
        assert driver.last(NEW_CHAT).text == community_texts.INVITE_INVALID
        code = await invite(uow_factory, clock, "孙敏")
        await driver.text(MEMBER_LI, f"/start {code}")  # this account is 网格员 李娜 already
        assert "网格员 李娜" in driver.last(MEMBER_LI).text
        clock.advance(days=8)  # valid for 7 days
        await driver.text(NEW_CHAT, f"/start {code}")
        assert driver.last(NEW_CHAT).text == community_texts.INVITE_INVALID
        assert waiting in uow_factory.store.waiting

    async def test_a_resident_invite_makes_a_resident_and_staff_get_the_id_for_the_ledger(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
    ) -> None:
        code = await invite(uow_factory, clock, "王奶奶", resident=True)
        await driver.text(NEW_CHAT, f"/start {code}")
        resident = next(r for r in uow_factory.store.residents.values() if r.chat_id == NEW_CHAT)
        assert resident.name == "王奶奶"
        assert f"/ledger_add {NEW_CHAT}" in driver.last(STAFF_LIU).text
        assert driver.last(NEW_CHAT).button(texts.BTN_AGREE)  # consent, as for anyone new

    async def test_id_shows_a_person_their_chat_id(self, driver: ChatDriver) -> None:
        await driver.text(NEWCOMER, "/id")
        assert str(NEWCOMER) in driver.last(NEWCOMER).text
        group = Incoming(
            -100123, NEWCOMER, chat_kind=ChatKind.GROUP, message_id=1, text="/id", dedupe_key="g1"
        )
        outcome = await driver.core.handle(group)
        assert "-100123" in outcome.replies[0].text
        assert str(NEWCOMER) in outcome.replies[0].text


async def follow(driver: ChatDriver) -> None:
    """张阿姨 reports; 小王 (a newcomer in the same building) joins her order."""
    await driver.text(RESIDENT_ZHANG, "兴泰5号楼楼道灯坏了")
    await driver.text(NEWCOMER, "兴泰5号楼的灯也坏了", name="小王")
    await driver.press_button(NEWCOMER, texts.BTN_AGREE)
    await driver.press_button(NEWCOMER, order_texts.BTN_JOIN)


class TestFollowers:
    async def test_a_follower_replies_and_the_handler_answers_them(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await follow(driver)
        joined = driver.last(NEWCOMER)
        await driver.text(NEWCOMER, "晚上七点后有人在家", reply_to=joined.message_id)
        (order,) = orders(uow_factory)  # one: the reply did not start a new report ("请问是在哪个小区？")
        relayed = driver.last(MEMBER_LI)
        assert "同样反映此问题的居民小王" in relayed.text
        assert "晚上七点后有人在家" in relayed.text
        assert relayed.reply.order_id is None  # a plain reply to it would reach the reporter instead
        await driver.press_button(MEMBER_LI, order_texts.BTN_REPLY_FOLLOWER)
        await driver.text(MEMBER_LI, "好的，七点半过去")
        assert "七点半过去" in driver.last(NEWCOMER).text
        assert not any("七点半" in t for t in driver.texts(RESIDENT_ZHANG))
        kinds = [e.kind for e in uow_factory.store.events[order.id or 0]]
        assert kinds[-2:] == [EventKind.RESIDENT_REPLIED, EventKind.MEMBER_REPLIED]

    async def test_followers_see_it_in_my_and_hear_a_claim_from_the_group(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await follow(driver)
        await driver.text(NEWCOMER, "/my")
        (order,) = orders(uow_factory)
        my = driver.last(NEWCOMER).text
        assert order.number in my
        assert order_texts.MY_FOLLOWED_HEADER in my
        assert "楼道灯坏了" not in my  # the reporter's words are not shown to others
        store = uow_factory.store
        grid = store.grids[order.grid_id or 0]
        store.grids[grid.id] = replace(grid, group_chat_id=-500)
        await driver.press(MEMBER_ZHANG, f"cl:{order.id}")  # claimed from the grid's group chat
        assert "已由网格员 张伟接单" in driver.last(NEWCOMER).text

    async def test_when_the_reporter_cancels_the_order_goes_on_for_the_followers(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await follow(driver)
        await driver.text(RESIDENT_ZHANG, "/my")
        await driver.press_button(RESIDENT_ZHANG, order_texts.BTN_CANCEL)
        (order,) = orders(uow_factory)
        newcomer = next(r.id for r in uow_factory.store.residents.values() if r.chat_id == NEWCOMER)
        assert order.state is OrderState.ASSIGNED
        assert order.resident_id == newcomer
        assert order.followers == []
        assert order.text == "兴泰5号楼的灯也坏了"
        assert order.location.room is None
        assert "还有 1 位居民" in driver.last(RESIDENT_ZHANG).text
        assert "工单继续为您办理" in driver.last(NEWCOMER).text
        assert "报事居民撤回" in driver.last(MEMBER_LI).text
        await driver.press_button(MEMBER_LI, order_texts.BTN_ACCEPT)
        assert "接单" in driver.last(NEWCOMER).text
        assert not any("接单" in t for t in driver.texts(RESIDENT_ZHANG)[-1:])

    async def test_without_followers_cancelling_still_cancels(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await driver.text(RESIDENT_ZHANG, "兴泰5号楼楼道灯坏了")
        await driver.text(RESIDENT_ZHANG, "/my")
        await driver.press_button(RESIDENT_ZHANG, order_texts.BTN_CANCEL)
        assert orders(uow_factory)[0].state is OrderState.CANCELLED


class TestLeaveHandOver:
    async def report_two(self, driver: ChatDriver) -> None:
        await driver.text(RESIDENT_ZHANG, "兴泰5号楼楼道灯坏了")
        await driver.text(RESIDENT_ZHANG, "兴泰5号楼楼上漏水了")  # 李娜 and 张伟 take turns (least loaded)

    async def test_leave_offers_the_deputy_who_then_holds_them_and_gets_the_escalations(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
    ) -> None:
        await self.report_two(driver)
        li, zhang = person_id(uow_factory, MEMBER_LI), person_id(uow_factory, MEMBER_ZHANG)
        mine = [o for o in orders(uow_factory) if o.assignee_id == li]
        assert mine
        await driver.text(MEMBER_LI, "/leave")
        offer = driver.last(MEMBER_LI)
        assert mine[0].number in offer.text
        await driver.press_button(MEMBER_LI, duty.BTN_TO_DEPUTY)
        assert all(o.assignee_id == zhang for o in orders(uow_factory))
        assert driver.last(MEMBER_ZHANG).text.startswith("📋 代班转交（网格员 李娜请假）\n")
        assert "张伟" in driver.last(RESIDENT_ZHANG).text
        before = len(driver.texts(MEMBER_LI))
        clock.advance(hours=5)  # past the 4 hours to accept
        for _ in range(3):
            await driver.core.run_timers()
        await driver.deliver_now()
        assert any("已超时" in t and mine[0].number in t for t in driver.texts(MEMBER_ZHANG))
        assert len(driver.texts(MEMBER_LI)) == before  # nothing more reaches the one on leave

    async def test_back_says_what_the_deputy_still_holds_and_takes_it_back_only_when_asked(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await self.report_two(driver)
        li = person_id(uow_factory, MEMBER_LI)
        mine = {o.number for o in orders(uow_factory) if o.assignee_id == li}
        await driver.text(MEMBER_LI, "/leave")
        await driver.press_button(MEMBER_LI, duty.BTN_TO_DEPUTY)
        await driver.text(MEMBER_LI, "/back")
        listed = driver.last(MEMBER_LI).text
        assert all(n in listed for n in mine)
        assert "网格员 张伟" in listed
        assert not any(o.assignee_id == li for o in orders(uow_factory))  # not taken back silently
        await driver.press_button(MEMBER_LI, duty.BTN_TAKE_BACK)
        assert {o.number for o in orders(uow_factory) if o.assignee_id == li} == mine
        assert "收回" in driver.last(MEMBER_ZHANG).text

    async def test_the_grid_leader_is_offered_when_the_deputy_is_away_and_a_stale_press_is_refused(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await self.report_two(driver)
        await driver.text(MEMBER_ZHANG, "/leave")  # the deputy first
        await driver.text(MEMBER_LI, "/leave")
        offer = driver.last(MEMBER_LI)
        assert [b.text for row in offer.reply.buttons for b in row][0] == f"{duty.BTN_TO_LEADER} 王建国"
        await driver.text(MEMBER_LI, "/back")
        outcome = await driver.press(MEMBER_LI, offer.button(duty.BTN_TO_LEADER).data)
        assert outcome.callback_answer == texts.STATE_CHANGED


class TestHistoryAndOrders:
    async def test_history_shows_the_timeline_to_those_allowed_only(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await follow(driver)
        (order,) = orders(uow_factory)
        await driver.press_button(MEMBER_LI, order_texts.BTN_ACCEPT)
        await driver.text(
            MEMBER_LI, "下午过去看，电话13812345678", reply_to=driver.last(MEMBER_LI).message_id
        )
        for chat in (RESIDENT_ZHANG, NEWCOMER, MEMBER_ZHANG, STAFF_LIU):
            await driver.text(chat, f"/history {order.number.lower()}")
            shown = driver.last(chat).text
            assert shown.startswith("🕘 工单进度\n" + order.number), chat
            assert "接单（网格员 李娜）" in shown
        assert "下午过去看" in driver.last(STAFF_LIU).text
        assert "13812345678" not in driver.last(STAFF_LIU).text
        assert "下午过去看" not in driver.last(NEWCOMER).text  # residents: what happened, not the words
        for stranger in (RESIDENT_CHEN, MEMBER_QIAN):  # another resident, another grid's member
            outcome = await driver.text(stranger, f"/history {order.number}")
            assert outcome.replies[-1].text == texts.ORDER_NOT_FOUND

    async def test_orders_pages_through_every_open_order_and_finds_one_by_number(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
    ) -> None:
        uow_factory.store.settings = replace(
            uow_factory.store.settings, duplicate_window=clock.now() - clock.now()
        )
        for n in range(25):
            await driver.text(RESIDENT_CHEN, f"森源6号楼第{n}处漏水")
            clock.advance(minutes=4)  # within the 20 reports an hour one resident may open
        numbers = [o.number for o in orders(uow_factory)]
        await driver.text(STAFF_LIU, "/orders")
        first = driver.last(STAFF_LIU)
        assert sum(n in first.text for n in numbers) == 20
        await driver.press_button(STAFF_LIU, order_texts.BTN_NEXT_PAGE)
        second = driver.last(STAFF_LIU)
        assert sum(n in second.text for n in numbers) == 5
        assert not second.reply.buttons
        await driver.text(STAFF_LIU, f"/orders {numbers[-1]}")
        found = driver.last(STAFF_LIU)
        assert found.text.startswith(order_texts.FOUND_HEADING + "\n" + numbers[-1])
        assert found.button(order_texts.BTN_ACCEPT)  # staff may act on it from here
        outcome = await driver.text(MEMBER_LI, f"/orders {numbers[-1]}")  # 第二网格's order
        assert outcome.replies[-1].text == texts.NOT_ALLOWED


class TestWording:
    async def test_the_police_liaison_is_named_as_such(self, driver: ChatDriver) -> None:
        await driver.text(RESIDENT_ZHANG, "昨天有人冒充公安打电话，是不是骗子")
        await driver.press_button(POLICE_WU, order_texts.BTN_ACCEPT)
        accepted = driver.last(RESIDENT_ZHANG).text
        assert "社区民警 吴警官接单" in accepted
        assert "和社区民警沟通" in accepted
        assert "网格员" not in accepted

    async def test_headings_and_numbers_are_on_separate_lines(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await driver.text(RESIDENT_ZHANG, "兴泰5号楼楼道灯坏了")
        (order,) = orders(uow_factory)
        await driver.press_button(MEMBER_LI, order_texts.BTN_RETURN)
        dispatch = driver.last(STAFF_LIU).text
        assert "请选择处理人：\n" + order.number in dispatch
        assert "请选择处理人： " not in dispatch
        await driver.press_button(STAFF_LIU, "网格员 李娜")
        await driver.press_button(MEMBER_LI, order_texts.BTN_ACCEPT)
        await driver.press_button(MEMBER_LI, order_texts.BTN_RESOLVE)
        await driver.text(MEMBER_LI, "换好了")
        await driver.press_button(RESIDENT_ZHANG, "不满意")
        reopened = driver.last(MEMBER_LI).text
        assert "联系居民。\n" + order.number in reopened
        assert "重新交给网格员继续处理" in driver.texts(RESIDENT_ZHANG)[-1]
