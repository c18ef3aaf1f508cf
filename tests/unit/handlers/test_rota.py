"""Issue 15 item 3: the weekly duty rota is edited in chat by the grid leader (it was a static `duty:` string
in the community file) and routing follows it at once."""

from __future__ import annotations

from datetime import time

import pytest

from handlers import texts
from handlers.community.model import DutyHours
from handlers.community.rota import USAGE, parse_rota, rota_label
from tests.driver import LEADER_WANG, MEMBER_LI, MEMBER_ZHANG, RESIDENT_ZHANG, STAFF_LIU, ChatDriver
from tests.fakes import FakeUnitOfWorkFactory

LEADER_ZHAO = 2101  # 第二网格


def duty_of(uow_factory: FakeUnitOfWorkFactory, chat_id: int) -> DutyHours | None:
    return next(p.duty for p in uow_factory.store.people.values() if p.chat_id == chat_id)


@pytest.mark.parametrize(
    ("raw", "days", "hours"),
    [
        ("周一至周五 08:30-17:30", {0, 1, 2, 3, 4}, (time(8, 30), time(17, 30))),
        ("星期二到星期四 9:00～12:00", {1, 2, 3}, (time(9), time(12))),
        ("每天 08:00-20:00", set(range(7)), (time(8), time(20))),
        ("周一、周三，周六 09:00-12:00", {0, 2, 5}, (time(9), time(12))),
        ("mon-fri 08:30-17:30", {0, 1, 2, 3, 4}, (time(8, 30), time(17, 30))),
    ],
)
def test_the_rota_reads_as_people_write_it(raw: str, days: set[int], hours: tuple[time, time]) -> None:
    assert parse_rota(raw) == DutyHours(frozenset(days), *hours)


@pytest.mark.parametrize(
    "raw", ["周五至周一 08:00-17:00", "周一 17:00-08:00", "周八 08:00-09:00", "周一", "25:00"]
)
def test_nonsense_is_refused(raw: str) -> None:
    assert parse_rota(raw) is None


def test_labels() -> None:
    assert rota_label(parse_rota("周一至周五 08:30-17:30")) == "周一至周五 08:30-17:30"
    assert rota_label(parse_rota("周一,周三,周四 09:00-12:00")) == "周一、周三至周四 09:00-12:00"
    assert rota_label(parse_rota("每天 08:00-20:00")) == "每天 08:00-20:00"
    assert rota_label(None) == "全天"


async def test_the_grid_leader_changes_the_rota_and_routing_follows(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(LEADER_WANG, "/rota")
    shown = driver.last(LEADER_WANG).text
    assert "网格员 李娜：全天" in shown
    assert "网格员 张伟：周一至周六 08:00-20:00" in shown  # the community file's duty:
    # Monday 09:00: 李娜 is off duty from now on, so the report goes to 张伟.
    await driver.text(LEADER_WANG, "/rota 李娜 周二至周五 09:00-17:00")
    assert duty_of(uow_factory, MEMBER_LI) == parse_rota("周二至周五 09:00-17:00")
    assert driver.last(LEADER_WANG).text == "已更新 网格员 李娜 的值班时间：周二至周五 09:00-17:00。"
    assert "网格长 王建国 调整了您的值班时间：周二至周五 09:00-17:00" in driver.last(MEMBER_LI).text
    await driver.text(RESIDENT_ZHANG, "兴泰5号楼2单元楼道灯坏了")
    (order,) = uow_factory.store.orders.values()
    zhang = next(p for p in uow_factory.store.people.values() if p.chat_id == MEMBER_ZHANG)
    assert order.assignee_id == zhang.id
    await driver.text(LEADER_WANG, "/rota 李娜 全天")
    assert duty_of(uow_factory, MEMBER_LI) is None


async def test_members_read_it_other_grids_leaders_cannot_touch_it_staff_can(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(MEMBER_LI, "/rota")
    assert "网格员 张伟" in driver.last(MEMBER_LI).text
    assert USAGE not in driver.last(MEMBER_LI).text
    await driver.text(MEMBER_LI, "/rota 张伟 全天")
    assert driver.last(MEMBER_LI).text == texts.NOT_ALLOWED
    await driver.text(LEADER_ZHAO, "/rota 张伟 全天")
    assert "没有“张伟”" in driver.last(LEADER_ZHAO).text
    await driver.text(RESIDENT_ZHANG, "/rota")
    assert driver.last(RESIDENT_ZHANG).text == texts.NOT_ALLOWED
    assert duty_of(uow_factory, MEMBER_ZHANG) is not None
    await driver.text(STAFF_LIU, "/rota 张伟 周一至周三 8:00-12:00")
    assert duty_of(uow_factory, MEMBER_ZHANG) == parse_rota("周一至周三 08:00-12:00")
    await driver.text(LEADER_WANG, "/rota 张伟 有空就来")
    assert driver.last(LEADER_WANG).text == USAGE
