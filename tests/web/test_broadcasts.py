"""广播 on the desk: audience preview, draft, approve, progress, through the chat's use cases; staff only."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from sqlalchemy import text

from handlers.broadcasts.planning import plan_due
from storage.models import BroadcastRow
from tests.web.conftest import Desk


async def _xingtai_chats(desk: Desk) -> set[int]:
    """Who a 兴泰小区 broadcast reaches, counted in SQL independently of the broadcast code."""
    async with desk.uow_factory() as uow:
        compound = await uow.community.compound_by_name("兴泰小区")
        assert compound is not None
        residents = await uow.session.execute(
            text(
                "SELECT r.chat_id FROM residents r JOIN buildings b ON b.id = r.building_id "
                "WHERE b.compound_id = :c AND r.consented_at IS NOT NULL"
            ),
            {"c": compound.id},
        )
        return {int(c) for (c,) in residents}


async def test_staff_preview_create_approve_and_watch_progress(desk: Desk) -> None:
    csrf = await desk.login("陈主任")
    expected = len(await _xingtai_chats(desk))
    assert expected >= 2
    query = urlencode({"audience": "兴泰小区", "topic": "fire_safety", "preview": "1"})
    previewed = await desk.client.get(f"/broadcasts/new?{query}")
    assert previewed.status_code == 200
    assert re.search(rf'id="recipients">{expected}<', previewed.text)
    async with desk.uow_factory() as uow:
        assert await uow.broadcasts.recent() == []  # a preview saves nothing

    form = {
        "csrf": csrf,
        "audience": "兴泰小区",
        "topic": "fire_safety",
        "text": "冬季用电注意安全，不要私拉电线。",
    }
    created = await desk.client.post("/broadcasts/new", data=form)
    assert created.status_code == 303, created.text
    page_url = created.headers["location"]
    page = await desk.client.get(page_url)
    assert "草稿待审批" in page.text
    assert re.search(rf'id="recipients">{expected}<', page.text)
    broadcast_id = int(page_url.rsplit("/", 1)[1])

    approved = await desk.client.post(f"{page_url}/approve", data={"csrf": csrf})
    assert approved.status_code == 303
    async with desk.uow_factory() as uow:
        row = await uow.session.get(BroadcastRow, broadcast_id)
        assert row is not None
        assert row.status == "approved"
    assert await plan_due(desk.uow_factory, desk.clock) == 1  # the chat process's tick plans the run
    progress = await desk.client.get(page_url)
    assert f"共 {expected} 人" in progress.text
    assert f"待发 {expected}" in progress.text
    changes = [a.fields for a in await desk.audit_rows() if a.record == f"broadcast:{broadcast_id}"]
    assert changes == [["broadcast.created"], ["broadcast.approve"]]


async def test_refusals_are_the_chats_own_words(desk: Desk) -> None:
    csrf = await desk.login("陈主任")
    empty = await desk.client.post("/broadcasts/new", data={"csrf": csrf, "audience": "全体"})
    assert empty.status_code == 422
    assert "广播内容是空的" in empty.text
    unknown = await desk.client.get("/broadcasts/new?" + urlencode({"audience": "火星小区", "preview": "1"}))
    assert "发送对象看不懂" in unknown.text


async def test_grid_leaders_and_members_have_no_broadcasts(desk: Desk) -> None:
    csrf = await desk.login("陈主任")
    created = await desk.client.post(
        "/broadcasts/new", data={"csrf": csrf, "audience": "全体", "text": "通知"}
    )
    page_url = created.headers["location"]
    for name in ("王建国", "钱芳"):
        csrf = await desk.login(name)
        assert (await desk.client.get("/broadcasts")).status_code == 403
        assert (await desk.client.post(f"{page_url}/approve", data={"csrf": csrf})).status_code == 403
    async with desk.uow_factory() as uow:
        row = await uow.session.get(BroadcastRow, int(page_url.rsplit("/", 1)[1]))
        assert row is not None
        assert row.status == "draft"
