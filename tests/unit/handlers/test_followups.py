"""Issue 15 item 4, 回访: a resolved order's rating is reminded after a day; unrated after the community's
`rating.close_after` it closes as 未评价 onto the staff's 回访 list, where a phone follow-up's answer becomes
the order's rating. Each test fails on the code before the issue (resolved orders waited forever)."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import timedelta

import pytest

from handlers import texts, verbs
from handlers.followups import texts as followup_texts
from handlers.verbs import Verb
from handlers.workorders import texts as order_texts
from handlers.workorders.model import UNRATED, Actor, EventKind, OrderState, Satisfaction, WorkOrder
from tests.driver import MEMBER_LI, RESIDENT_ZHANG, STAFF_CHEN, STAFF_LIU, ChatDriver
from tests.fakes import FakeClock, FakeUnitOfWorkFactory


def the_order(uow_factory: FakeUnitOfWorkFactory) -> WorkOrder:
    (order,) = uow_factory.store.orders.values()
    return order


def kinds(uow_factory: FakeUnitOfWorkFactory) -> list[str]:
    (history,) = uow_factory.store.events.values()
    return [e.kind.value for e in history]


async def resolved(driver: ChatDriver) -> None:
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")
    await driver.press_button(MEMBER_LI, order_texts.BTN_ACCEPT)
    await driver.press_button(MEMBER_LI, order_texts.BTN_RESOLVE)
    await driver.text(MEMBER_LI, "灯已换好")
    driver.clear()


async def closed_unrated(driver: ChatDriver, clock: FakeClock) -> None:
    await resolved(driver)
    clock.advance(hours=24)
    await driver.core.run_timers()
    clock.advance(days=6)
    await driver.core.run_timers()
    await driver.deliver_now()


class TestReminderAndClosing:
    async def test_a_day_after_resolution_the_resident_is_reminded_once(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
    ) -> None:
        await resolved(driver)
        clock.advance(hours=23, minutes=59)
        assert await driver.core.run_timers() == 0
        clock.advance(minutes=1)
        assert await driver.core.run_timers() == 1
        await driver.deliver_now()
        reminder = driver.last(RESIDENT_ZHANG)
        assert reminder.text == followup_texts.rating_reminder(the_order(uow_factory).number)
        assert reminder.button("满意")
        clock.advance(hours=1)
        assert await driver.core.run_timers() == 0  # reminded once only
        assert the_order(uow_factory).state is OrderState.RESOLVED
        await driver.press_button(RESIDENT_ZHANG, "满意")  # the reminder's button rates
        assert the_order(uow_factory).satisfaction is Satisfaction.SATISFIED
        assert the_order(uow_factory).next_timer_at is None
        clock.advance(days=30)
        assert await driver.core.run_timers() == 0
        assert uow_factory.store.followups == {}

    async def test_unrated_after_seven_days_it_closes_as_unrated_onto_the_list(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
    ) -> None:
        await resolved(driver)
        clock.advance(hours=24)
        await driver.core.run_timers()
        clock.advance(days=6, minutes=-1)
        assert await driver.core.run_timers() == 0
        clock.advance(minutes=1)
        assert await driver.core.run_timers() == 1
        await driver.deliver_now()
        order = the_order(uow_factory)
        assert order.state is OrderState.CLOSED
        assert order.satisfaction is None
        (closing,) = [e for e in uow_factory.store.events[order.id or 0] if e.kind is EventKind.CLOSED]
        assert (closing.note, closing.actor) == (UNRATED, Actor.system())
        assert list(uow_factory.store.followups) == [order.id]
        assert driver.last(RESIDENT_ZHANG).text == followup_texts.closed_unrated_resident(order.number)
        assert driver.last(MEMBER_LI).text == followup_texts.closed_unrated_member(order.number)
        assert order.state.label == "已完成"
        await driver.text(RESIDENT_ZHANG, f"/history {order.number}")
        assert "居民未评价，转入回访" in driver.last(RESIDENT_ZHANG).text

    async def test_the_days_are_the_communitys_setting(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
    ) -> None:
        settings = uow_factory.store.settings
        uow_factory.store.settings = replace(settings, rating_close_after=timedelta(days=3))
        await resolved(driver)
        clock.advance(hours=24)
        await driver.core.run_timers()
        clock.advance(days=2)
        await driver.core.run_timers()
        assert the_order(uow_factory).state is OrderState.CLOSED

    async def test_an_order_resolved_before_this_feature_is_reminded_before_it_closes(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
    ) -> None:
        await resolved(driver)
        the_order(uow_factory).next_timer_at = None  # as migration 0014 finds it, long resolved
        clock.advance(days=40)
        the_order(uow_factory).next_timer_at = clock.now()  # what the migration sets
        assert await driver.core.run_timers() == 1
        assert kinds(uow_factory)[-1] == "rating_reminded"
        clock.advance(days=6)
        assert await driver.core.run_timers() == 1
        assert the_order(uow_factory).state is OrderState.CLOSED


class TestPhoneFollowUp:
    async def test_staff_record_the_call_and_it_counts_as_a_rating_by_phone(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
    ) -> None:
        await closed_unrated(driver, clock)
        order = the_order(uow_factory)
        await driver.text(STAFF_LIU, "/huifang")
        listing = driver.last(STAFF_LIU)
        assert listing.text.startswith(followup_texts.list_header(1))
        assert order.number in listing.text
        assert "张阿姨" in listing.text
        await driver.press_button(STAFF_LIU, f"{followup_texts.BTN_CALL} {order.number}")
        card = driver.last(STAFF_LIU)
        assert "灯已换好" in card.text
        await driver.press_button(STAFF_LIU, "基本满意")
        assert driver.last(STAFF_LIU).text == followup_texts.ask_note(order.number, "基本满意")
        await driver.text(STAFF_LIU, "居民说灯修好了，就是等了两天")
        assert driver.last(STAFF_LIU).text == followup_texts.recorded(order.number, "基本满意")
        assert driver.last(MEMBER_LI).text == followup_texts.recorded_member(order.number, "基本满意")
        order = the_order(uow_factory)
        assert order.satisfaction is Satisfaction.BASICALLY
        assert order.state is OrderState.CLOSED
        history = uow_factory.store.events[order.id or 0]
        rating = next(e for e in history if e.kind is EventKind.RATED)
        staff_id = next(p.id for p in uow_factory.store.people.values() if p.chat_id == STAFF_LIU)
        assert (rating.note, rating.actor) == ("basically", Actor("person", staff_id))
        assert history[-1].kind is EventKind.NOTED
        assert "等了两天" in history[-1].note
        assert uow_factory.store.followups[order.id or 0]["result"] == "basically"
        await driver.text(STAFF_LIU, "/followups")
        assert driver.last(STAFF_LIU).text == followup_texts.NONE_PENDING
        # A second staff member with the card still open cannot record the call again.
        outcome = await driver.press_button(STAFF_LIU, "满意")
        assert outcome.callback_answer == texts.STATE_CHANGED
        await driver.text(STAFF_CHEN, f"/history {order.number}")
        assert "基本满意（电话回访）" in driver.last(STAFF_CHEN).text

    async def test_no_note_is_fine_and_only_staff_see_the_list(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
    ) -> None:
        await closed_unrated(driver, clock)
        await driver.text(MEMBER_LI, "/huifang")
        assert driver.last(MEMBER_LI).text == texts.NOT_ALLOWED
        await driver.text(RESIDENT_ZHANG, "/huifang")
        assert driver.last(RESIDENT_ZHANG).text == texts.NOT_ALLOWED
        await driver.text(STAFF_LIU, "/huifang")
        await driver.press_button(STAFF_LIU, f"{followup_texts.BTN_CALL} {the_order(uow_factory).number}")
        await driver.press_button(STAFF_LIU, "不满意")
        await driver.text(STAFF_LIU, "无")
        history = uow_factory.store.events[the_order(uow_factory).id or 0]
        assert history[-1].kind is EventKind.RATED
        assert history[-1].note == "unsatisfied"

    async def test_the_list_pages_through_every_pending_order(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
    ) -> None:
        await closed_unrated(driver, clock)
        store = uow_factory.store
        first = the_order(uow_factory)
        for n in range(2, 13):  # eleven more closed unrated orders: 12 in all, 10 to a page
            clone = copy.deepcopy(first)
            clone.id, clone.number = store.new_id(), f"GD20261130-{n:04d}"
            store.orders[clone.id] = clone
            store.followups[clone.id] = {"closed_at": clock.now(), "done_at": None}
        await driver.text(STAFF_LIU, "/huifang")
        page = driver.last(STAFF_LIU)
        assert page.text.startswith(followup_texts.list_header(12))
        assert page.text.count("GD20261130-") == 10
        await driver.press_button(STAFF_LIU, followup_texts.BTN_NEXT)
        rest = driver.last(STAFF_LIU)
        assert rest.text.count("GD20261130-") == 2
        assert "GD20261130-0012" in rest.text
        assert "GD20261130-0010" not in rest.text
        with pytest.raises(AssertionError):
            rest.button(followup_texts.BTN_NEXT)

    async def test_a_resident_who_deletes_their_data_leaves_the_list(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
    ) -> None:
        await closed_unrated(driver, clock)
        assert uow_factory.store.followups
        await driver.text(RESIDENT_ZHANG, "/deletedata")
        await driver.press(RESIDENT_ZHANG, verbs.encode(Verb.DELETE_DATA, "y"))
        assert uow_factory.store.followups == {}
        await driver.text(STAFF_LIU, "/huifang")
        assert driver.last(STAFF_LIU).text == followup_texts.NONE_PENDING

    async def test_a_late_rating_by_the_resident_counts_and_leaves_the_list(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
    ) -> None:
        await closed_unrated(driver, clock)
        reminder = next(
            m for m in driver.inbox(RESIDENT_ZHANG) if m.text.startswith("您好！您反映的问题已经办结")
        )
        await driver.press(RESIDENT_ZHANG, reminder.button("不满意").data)
        order = the_order(uow_factory)
        assert order.satisfaction is Satisfaction.UNSATISFIED
        assert order.state is OrderState.CLOSED
        rating = uow_factory.store.events[order.id or 0][-1]
        assert (rating.kind, rating.actor.kind) == (EventKind.RATED, "resident")
        assert uow_factory.store.followups[order.id or 0]["done_by"] is None
        await driver.text(STAFF_LIU, "/huifang")
        assert driver.last(STAFF_LIU).text == followup_texts.NONE_PENDING
        outcome = await driver.press(RESIDENT_ZHANG, reminder.button("满意").data)
        assert outcome.callback_answer == texts.STATE_CHANGED  # rated once
