"""Issue 15 item 8: a grid member's notice to their own grid (or one building of it) goes out through the
broadcast machinery once the grid leader (or staff) approves it, once, with the residents' opt-outs."""

from __future__ import annotations

from handlers import texts
from handlers.broadcasts import texts as bt
from handlers.broadcasts.model import AudienceKind, BroadcastStatus, Topic
from handlers.broadcasts.planning import plan_due
from tests.driver import LEADER_WANG, MEMBER_LI, RESIDENT_CHEN, RESIDENT_ZHANG, STAFF_LIU, ChatDriver
from tests.fakes import FakeBroadcasts, FakeClock, FakeUnitOfWorkFactory

LEADER_ZHAO = 2101  # 第二网格's leader
NOTICE = "/notice 停水通知：明天上午9点到11点停水，请提前储水。"


def deliveries(factory: FakeUnitOfWorkFactory) -> list[object]:
    return [d["chat_id"] for d in FakeBroadcasts(factory.store).b.deliveries.values()]


def the_notice(factory: FakeUnitOfWorkFactory) -> object:
    (only,) = FakeBroadcasts(factory.store).b.broadcasts.values()
    return only


async def test_the_grid_leader_approves_and_it_goes_to_the_grid_once(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    await driver.text(MEMBER_LI, NOTICE)
    notice = the_notice(uow_factory)
    assert notice.status is BroadcastStatus.DRAFT  # type: ignore[attr-defined]
    assert notice.topic is Topic.GRID_NOTICE  # type: ignore[attr-defined]
    assert notice.audience.kind is AudienceKind.GRIDS  # type: ignore[attr-defined]
    assert deliveries(uow_factory) == []
    assert "提交给 网格长 王建国 审批" in driver.last(MEMBER_LI).text
    review = driver.last(LEADER_WANG)
    assert "网格员 李娜 提交了一条网格通知" in review.text
    assert "明天上午9点到11点停水" in review.text
    await driver.press_button(LEADER_WANG, bt.BTN_NOTICE_APPROVE)
    assert deliveries(uow_factory) == [RESIDENT_ZHANG]  # 第一网格's resident; 老陈 lives elsewhere
    assert "批准了您的网格通知" in driver.last(MEMBER_LI).text
    outcome = await driver.press(LEADER_WANG, review.button(bt.BTN_NOTICE_APPROVE).data)
    assert outcome.callback_answer == bt.refused("bad_state")
    assert await plan_due(uow_factory, clock) == 0
    assert deliveries(uow_factory) == [RESIDENT_ZHANG]  # never twice


async def test_only_the_grids_leader_or_staff_may_approve_and_never_the_author(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(MEMBER_LI, NOTICE)
    approve = driver.last(LEADER_WANG).button(bt.BTN_NOTICE_APPROVE)
    for chat in (LEADER_ZHAO, MEMBER_LI, RESIDENT_ZHANG):
        outcome = await driver.press(chat, approve.data)
        assert outcome.callback_answer == texts.NOT_ALLOWED
    assert deliveries(uow_factory) == []
    await driver.press(STAFF_LIU, approve.data)
    assert deliveries(uow_factory) == [RESIDENT_ZHANG]


async def test_sent_back_it_is_never_sent_and_the_author_hears_why(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(MEMBER_LI, NOTICE)
    review = driver.last(LEADER_WANG)
    await driver.press_button(LEADER_WANG, bt.BTN_NOTICE_REJECT)
    assert the_notice(uow_factory).status is BroadcastStatus.CANCELLED  # type: ignore[attr-defined]
    assert "没有批准" in driver.last(MEMBER_LI).text
    await driver.press(LEADER_WANG, review.button(bt.BTN_NOTICE_APPROVE).data)
    assert deliveries(uow_factory) == []


async def test_one_building_of_their_grid_and_never_another_grids(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(MEMBER_LI, "/notice 森源华府6号楼 明天停水")
    assert driver.last(MEMBER_LI).text == bt.refused("not_your_building")
    assert FakeBroadcasts(uow_factory.store).b.broadcasts == {}
    await driver.text(MEMBER_LI, "/notice 兴泰小区5号楼 5号楼明天下午电梯检修")
    notice = the_notice(uow_factory)
    assert notice.audience.kind is AudienceKind.BUILDINGS  # type: ignore[attr-defined]
    assert notice.text == "5号楼明天下午电梯检修"  # type: ignore[attr-defined]
    await driver.press_button(LEADER_WANG, bt.BTN_NOTICE_APPROVE)
    assert deliveries(uow_factory) == [RESIDENT_ZHANG]


async def test_a_leaders_own_notice_goes_to_staff_and_residents_cannot_send_one(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(RESIDENT_CHEN, NOTICE)
    assert driver.last(RESIDENT_CHEN).text == texts.NOT_ALLOWED
    await driver.text(LEADER_WANG, NOTICE)
    assert bt.BTN_NOTICE_APPROVE not in [
        b.label for row in driver.last(LEADER_WANG).reply.buttons for b in row
    ]
    await driver.press_button(STAFF_LIU, bt.BTN_NOTICE_APPROVE)
    assert deliveries(uow_factory) == [RESIDENT_ZHANG]


async def test_residents_who_switched_grid_notices_off_are_left_out(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    async with uow_factory() as uow:
        await uow.broadcasts.set_topic(RESIDENT_ZHANG, Topic.GRID_NOTICE, False)
        await uow.commit()
    await driver.text(MEMBER_LI, NOTICE)
    await driver.press_button(LEADER_WANG, bt.BTN_NOTICE_APPROVE)
    assert deliveries(uow_factory) == []
