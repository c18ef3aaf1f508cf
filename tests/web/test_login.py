"""Login by single-use link, sessions that end (logout, idle, role change), CSRF, the login rate limit."""

from __future__ import annotations

from sqlalchemy import update

from handlers.core import Core
from handlers.messages import ChatKind, Incoming
from handlers.workorders.sla import WeekdayCalendar
from nlp.types import Classifier
from storage.models import PersonRow
from tests.web.conftest import SITE, Desk
from web.auth import LOGIN_ATTEMPTS


async def test_health_and_headers(desk: Desk) -> None:
    response = await desk.client.get("/healthz")
    assert response.status_code == 200
    assert response.text == "ok"
    page = await desk.client.get("/orders")
    assert page.status_code == 401  # not logged in
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


async def test_opening_a_link_does_not_use_it_the_button_does_and_only_once(desk: Desk) -> None:
    path = await desk.link("陈主任")
    token = path.rsplit("/", 1)[1]
    for _ in range(2):  # chat apps fetch links for previews: a GET must not log anyone in or use the link
        shown = await desk.client.get(path)
        assert shown.status_code == 200
        assert "登录社区工作台" in shown.text
        assert "gridbot_desk" not in shown.cookies
    first = await desk.client.post("/login", data={"token": token})
    assert first.status_code == 303
    assert (await desk.client.get("/orders")).status_code == 200
    desk.client.cookies.clear()
    again = await desk.client.post("/login", data={"token": token})
    assert again.status_code == 401
    assert "已失效" in again.text


async def test_a_link_expires_after_ten_minutes(desk: Desk) -> None:
    path = await desk.link("陈主任")
    desk.clock.advance(minutes=10, seconds=1)
    response = await desk.client.post("/login", data={"token": path.rsplit("/", 1)[1]})
    assert response.status_code == 401


async def test_logins_are_rate_limited_per_address(desk: Desk) -> None:
    for _ in range(LOGIN_ATTEMPTS):
        assert (await desk.client.post("/login", data={"token": "guessed"})).status_code == 401
    good = await desk.link("陈主任")
    blocked = await desk.client.post("/login", data={"token": good.rsplit("/", 1)[1]})
    assert blocked.status_code == 429
    desk.clock.advance(minutes=10, seconds=1)  # the window passes
    fresh = await desk.link("陈主任")
    assert (await desk.client.post("/login", data={"token": fresh.rsplit("/", 1)[1]})).status_code == 303


async def test_logout_ends_the_session_at_once(desk: Desk) -> None:
    csrf = await desk.login("陈主任")
    cookie = desk.client.cookies.get("gridbot_desk")
    assert (await desk.client.post("/logout", data={"csrf": csrf})).status_code == 303
    desk.client.cookies.set("gridbot_desk", cookie or "")  # the old cookie, replayed
    assert (await desk.client.get("/orders")).status_code == 401


async def test_a_role_change_ends_every_session_of_that_person(desk: Desk) -> None:
    await desk.login("王建国")
    async with desk.uow_factory() as uow:
        await uow.session.execute(
            update(PersonRow).where(PersonRow.name == "王建国").values(roles=["grid_member"])
        )
        await uow.commit()
    assert (await desk.client.get("/orders")).status_code == 401


async def test_a_deactivated_person_is_logged_out(desk: Desk) -> None:
    await desk.login("李娜")
    async with desk.uow_factory() as uow:
        await uow.session.execute(update(PersonRow).where(PersonRow.name == "李娜").values(active=False))
        await uow.commit()
    assert (await desk.client.get("/orders")).status_code == 401


async def test_an_idle_session_ends(desk: Desk) -> None:
    await desk.login("陈主任")
    desk.clock.advance(minutes=29)
    assert (await desk.client.get("/orders")).status_code == 200  # activity keeps it alive
    desk.clock.advance(minutes=29)
    assert (await desk.client.get("/orders")).status_code == 200
    desk.clock.advance(minutes=31)
    assert (await desk.client.get("/orders")).status_code == 401


async def test_forms_without_this_sessions_csrf_token_are_refused(desk: Desk) -> None:
    csrf = await desk.login("陈主任")
    order_id = await desk.order_id("楼道灯坏了")
    for data in ({}, {"csrf": "forged"}, {"csrf": csrf[:-1]}):
        response = await desk.client.post(f"/orders/{order_id}/note", data={**data, "text": "备注"})
        assert response.status_code == 403
    ok = await desk.client.post(f"/orders/{order_id}/note", data={"csrf": csrf, "text": "备注"})
    assert ok.status_code == 303


async def test_residents_volunteers_and_building_leaders_get_no_desk(desk: Desk) -> None:
    for name in ("马大爷", "黄阿姨", "吴警官"):  # building leader / liaison / police liaison
        path = await desk.link(name)
        response = await desk.client.post("/login", data={"token": path.rsplit("/", 1)[1]})
        assert response.status_code == 401, name


async def test_desk_command_sends_a_link_in_private_chat_only_to_desk_roles(
    desk: Desk, classifier: Classifier
) -> None:
    core = Core(desk.uow_factory, classifier, desk.clock, WeekdayCalendar())
    staff = await core.handle(Incoming(1002, 1002, "陈主任", text="/desk"))
    assert f"{SITE}/login/" in staff.replies[-1].text
    link = staff.replies[-1].text.split(SITE, 1)[1].strip()
    assert (await desk.client.post("/login", data={"token": link.rsplit("/", 1)[1]})).status_code == 303
    group = await core.handle(Incoming(-100123, 1002, "陈主任", chat_kind=ChatKind.GROUP, text="/desk"))
    assert "/login/" not in group.replies[-1].text
    resident = await core.handle(Incoming(9101, 9101, "王秀英", text="/desk"))
    assert "/login/" not in resident.replies[-1].text
    assert "只对社区工作人员" in resident.replies[-1].text
    assert "10 分钟" in staff.replies[-1].text
