"""Role scoping on the server, one test per role: every list, page and action sees only the viewer's grids."""

from __future__ import annotations

import re

from tests.web.conftest import Desk

GRID_1 = {"楼道灯坏了", "电动车乱停", "外墙瓷砖松动", "养狗不拴绳"}  # 兴泰小区, 太平洋
GRID_2 = {"垃圾桶满了", "装修每天早上", "门禁坏了"}  # 森源华府, 滨河花园
ALL_ORDERS = 14


async def _listed(desk: Desk) -> list[str]:
    page = await desk.client.get("/orders")
    assert page.status_code == 200
    return re.findall(r'<span class="summary">([^<]*)</span>', page.text)


def _covers(lines: list[str], phrases: set[str]) -> bool:
    return all(any(p in line for line in lines) for p in phrases)


async def test_staff_see_every_order_and_the_audit_log(desk: Desk) -> None:
    await desk.login("陈主任")
    lines = await _listed(desk)
    assert len(lines) == ALL_ORDERS
    assert (await desk.client.get("/audit")).status_code == 200


async def test_a_grid_leader_sees_only_their_grid(desk: Desk) -> None:
    csrf = await desk.login("王建国")
    lines = await _listed(desk)
    assert len(lines) == len(GRID_1)
    assert _covers(lines, GRID_1)
    other = await desk.order_id("垃圾桶满了")
    page = await desk.client.get(f"/orders/{other}")  # typed into the address bar
    assert page.status_code == 404
    assert "垃圾桶" not in page.text
    acted = await desk.client.post(f"/orders/{other}/note", data={"csrf": csrf, "text": "x"})
    assert acted.status_code == 404
    searched = await desk.client.get("/orders", params={"q": "垃圾桶"})
    assert "order-line" not in searched.text
    assert (await desk.client.get("/audit")).status_code == 403
    own = await desk.order_id("外墙瓷砖松动")
    assert (await desk.client.get(f"/orders/{own}")).status_code == 200


async def test_a_grid_member_sees_only_their_grid(desk: Desk) -> None:
    await desk.login("钱芳")
    lines = await _listed(desk)
    assert len(lines) == len(GRID_2)
    assert _covers(lines, GRID_2)
    assert (await desk.client.get(f"/orders/{await desk.order_id('楼道灯坏了')}")).status_code == 404
    assert (await desk.client.get("/audit")).status_code == 403


async def test_a_grid_filter_cannot_widen_the_scope(desk: Desk) -> None:
    await desk.login("钱芳")
    async with desk.uow_factory() as uow:
        first = next(g for g in await uow.community.grids() if g.name == "第一网格")
    page = await desk.client.get("/orders", params={"grid": first.id})
    assert "order-line" not in page.text
