"""The order list (filters, search, keyset pages), the order page, actions through the chat's use cases."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from storage.models import OrderEventRow, PersonRow, WorkOrderRow
from tests.web.conftest import Desk
from web import orders


def _numbers(html: str) -> list[str]:
    return re.findall(r'<span class="number">(GD[\d-]+)</span>', html)


async def test_filters(desk: Desk) -> None:
    await desk.login("陈主任")
    closed = await desk.client.get("/orders", params={"state": "closed"})
    assert len(_numbers(closed.text)) == 3  # 楼道灯, 垃圾桶, 电梯
    supervised = await desk.client.get("/orders", params={"supervised": "1"})
    assert len(_numbers(supervised.text)) == 1
    assert "装修" in supervised.text
    fraud = await desk.client.get("/orders", params={"category": "fraud"})
    assert "冒充" in fraud.text
    assert len(_numbers(fraud.text)) == 1
    open_ones = await desk.client.get("/orders", params={"state": "open"})
    assert len(_numbers(open_ones.text)) == 11
    desk.clock.advance(days=30)  # a month on, every open order is past its due time
    await desk.login("陈主任")  # (the session went idle meanwhile)
    overdue = await desk.client.get("/orders", params={"overdue": "1"})
    assert len(_numbers(overdue.text)) == 10  # open, but not the resolved one waiting for its rating


async def test_search_by_number_phone_name_and_words(desk: Desk) -> None:
    await desk.login("陈主任")
    async with desk.uow_factory() as uow:
        number = await uow.session.scalar(
            select(WorkOrderRow.number).where(WorkOrderRow.text.contains("下水道"))
        )
    assert number is not None
    for query in (number, number.lower(), "13800003333", "138 0000 3333", "陈桂兰", "下水道"):
        page = await desk.client.get("/orders", params={"q": query})
        assert _numbers(page.text) == [number], query
    searches = [r for r in await desk.audit_rows() if r.action == "search"]
    assert len(searches) == 6
    for row in searches:  # the kind of search, never what was searched for
        assert row.record == "orders"
        assert "13800003333" not in repr(row.fields)
        assert "陈桂兰" not in repr(row.fields)


async def test_keyset_pages_walk_every_order_once(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orders, "PAGE", 4)
    await desk.login("陈主任")
    seen: list[str] = []
    url = "/orders?state=open"
    for _ in range(10):
        page = await desk.client.get(url)
        seen += _numbers(page.text)
        found = re.search(r'href="(/orders\?[^"]*before=\d+)"', page.text)
        if found is None:
            break
        url = found[1].replace("&amp;", "&")
        assert "state=open" in url  # the filters travel with the page
    assert len(seen) == len(set(seen)) == 11
    assert seen == sorted(seen, reverse=True)


async def test_the_order_page_shows_the_whole_history_and_is_audited(desk: Desk) -> None:
    await desk.login("陈主任")
    order_id = await desk.order_id("下水道")
    page = await desk.client.get(f"/orders/{order_id}")
    assert page.status_code == 200
    for step in ("居民反映", "派单", "接单", "办结", "评价", "不满意", "重新处理"):
        assert step in page.text, step
    assert "138****3333" in page.text  # masked by default
    assert "13800003333" not in page.text
    views = [r for r in await desk.audit_rows() if r.record == f"order:{order_id}"]
    assert [r.action for r in views] == ["view"]
    assert "resident.name" in views[0].fields
    assert all("陈桂兰" not in repr(v.fields) and "下水道" not in repr(v.fields) for v in views)


async def test_revealing_the_phone_is_audited_separately(desk: Desk) -> None:
    csrf = await desk.login("陈主任")
    order_id = await desk.order_id("下水道")
    page = await desk.client.post(f"/orders/{order_id}/reveal", data={"csrf": csrf})
    assert "13800003333" in page.text
    assert [r.action for r in await desk.audit_rows() if r.record == f"order:{order_id}"] == ["reveal"]


async def _person(desk: Desk, name: str) -> tuple[int, int]:
    async with desk.uow_factory() as uow:
        row = await uow.session.scalar(select(PersonRow).where(PersonRow.name == name))
    assert row is not None
    return row.id, row.chat_id


async def test_supervise_reaches_the_assignee_and_grid_leader_in_chat(desk: Desk) -> None:
    csrf = await desk.login("陈主任")
    order_id = await desk.order_id("电动车乱停")  # 太平洋: 第一网格, accepted by 李娜
    before = await desk.outbox_to(1002)
    response = await desk.client.post(f"/orders/{order_id}/supervise", data={"csrf": csrf})
    assert response.status_code == 303
    assert any("督办" in t for t in await desk.outbox_to(2002))  # 李娜
    assert any("督办" in t for t in await desk.outbox_to(2001))  # 王建国, the grid leader
    # The desk's own answer is a notice on the page, not a chat message to the staff member.
    assert await desk.outbox_to(1002) == before
    follow = await desk.client.get(response.headers["location"])
    assert "已督办" in follow.text or "督办" in follow.text
    changes = [r for r in await desk.audit_rows() if r.action == "change"]
    assert [(r.record, r.fields) for r in changes] == [(f"order:{order_id}", ["supervise:supervised"])]


async def test_transfer_reaches_the_new_member_and_the_resident(desk: Desk) -> None:
    csrf = await desk.login("陈主任")
    order_id = await desk.order_id("电动车乱停")
    zhang_id, zhang_chat = await _person(desk, "张伟")
    response = await desk.client.post(
        f"/orders/{order_id}/assign", data={"csrf": csrf, "person_id": zhang_id}
    )
    assert response.status_code == 303
    assert any("转派" in t for t in await desk.outbox_to(zhang_chat))
    assert any("张伟" in t for t in await desk.outbox_to(9105))  # 孙丽, who reported it
    page = await desk.client.get(f"/orders/{order_id}")
    assert "转派" in page.text


async def test_reply_note_and_category_change(desk: Desk) -> None:
    csrf = await desk.login("王建国")  # the grid leader: may handle their grid's orders, as in chat
    order_id = await desk.order_id("养狗不拴绳")
    await desk.client.post(
        f"/orders/{order_id}/reply", data={"csrf": csrf, "text": "我们已经联系了养狗的住户。"}
    )
    assert any("联系了养狗的住户" in t for t in await desk.outbox_to(9113))
    await desk.client.post(f"/orders/{order_id}/note", data={"csrf": csrf, "text": "住户是 3 单元的"})
    assert not any("3 单元" in t for t in await desk.outbox_to(9113))  # internal: never to the resident
    await desk.client.post(f"/orders/{order_id}/category", data={"csrf": csrf, "category": "order_dispute"})
    await desk.client.post(f"/orders/{order_id}/category", data={"csrf": csrf, "category": "safety_hazard"})
    async with desk.uow_factory() as uow:
        kinds = list(
            await uow.session.scalars(
                select(OrderEventRow.note).where(
                    OrderEventRow.order_id == order_id, OrderEventRow.kind == "recategorised"
                )
            )
        )
        row = await uow.session.get(WorkOrderRow, order_id)
    assert kinds == ["order_dispute->safety_hazard"]  # the first was no change: nothing recorded
    assert row is not None
    assert (row.category, row.priority) == ("safety_hazard", "high")
    page = await desk.client.get(f"/orders/{order_id}")
    assert "内部备注" in page.text
    assert "住户是 3 单元的" in page.text


async def test_a_member_cannot_supervise_and_nothing_changes(desk: Desk) -> None:
    csrf = await desk.login("李娜")
    order_id = await desk.order_id("电动车乱停")
    response = await desk.client.post(f"/orders/{order_id}/supervise", data={"csrf": csrf})
    follow = await desk.client.get(response.headers["location"])
    assert "没有权限" in follow.text
    assert not any("督办" in t for t in await desk.outbox_to(2001))
    assert [r for r in await desk.audit_rows() if r.action == "change"] == []


async def test_staff_close_a_resolved_order_the_resident_did_not_rate(desk: Desk) -> None:
    csrf = await desk.login("陈主任")
    order_id = await desk.order_id("高龄补贴")
    await desk.client.post(f"/orders/{order_id}/close", data={"csrf": csrf, "note": "电话回访已解决"})
    async with desk.uow_factory() as uow:
        row = await uow.session.get(WorkOrderRow, order_id)
    assert row is not None
    assert row.state == "closed"
    assert any("已由社区办结" in t for t in await desk.outbox_to(9108))
