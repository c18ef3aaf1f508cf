"""A staff member and a grid leader use the desk in Chromium: log in by link, filter and search, act on an
order and see it reach the chat side (the outbox), record a 代录 report; another grid's leader cannot open it.
The management pages (人员与网格, 台账, 广播) are used at phone width and their screenshots kept."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from tests.browser.conftest import Served

PHONE_WIDTH = {"width": 360, "height": 780}


def _outbox(db: Path, chat_id: int) -> list[str]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT payload FROM outbox WHERE chat_id = ?", (chat_id,)).fetchall()
    return [str(json.loads(payload)["text"]) for (payload,) in rows]


def _login(page: Any, served: Served, name: str) -> None:
    page.goto(served.login_link(name))
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/orders")


def test_staff_find_act_and_record(chromium: Any, served: Served, tmp_path: Path) -> None:
    context = chromium.new_context(viewport=PHONE_WIDTH, locale="zh-CN")
    page = context.new_page()
    _login(page, served, "陈主任")
    assert page.get_by_role("heading", name="工单").is_visible()
    page.screenshot(path=tmp_path / "orders-360.png", full_page=True)
    # No horizontal scrolling at 360 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.select_option("select[name=state]", "closed")
    page.get_by_role("button", name="筛选").click()
    assert page.locator(".order-line").count() == 3
    page.fill("input[name=q]", "13800005555")  # 孙丽's phone
    page.select_option("select[name=state]", "")
    page.get_by_role("button", name="筛选").click()
    assert page.locator(".order-line").count() == 1
    page.locator(".order-line a").first.click()
    assert "电动车" in page.locator(".text").inner_text()
    assert "138****5555" in page.content()
    page.screenshot(path=tmp_path / "order-360.png", full_page=True)

    before = len(_outbox(served.db, 2002))  # 李娜, who handles it
    page.get_by_role("button", name="督办").click()
    assert page.locator(".notice").first.is_visible()
    assert len(_outbox(served.db, 2002)) == before + 1
    assert "督办" in _outbox(served.db, 2002)[-1]
    assert "督办" in page.locator(".timeline").inner_text()

    page.goto(served.url + "/record")
    page.fill("input[name=name]", "王大爷")
    page.fill("input[name=phone]", "13900001234")
    page.fill("input[name=address]", "滨河花园3号楼")
    page.fill("textarea[name=text]", "3号楼下水管漏水，地下室都是水")
    page.get_by_role("button", name="登记并派单").click()
    number = page.locator("#recorded-number").inner_text()
    assert number.startswith("GD")
    page.screenshot(path=tmp_path / "recorded-360.png", full_page=True)
    page.locator("#recorded-number").click()
    assert "代录" in page.content()
    context.close()

    desktop = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    wide = desktop.new_page()
    _login(wide, served, "陈主任")
    wide.screenshot(path=tmp_path / "orders-desktop.png", full_page=True)
    wide.goto(served.url + "/audit")
    assert "查看" in wide.content()
    wide.screenshot(path=tmp_path / "audit-desktop.png", full_page=True)
    desktop.close()

    # 滨河花园 is 第二网格's: 第一网格's leader finds nothing, even by typing the order's address.
    other = chromium.new_context(viewport=PHONE_WIDTH, locale="zh-CN")
    leader = other.new_page()
    _login(leader, served, "王建国")
    leader.fill("input[name=q]", number)
    leader.get_by_role("button", name="筛选").click()
    assert leader.locator(".order-line").count() == 0
    with sqlite3.connect(served.db) as connection:
        (order_id,) = connection.execute("SELECT id FROM work_orders WHERE number = ?", (number,)).fetchone()
    response = leader.goto(f"{served.url}/orders/{order_id}")
    assert response is not None
    assert response.status == 404
    assert "找不到这张工单" in leader.content()
    assert "下水管" not in leader.content()
    leader.screenshot(path=tmp_path / "not-found-leader.png", full_page=True)
    other.close()
    print(f"screenshots: {tmp_path}")  # noqa: T201  (where to look)


def _fits_a_phone(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH["width"]


def test_people_ledger_and_broadcasts_at_phone_width(chromium: Any, served: Served, tmp_path: Path) -> None:
    context = chromium.new_context(viewport=PHONE_WIDTH, locale="zh-CN")
    page = context.new_page()
    _login(page, served, "陈主任")

    page.get_by_role("link", name="人员", exact=True).click()
    assert page.get_by_role("heading", name="人员与网格").is_visible()
    _fits_a_phone(page)
    page.screenshot(path=tmp_path / "people-360.png", full_page=True)
    page.goto(served.url + "/people/person?name=" + "张伟")
    page.fill("input[name=duty]", "mon-fri 09:00-18:00")
    page.screenshot(path=tmp_path / "person-form-360.png", full_page=True)
    page.get_by_role("button", name="保存").click()
    assert "已保存：张伟" in page.locator(".notice").first.inner_text()
    assert "周一至周五 09:00-18:00" in page.content()

    page.get_by_role("link", name="台账", exact=True).click()
    _fits_a_phone(page)
    assert "138****1111" in page.content()
    assert "13800001111" not in page.content()
    page.screenshot(path=tmp_path / "ledger-360.png", full_page=True)
    wang = page.locator(".ledger-line", has_text="王秀英")
    wang.locator("input[name=reason]").fill("电话回访独居老人")
    wang.get_by_role("button", name="显示完整信息").click()
    assert "13800001111" in page.content()

    page.get_by_role("link", name="广播", exact=True).click()
    page.get_by_role("link", name="＋ 新建广播").click()
    page.fill("input[name=audience]", "兴泰小区")
    page.get_by_role("button", name="只预览发送对象").click()
    assert int(page.locator("#recipients").inner_text()) >= 1
    page.fill("textarea[name=text]", "冬季用电注意安全，不要私拉电线。")
    _fits_a_phone(page)
    page.screenshot(path=tmp_path / "broadcast-new-360.png", full_page=True)
    page.get_by_role("button", name="保存草稿并预览").click()
    assert page.locator("#broadcast-status").inner_text() == "草稿待审批"
    page.get_by_role("button", name="批准发送").click()
    assert page.locator("#broadcast-status").inner_text() == "已批准"
    _fits_a_phone(page)
    page.screenshot(path=tmp_path / "broadcast-360.png", full_page=True)
    page.get_by_role("link", name="← 广播").click()
    page.screenshot(path=tmp_path / "broadcasts-360.png", full_page=True)
    context.close()

    # 第一网格's leader: the people of their grid, read only; the ledger of their grid; no broadcasts.
    other = chromium.new_context(viewport=PHONE_WIDTH, locale="zh-CN")
    leader = other.new_page()
    _login(leader, served, "王建国")
    leader.get_by_role("link", name="人员", exact=True).click()
    assert "钱芳" not in leader.content()
    assert leader.get_by_role("link", name="编辑").count() == 0
    leader.get_by_role("link", name="台账", exact=True).click()
    assert "王秀英" in leader.content()
    assert "刘建华" not in leader.content()
    leader.screenshot(path=tmp_path / "ledger-leader-360.png", full_page=True)
    response = leader.goto(served.url + "/broadcasts")
    assert response is not None
    assert response.status == 403
    other.close()
    print(f"screenshots: {tmp_path}")  # noqa: T201  (where to look)
