"""统计 on the desk: the dashboard, 考核 and the downloads, on the seeded history rolled up into day rows.

Every figure is a link to the orders behind it: the tests follow the links and count what the list shows.
"""

from __future__ import annotations

import re
from html import unescape

import pytest

from handlers.statistics.rollup import roll_up
from tests.web.conftest import Desk

ALL_ORDERS = 14
GRID_1_ORDERS = 4  # 王建国's grid (兴泰小区, 太平洋): tests/web/test_scope.py


@pytest.fixture
async def rolled(desk: Desk) -> Desk:
    await roll_up(desk.uow_factory, desk.clock, max_days=None)
    return desk


def _cells(html: str) -> list[tuple[str, int]]:
    """(link, number) of every linked number in the compound x category table."""
    table = html.split('id="crossed"', 1)[1].split("</section>", 1)[0]
    return [(unescape(h), int(n)) for h, n in re.findall(r'<a href="([^"]+)">(\d+)</a>', table)]


async def _listed(desk: Desk, href: str) -> int:
    page = await desk.client.get(href)
    assert page.status_code == 200
    return page.text.count('class="order-line"')


async def _grid_id(desk: Desk, name_part: str) -> int:
    async with desk.uow_factory() as uow:
        people = {p.name: p for p in await uow.community.people()}
    grid_id = people[name_part].grid_id
    assert grid_id is not None
    return grid_id


async def test_every_crossed_cell_and_category_bar_opens_exactly_its_orders(rolled: Desk) -> None:
    await rolled.login("陈主任")
    page = await rolled.client.get("/dashboard", params={"days": 365})
    assert page.status_code == 200
    html = page.text
    assert html.count("<svg") == 2
    assert "<script" not in html
    cells = _cells(html)
    assert sum(n for _, n in cells) == ALL_ORDERS  # every order of the year is in one cell
    for href, number in cells:
        assert "compound=" in href or "category=" in href
        assert await _listed(rolled, href) == number, href
    bars = re.findall(r'<a href="(/orders\?category=[^"]+)"><rect[^>]*><title>[^<]* (\d+) 张</title>', html)
    assert bars
    assert sum(int(n) for _, n in bars) == ALL_ORDERS
    for href, number in bars:
        assert await _listed(rolled, unescape(href)) == int(number)
    tile = re.search(r'class="tile" href="([^"]+)"><b>(\d+)</b><span>新增', html)
    assert tile is not None
    assert await _listed(rolled, unescape(tile[1])) == int(tile[2]) == ALL_ORDERS
    assert 'id="grid-ranking"' in html
    assert 'id="member-ranking"' in html


async def test_the_trend_dots_link_each_period_and_add_up(rolled: Desk) -> None:
    await rolled.login("陈主任")
    html = (await rolled.client.get("/dashboard", params={"days": 30})).text
    trend = html.split('id="trend"', 1)[1].split("</section>", 1)[0]
    dots = re.findall(r'<a href="([^"]+)"><circle[^>]*><title>\S+ 新增 (\d+)</title>', trend)
    assert len(dots) == 30  # one per day, empty days included
    assert sum(int(n) for _, n in dots) == ALL_ORDERS  # the seeded history is within the month
    busy = [(unescape(h), int(n)) for h, n in dots if int(n)]
    for href, number in busy[:3]:
        assert await _listed(rolled, href) == number


async def test_a_grid_leader_sees_their_grid_only(rolled: Desk) -> None:
    await rolled.login("王建国")
    own = await _grid_id(rolled, "王建国")
    other = await _grid_id(rolled, "钱芳")
    page = await rolled.client.get("/dashboard", params={"days": 365, "grid": other})  # typed in: ignored
    assert page.status_code == 200
    html = page.text
    assert 'id="crossed"' not in html
    assert 'id="grid-ranking"' not in html
    links = [unescape(h) for h in re.findall(r'href="(/orders\?[^"]+)"', html)]
    assert links
    assert all(f"grid={own}" in h for h in links)
    tile = re.search(r"<b>(\d+)</b><span>新增", html)
    assert tile is not None
    assert int(tile[1]) == GRID_1_ORDERS
    assert "钱芳" not in html  # a member of another grid is not ranked here
    for path in ("/dashboard", "/dashboard/assessment", "/dashboard/orders.csv"):
        await rolled.login("钱芳")  # a grid member, not a leader
        assert (await rolled.client.get(path)).status_code == 403


