"""Issue 15 item 3 on SQLite and PostgreSQL: the rota edited in chat is stored and read back by routing."""

from __future__ import annotations

from handlers.community.rota import parse_rota
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import LEADER_WANG, MEMBER_LI, ChatDriver


async def test_the_rota_is_stored(uow_factory: SqlUnitOfWorkFactory, driver: ChatDriver) -> None:
    await driver.text(LEADER_WANG, "/rota 李娜 周二至周五 09:00-17:00")
    async with uow_factory() as uow:
        li = await uow.community.person_by_chat(MEMBER_LI)
    assert li is not None
    assert li.duty == parse_rota("周二至周五 09:00-17:00")
    await driver.text(LEADER_WANG, "/rota 李娜 全天")
    async with uow_factory() as uow:
        li = await uow.community.person_by_chat(MEMBER_LI)
    assert li is not None
    assert li.duty is None
