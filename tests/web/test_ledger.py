"""台账 on the desk: scoped by role, phone and room masked, full details only with a reason (audited)."""

from __future__ import annotations

import re

from tests.web.conftest import Desk

GRID_1 = {"王秀英", "张阿姨"}  # 兴泰小区: 第一网格
GRID_2 = {"刘建华"}  # 森源华府: 第二网格


async def _names(desk: Desk) -> set[str]:
    page = await desk.client.get("/ledger")
    assert page.status_code == 200, page.text
    return set(
        re.findall(r'<li class="card ledger-line" id="resident-\d+">\s*<strong>([^<]+)</strong>', page.text)
    )


async def _resident_id(desk: Desk, chat_id: int) -> int:
    async with desk.uow_factory() as uow:
        resident = await uow.residents.by_chat(chat_id)
    assert resident is not None
    assert resident.id is not None
    return resident.id


async def test_staff_see_the_whole_ledger_masked_with_consent_and_checkins(desk: Desk) -> None:
    await desk.login("陈主任")
    assert await _names(desk) == GRID_1 | GRID_2
    page = (await desk.client.get("/ledger")).text
    assert "138****1111" in page
    assert "13800001111" not in page
    assert "501" not in page  # 张阿姨's room
    for shown in ("书面同意", "待本人同意", "本人已同意", "已回复平安", "未回复，已提醒网格员"):
        assert shown in page
    views = [a for a in await desk.audit_rows() if a.record == "ledger"]
    assert views
    assert views[-1].action == "view"


async def test_full_details_need_a_reason_and_are_audited_with_it(desk: Desk) -> None:
    csrf = await desk.login("陈主任")
    wang = await _resident_id(desk, 9101)
    refused = await desk.client.post(f"/ledger/{wang}/reveal", data={"csrf": csrf, "reason": ""})
    assert refused.status_code == 422
    assert "13800001111" not in refused.text
    assert not [a for a in await desk.audit_rows() if a.action == "reveal"]
    shown = await desk.client.post(
        f"/ledger/{wang}/reveal", data={"csrf": csrf, "reason": "电话回访独居情况"}
    )
    assert shown.status_code == 200
    assert "13800001111" in shown.text
    assert "钥匙放在邻居家" in shown.text
    reveal = [a for a in await desk.audit_rows() if a.action == "reveal"][-1]
    assert reveal.record == f"resident:{wang}"
    assert reveal.reason == "电话回访独居情况"
    assert "13800001111" not in "".join(reveal.fields)


async def test_a_grid_leader_sees_only_their_grid_also_by_url(desk: Desk) -> None:
    csrf = await desk.login("王建国")
    assert await _names(desk) == GRID_1
    liu = await _resident_id(desk, 9102)
    other = await desk.client.post(f"/ledger/{liu}/reveal", data={"csrf": csrf, "reason": "想看看这个人"})
    assert other.status_code == 404
    assert "刘建华" not in other.text


async def test_a_grid_member_sees_only_their_grid(desk: Desk) -> None:
    await desk.login("钱芳")
    assert await _names(desk) == GRID_2