async def test_assessment_weights_change_the_score_and_show_the_raw_figures(rolled: Desk) -> None:
    await rolled.login("陈主任")
    page = await rolled.client.get("/dashboard/assessment", params={"days": 365, "w": "100,0,0"})
    assert page.status_code == 200
    members = page.text.split('id="members"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(
        r"<b>([\d.—]+)</b></td>\s*<td class=\"num\">(?:<a [^>]+>)?([\d.—]+)%?(?:</a>)?</td>"
        r"<td class=\"raw\">(\d+)/(\d+)</td>",
        members,
    )
    assert rows
    for score, _rate, on_time, judged in rows:
        if int(judged):  # only 响应率 weighs: the score is the raw ratio in percent
            assert float(score) == pytest.approx(round(100 * int(on_time) / int(judged), 1))
    default = (await rolled.client.get("/dashboard/assessment", params={"days": 365, "w": "x"})).text
    assert "已按默认权重计算" in default
    assert 'value="30,35,35"' in default


async def test_downloads_follow_the_filters_and_the_scope_and_are_audited(rolled: Desk) -> None:
    import csv
    import io

    import openpyxl

    await rolled.login("王建国")
    own = await _grid_id(rolled, "王建国")
    other = await _grid_id(rolled, "钱芳")
    response = await rolled.client.get("/dashboard/orders.csv", params={"days": 365, "grid": other})
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(lines) - 1 == GRID_1_ORDERS  # the leader's own grid, whatever was asked
    assert (await rolled.client.get("/dashboard/monthly.xlsx")).status_code == 403  # staff only

    await rolled.login("陈主任")
    response = await rolled.client.get("/dashboard/orders.xlsx", params={"days": 365, "category": "repair"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    listed = await _listed(rolled, "/orders?category=repair")
    assert len(rows) - 1 == listed
    assert listed > 0
    month = rolled.clock.now().strftime("%Y-%m")
    workbook = await rolled.client.get("/dashboard/monthly.xlsx", params={"month": month})
    assert workbook.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(workbook.content), read_only=True)
    assert book.sheetnames[0] == "汇总"
    assert "超期工单" in book.sheetnames
    audits = [(r.action, r.record) for r in await rolled.audit_rows() if r.action == "export"]
    assert audits == [("export", "orders:csv"), ("export", "orders:xlsx"), ("export", "report:monthly")]
    csv_row = next(r for r in await rolled.audit_rows() if r.record == "orders:csv")
    assert f"grid:{own}" in csv_row.fields


async def test_the_order_list_exports_what_it_shows(rolled: Desk) -> None:
    import csv
    import io

    await rolled.login("陈主任")
    page = await rolled.client.get("/orders", params={"category": "repair", "state": "open"})
    link = re.search(r'href="(/dashboard/orders\.csv\?[^"]+)"', page.text)
    assert link is not None
    exported = await rolled.client.get(unescape(link[1]))
    assert exported.status_code == 200
    lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    listed = page.text.count('class="order-line"')
    assert listed > 0
    assert len(lines) - 1 == listed
    await rolled.login("钱芳")  # a grid member: no statistics, no export link
    assert "/dashboard/orders.csv" not in (await rolled.client.get("/orders")).text


async def test_an_export_holds_what_a_searched_or_ticked_list_shows(rolled: Desk) -> None:
    import csv
    import io

    await rolled.login("陈主任")
    everything = (await rolled.client.get("/orders")).text
    summaries = re.findall(r'<span class="summary">([^<]+)</span>', everything)
    word = unescape(summaries[0])[:3]  # words of an order's text: some orders have them, not all
    narrowed = 0
    for params in (
        {"q": word},
        {"overdue": "1"},
        {"supervised": "1"},
        {"green": "1"},
        {"q": word, "state": "open"},
    ):
        page = await rolled.client.get("/orders", params=params)
        listed = page.text.count('class="order-line"')
        link = re.search(r'href="(/dashboard/orders\.csv\?[^"]+)"', page.text)
        assert link is not None
        exported = await rolled.client.get(unescape(link[1]))
        lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert len(lines) - 1 == listed, params
        narrowed += 0 < listed < ALL_ORDERS
    assert narrowed >= 2  # the filters really narrowed what both show
    audits = [r for r in await rolled.audit_rows() if r.record == "orders:csv"]
    assert "search" in audits[0].fields
    assert word not in " ".join(audits[0].fields)  # what was searched for is not recorded
