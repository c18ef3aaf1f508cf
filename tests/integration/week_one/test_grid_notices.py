"""Issue 15 item 8 on SQLite and PostgreSQL: a grid notice approved by two people at once is planned once."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from handlers.broadcasts import texts as bt
from handlers.messages import Incoming
from storage.models import BroadcastDeliveryRow, BroadcastRunRow
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import LEADER_WANG, MEMBER_LI, RESIDENT_ZHANG, STAFF_LIU, ChatDriver


async def test_two_approvals_at_once_plan_one_run(
    uow_factory: SqlUnitOfWorkFactory, driver: ChatDriver
) -> None:
    await driver.text(MEMBER_LI, "/notice 停水通知：明天上午9点到11点停水，请提前储水。")
    data = driver.last(LEADER_WANG).button(bt.BTN_NOTICE_APPROVE).data
    presses = [
        Incoming(chat_id=chat, sender_id=chat, callback_data=data, dedupe_key=f"cb:approve-{chat}")
        for chat in (LEADER_WANG, STAFF_LIU)
    ]
    outcomes = await asyncio.gather(*(driver.core.handle(p) for p in presses))
    answers = sorted(o.callback_answer or "" for o in outcomes)
    assert answers[0].startswith("已批准") or answers[1].startswith("已批准")
    assert bt.refused("bad_state") in answers
    async with uow_factory() as uow:
        runs = await uow.session.scalar(select(func.count()).select_from(BroadcastRunRow))
        chats = list(await uow.session.scalars(select(BroadcastDeliveryRow.chat_id)))
    assert runs == 1
    assert chats == [RESIDENT_ZHANG]
