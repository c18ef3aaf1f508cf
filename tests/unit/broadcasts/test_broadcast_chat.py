"""Staff create, preview, approve, pause and cancel broadcasts in chat; residents opt out; alerts ignore it."""

from __future__ import annotations

from handlers.broadcasts.model import Audience, AudienceKind, BroadcastStatus, Campaign, Topic
from handlers.broadcasts.planning import notify_finished, plan_due
from handlers.broadcasts.requests import parse_audience
from handlers.community.model import Role
from tests.driver import MEMBER_LI, RESIDENT_CHEN, RESIDENT_ZHANG, STAFF_LIU, ChatDriver
from tests.fakes import FakeBroadcasts, FakeClock, FakeUnitOfWorkFactory

CAMPAIGN = Campaign("anti_fraud_police", "自称公检法要转账？是诈骗", Topic.ANTI_FRAUD, "请拨打 96110 咨询。")


async def _library(factory: FakeUnitOfWorkFactory) -> None:
    async with factory() as uow:
        await uow.broadcasts.save_campaign(CAMPAIGN)
        await uow.commit()


def _deliveries(factory: FakeUnitOfWorkFactory) -> list[dict[str, object]]:
    return list(FakeBroadcasts(factory.store).b.deliveries.values())


async def test_staff_create_preview_approve_and_the_planner_expands_the_run(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    await _library(uow_factory)
    await driver.text(STAFF_LIU, "/broadcast new anti_fraud_police 对象=兴泰小区")
    preview = driver.last(STAFF_LIU)
    assert "草稿" in preview.text
    assert "现在发送会送达 1 人" in preview.text
    assert "96110" in preview.text
    await driver.press_button(STAFF_LIU, "批准发送")
    assert "已批准" in driver.last(STAFF_LIU).text
    assert await plan_due(uow_factory, clock) == 1
    assert [d["chat_id"] for d in _deliveries(uow_factory)] == [RESIDENT_ZHANG]
    assert await plan_due(uow_factory, clock) == 0  # a one-off runs once


async def test_non_staff_cannot_broadcast_or_press_staff_buttons(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await _library(uow_factory)
    await driver.text(STAFF_LIU, "/broadcast new anti_fraud_police")
    approve = driver.last(STAFF_LIU).button("批准发送")
    await driver.text(MEMBER_LI, "/broadcast new anti_fraud_police")
    assert "没有权限" in driver.last(MEMBER_LI).text or "权限" in driver.last(MEMBER_LI).text
    outcome = await driver.press(RESIDENT_ZHANG, approve.data)
    assert outcome.callback_answer
    async with uow_factory() as uow:
        (only,) = await uow.broadcasts.recent()
    assert only.status is BroadcastStatus.DRAFT


async def test_ad_hoc_text_with_a_weekly_spring_schedule(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(
        STAFF_LIU,
        '/broadcast new 话题=forest_fire 对象=全体 cron="0 9 * * 1" 季节=03-01..05-31\n进山不带火种。',
    )
    text = driver.last(STAFF_LIU).text
    assert "03-01 至 05-31" in text
    assert "-03-" in text  # the next fire times are in spring


async def test_bad_input_is_explained_and_changes_nothing(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(STAFF_LIU, "/broadcast new 对象=火星小区\n内容")
    assert "发送对象看不懂" in driver.last(STAFF_LIU).text
    await driver.text(STAFF_LIU, '/broadcast new cron="99 * * * *"\n内容')
    assert "时间设置看不懂" in driver.last(STAFF_LIU).text
    await driver.text(STAFF_LIU, "/broadcast approve 999")
    assert "没有找到" in driver.last(STAFF_LIU).text
    async with uow_factory() as uow:
        assert await uow.broadcasts.recent() == []


async def test_pause_holds_and_cancel_drops_undelivered(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    await _library(uow_factory)
    await driver.text(STAFF_LIU, "/broadcast new anti_fraud_police")
    await driver.press_button(STAFF_LIU, "批准发送")
    await driver.text(STAFF_LIU, "/broadcast pause 1")
    assert await plan_due(uow_factory, clock) == 0
    await driver.text(STAFF_LIU, "/broadcast resume 1")
    assert await plan_due(uow_factory, clock) == 1
    assert len(_deliveries(uow_factory)) == 2
    await driver.text(STAFF_LIU, "/broadcast cancel 1")
    assert "2 条尚未发出" in driver.last(STAFF_LIU).text
    assert {d["status"] for d in _deliveries(uow_factory)} == {"cancelled"}


async def test_audiences_resolve_compounds_buildings_grids_roles(uow_factory: FakeUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        chats = uow.broadcasts.audience_chats
        assert await chats(await parse_audience(uow, "全体")) == [RESIDENT_ZHANG, RESIDENT_CHEN]
        assert await chats(await parse_audience(uow, "兴泰小区5号楼")) == [RESIDENT_ZHANG]
        assert await chats(await parse_audience(uow, "森源华府")) == [RESIDENT_CHEN]
        assert await chats(await parse_audience(uow, "第一网格")) == [RESIDENT_ZHANG]
        assert await chats(await parse_audience(uow, "兴泰小区、森源华府")) == [RESIDENT_ZHANG, RESIDENT_CHEN]
        staff = await chats(await parse_audience(uow, "社区工作人员"))
        assert staff == sorted(p.chat_id for p in await uow.community.people(Role.STAFF))
        ledger = await parse_audience(uow, "台账:独居老人")
        assert ledger == Audience(AudienceKind.LEDGER, ("elderly_alone",), "台账：独居老人")


async def test_opt_out_is_respected_but_an_alert_reaches_everyone(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    await _library(uow_factory)
    await driver.text(RESIDENT_ZHANG, "/subscriptions")
    await driver.press_button(RESIDENT_ZHANG, "✅ 反诈提醒")
    assert "🔕 反诈提醒" in str(driver.last(RESIDENT_ZHANG).reply.buttons)  # redrawn in place
    await driver.text(STAFF_LIU, "/broadcast new anti_fraud_police")
    assert "1 人关闭了这类推送" in driver.last(STAFF_LIU).text
    await driver.press_button(STAFF_LIU, "批准发送")
    await plan_due(uow_factory, clock)
    assert [d["chat_id"] for d in _deliveries(uow_factory)] == [RESIDENT_CHEN]

    await driver.text(STAFF_LIU, "/alert 兴泰小区 停水通知：明天8点到12点停水，请提前储水。")
    assert "共 1 人" in driver.last(STAFF_LIU).text
    await driver.press_button(STAFF_LIU, "确认立即发送")
    alert = [d for d in _deliveries(uow_factory) if d["priority"] == 100]
    assert [d["chat_id"] for d in alert] == [RESIDENT_ZHANG]  # opted out of campaigns, still alerted


async def test_summary_goes_to_staff_when_a_run_finishes(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    await _library(uow_factory)
    await driver.text(STAFF_LIU, "/broadcast new anti_fraud_police")
    await driver.press_button(STAFF_LIU, "批准发送")
    await plan_due(uow_factory, clock)
    assert await notify_finished(uow_factory) == 0  # still sending
    for d in _deliveries(uow_factory):
        d["status"] = "sent"
    assert await notify_finished(uow_factory) == 1
    assert await notify_finished(uow_factory) == 0  # told once
    summary = uow_factory.store.outbox[-1]
    assert summary.chat_id == STAFF_LIU
    assert "送达 2" in summary.text
