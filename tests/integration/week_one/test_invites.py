"""Issue 15 on SQLite and PostgreSQL: people listed without a chat id join through invite links (migration
0012), and the order queries the week-one commands need (followers' /my, /history, /orders pages)."""

from __future__ import annotations

from sqlalchemy import select

from bot.imports.community_file import parse_community
from handlers.community import texts as community_texts
from handlers.community.invites import code_hash, issue
from handlers.community.model import Role
from handlers.community.settings import CommunitySpec
from handlers.workorders import texts as order_texts
from storage.migrate import downgrade, upgrade
from storage.models import PersonRow
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import (
    EXAMPLE_COMMUNITY,
    MEMBER_LI,
    MEMBER_ZHANG,
    NEWCOMER,
    RESIDENT_ZHANG,
    STAFF_LIU,
    ChatDriver,
)
from tests.fakes import FakeClock
from tests.integration.conftest import Database

NEW_CHAT = 8801


def with_sun_min(grid_member: bool = False) -> CommunitySpec:
    """The example community, where 孙敏 is listed without a chat id (not joined yet); with `grid_member`,
    she is a grid member of 第一网格 instead of a volunteer of 第三网格."""
    text = EXAMPLE_COMMUNITY.read_text(encoding="utf-8")
    if grid_member:
        line = "{name: 孙敏, roles: [volunteer], grid: 第三网格}"
        assert line in text
        text = text.replace(line, "{name: 孙敏, roles: [grid_member], grid: 第一网格}")
    spec = parse_community(text)  # the file accepts a person without chat_id
    (sun,) = [p for p in spec.people if p.name == "孙敏"]
    assert sun.chat_id is None
    assert sun.roles == {Role.GRID_MEMBER if grid_member else Role.VOLUNTEER}
    return spec


async def test_a_person_without_a_chat_id_is_stored_routed_nothing_and_joins_by_invite(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, driver: ChatDriver
) -> None:
    spec = with_sun_min(grid_member=True)
    async with uow_factory() as uow:
        await uow.community.apply(spec, clock.now())
        await uow.commit()
    for chat in (MEMBER_LI, MEMBER_ZHANG):  # everyone else of 第一网格 is away: 孙敏 must not get it
        await driver.text(chat, "/leave")
    await driver.text(RESIDENT_ZHANG, "兴泰5号楼楼道灯坏了")
    async with uow_factory() as uow:
        (order,) = await uow.orders.open_orders()
        leader = await uow.community.person_by_chat(2001)
        assert leader is not None
        assert order.assignee_id == leader.id
        invitee = await uow.community.invitee("孙敏")
        assert invitee is not None
        assert not invitee.joined
        assert await uow.community.person(invitee.person_id) is None
        issued = await issue(uow.community, "孙敏", clock.now())
        await uow.commit()
    await driver.text(NEW_CHAT, f"/start {issued.code}")
    assert "欢迎您，网格员 孙敏" in driver.last(NEW_CHAT).text
    assert "孙敏 已通过邀请链接加入" in driver.last(STAFF_LIU).text
    await driver.text(NEW_CHAT + 1, f"/start {issued.code}")
    assert driver.last(NEW_CHAT + 1).text == community_texts.INVITE_USED
    async with uow_factory() as uow:  # a new import of the same file keeps the chat the invite bound
        await uow.community.apply(spec, clock.now())
        await uow.commit()
    async with uow_factory() as uow:
        joined = await uow.community.person_by_chat(NEW_CHAT)
        assert joined is not None
        assert joined.name == "孙敏"
        assert joined.id == invitee.person_id


async def test_an_invite_is_used_once_even_when_two_chats_race(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    async with uow_factory() as uow:
        issued = await issue(uow.community, "李娜", clock.now())
        await uow.commit()
    async with uow_factory() as first, uow_factory() as second:
        assert await first.community.use_invite(code_hash(issued.code), clock.now())
        await first.commit()
        assert not await second.community.use_invite(code_hash(issued.code), clock.now())


async def test_migration_0012_goes_down_and_up_with_people_not_joined(
    database: Database, uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    async with uow_factory() as uow:
        await uow.community.apply(with_sun_min(), clock.now())
        await uow.commit()
    # SQLite copies `people` to change the column, which grids and orders point at: a populated database
    # migrates both ways. 孙敏 had no chat id, which the old schema cannot keep.
    await downgrade(database.engine, "0011")
    assert (await upgrade(database.engine))[0] == "0012"  # then whatever came after it
    if database.kind == "sqlite":
        async with database.engine.connect() as connection:  # enforcement is back on afterwards
            assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    async with uow_factory() as uow:
        names = set(await uow.session.scalars(select(PersonRow.name)))
        assert "孙敏" not in names
        assert "李娜" in names


async def test_followers_my_history_and_order_pages_on_sql(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, driver: ChatDriver
) -> None:
    await driver.text(RESIDENT_ZHANG, "兴泰5号楼楼道灯坏了")
    await driver.text(NEWCOMER, "兴泰5号楼的灯也坏了", name="小王")
    await driver.press_button(NEWCOMER, "同意")
    await driver.press_button(NEWCOMER, order_texts.BTN_JOIN)
    await driver.text(NEWCOMER, "/my")
    async with uow_factory() as uow:
        (order,) = await uow.orders.open_orders()
    assert order.number in driver.last(NEWCOMER).text  # followed_by: the JSON list of followers
    await driver.text(NEWCOMER, f"/history {order.number}")
    assert "又有居民反映同样问题（您）" in driver.last(NEWCOMER).text
    await driver.text(RESIDENT_ZHANG, "兴泰6号楼楼上漏水了")
    await driver.text(RESIDENT_ZHANG, "兴泰7号楼门口垃圾没人收")
    async with uow_factory() as uow:
        everything = await uow.orders.open_orders()
        assert len(everything) == 3
        first = await uow.orders.open_orders(limit=2)
        rest = await uow.orders.open_orders(limit=2, after=first[-1].id or 0)
        assert [o.id for o in first + rest] == [o.id for o in everything]  # keyset pages, nothing lost
        li = await uow.community.person_by_chat(MEMBER_LI)
        assert li is not None
        mine = await uow.orders.open_orders(assignee_id=li.id)
        assert mine
        assert all(o.assignee_id == li.id for o in mine)
        found = await uow.orders.by_number(order.number)
        assert found is not None
        assert found.id == order.id
        assert await uow.orders.followed_by(order.resident_id) == []  # the reporter follows nothing
