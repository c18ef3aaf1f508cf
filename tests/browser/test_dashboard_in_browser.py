"""统计 in Chromium at 360 px: the dashboard's SVG charts fit a phone, a bar opens the orders behind it, and
考核 and a grid leader's view stay within the screen (wide tables scroll inside their card)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.browser.conftest import ROOT, Served

PHONE_WIDTH = {"width": 360, "height": 780}


def _login(page: Any, served: Served, name: str) -> None:
    page.goto(served.login_link(name))
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/orders")


def _roll_up(served: Served) -> None:
    """What the scheduler's tick does every few minutes (`gridbot web` alone does not run it)."""
    subprocess.run(
        [sys.executable, "-m", "bot.cli", "report", "rollup"],
        env=served.env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


def test_the_dashboard_on_a_phone(chromium: Any, served: Served, tmp_path: Path) -> None:
    _roll_up(served)
    context = chromium.new_context(viewport=PHONE_WIDTH, locale="zh-CN")
    page = context.new_page()
    _login(page, served, "陈主任")
    page.get_by_role("link", name="统计").click()
    page.wait_for_url("**/dashboard")
    page.screenshot(path=tmp_path / "dashboard-360.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.locator("svg.chart").count() == 2
    chart_width = page.locator("#categories svg.chart").bounding_box()["width"]
    assert 250 <= chart_width <= 340  # scaled to the card, not cut off
    assert page.locator("#categories svg.chart").get_attribute("viewBox").startswith("0 0 400 ")

    bar = page.locator("#categories svg a").first
    title = bar.locator("title").text_content() or ""
    count = int(re.search(r"(\d+) 张", title)[1])  # type: ignore[index]
    bar.click()
    page.wait_for_url("**/orders?category=*")
    assert page.locator(".order-line").count() == count

    page.goto(served.url + "/dashboard/assessment")
    page.screenshot(path=tmp_path / "assessment-360.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.locator("#members tbody tr").count() > 0
    page.get_by_label("权重（响应率,解决率,满意率）").fill("100,0,0")
    page.get_by_role("button", name="重新计算").click()
    page.wait_for_url("**w=100*")
    assert page.locator("input[name=w]").input_value() == "100,0,0"

    _login(page, served, "王建国")
    page.goto(served.url + "/dashboard")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.locator("#crossed").count() == 0  # a grid leader: their grid, no community table
    links = page.locator("a[href^='/orders?']").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert links
    assert all("grid=" in href for href in links)
    context.close()
