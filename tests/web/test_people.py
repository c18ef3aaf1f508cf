"""人员与网格 on the desk: edits through the core with the community file's validation, audited, by role."""

from __future__ import annotations

from urllib.parse import quote

from bot.imports.community_file import parse_community
from tests.web.conftest import Desk


def _person_form(name: str, roles: list[str], **fields: str) -> dict[str, str | list[str]]:
    return {"name": name, "roles": roles, **fields}


async def test_staff_edit_duty_and_deputy_and_it_is_stored_and_audited(desk: Desk) -> None:
    csrf = await desk.login("陈主任")
    page = await desk.client.get("/people")
    assert page.status_code == 200
    assert "钱芳" in page.text
    assert "第二网格" in page.text
    form = _person_form(
        "李娜", ["grid_member"], grid="第一网格", deputy="王建国", duty="mon-fri 09:00-18:00", chat_id="2002"
    )
    saved = await desk.client.post("/people/person", data={"csrf": csrf, "old_name": "李娜", **form})
    assert saved.status_code == 303, saved.text
    async with desk.uow_factory() as uow:
        li = next(p for p in await uow.community.people() if p.name == "李娜")
        leader = next(p for p in await uow.community.people() if p.name == "王建国")
    assert li.deputy_id == leader.id
    assert li.duty is not None
    assert li.duty.weekdays == frozenset(range(5))
    changes = [a for a in await desk.audit_rows() if a.action == "change" and a.record == "person:李娜"]
    assert changes
    assert set(changes[-1].fields) == {"person.deputy", "person.duty"}
    assert "王建国" not in "".join(changes[-1].fields)  # field names only, never values


async def test_an_edit_the_community_file_would_refuse_changes_nothing(desk: Desk) -> None:
    csrf = await desk.login("陈主任")
    # a grid member without a grid: the file's rule "grid member … needs a `grid:`"
    refused = await desk.client.post(
        "/people/person",
        data={"csrf": csrf, "old_name": "李娜", **_person_form("李娜", ["grid_member"], chat_id="2002")},
    )
    assert refused.status_code == 422
    assert "needs a `grid:`" in refused.text.replace("&#96;", "`")
    async with desk.uow_factory() as uow:
        li = next(p for p in await uow.community.people() if p.name == "李娜")
        first = next(g for g in await uow.community.grids() if g.name == "第一网格")
    assert li.grid_id == first.id
    assert not [a for a in await desk.audit_rows() if a.action == "change"]


async def test_a_building_cannot_be_in_two_grids(desk: Desk) -> None:
    csrf = await desk.login("陈主任")
    async with desk.uow_factory() as uow:
        spec = await uow.community.spec()
    second = next(g for g in spec.grids if g.name == "第二网格")
    taken = next(g for g in spec.grids if g.name == "第一网格").buildings[0]
    covers = [f"{c}|{n}" for c, n in (*second.buildings, taken)]
    refused = await desk.client.post(
        "/people/grid",
        data={
            "csrf": csrf,
            "old_name": "第二网格",
            "name": "第二网格",
            "leader": "赵红梅",
            "buildings": covers,
        },
    )
    assert refused.status_code == 422
    assert "is already in grid" in refused.text
    renamed = await desk.client.post(
        "/people/grid",
        data={
            "csrf": csrf,
            "old_name": "第二网格",
            "name": "二网格",
            "leader": "赵红梅",
            "buildings": [f"{c}|{n}" for c, n in second.buildings],
        },
    )
    assert renamed.status_code == 303, renamed.text
    async with desk.uow_factory() as uow:
        after = await uow.community.spec()
    assert [p.grid for p in after.people if p.name == "钱芳"] == ["二网格"]  # members follow the new name


async def test_leave_is_registered_and_the_person_told_in_chat(desk: Desk) -> None:
    csrf = await desk.login("陈主任")
    async with desk.uow_factory() as uow:
        li = next(p for p in await uow.community.people() if p.name == "李娜")
    done = await desk.client.post("/people/leave", data={"csrf": csrf, "person_id": li.id, "on_leave": "1"})
    assert done.status_code == 303
    async with desk.uow_factory() as uow:
        assert (await uow.community.person(li.id)).on_leave  # type: ignore[union-attr]
    assert any("请假" in text for text in await desk.outbox_to(li.chat_id))


async def test_a_role_change_ends_the_persons_desk_sessions(desk: Desk) -> None:
    await desk.login("李娜")
    member_cookies = dict(desk.client.cookies)
    csrf = await desk.login("陈主任")
    form = _person_form("李娜", ["grid_leader"], grid="第一网格", chat_id="2002")
    assert (
        await desk.client.post("/people/person", data={"csrf": csrf, "old_name": "李娜", **form})
    ).status_code == 303
    desk.client.cookies.clear()
    desk.client.cookies.update(member_cookies)
    assert (await desk.client.get("/orders")).status_code == 401


async def test_the_export_is_a_community_file_that_imports(desk: Desk) -> None:
    await desk.login("陈主任")
    exported = await desk.client.get("/people/export")
    assert exported.status_code == 200
    spec = parse_community(exported.text)
    assert {p.name for p in spec.people} >= {"李娜", "钱芳", "孙敏"}  # 孙敏 has not joined yet
    assert any(a.action == "export" and a.record == "community" for a in await desk.audit_rows())


async def test_a_grid_leader_reads_their_own_grid_only(desk: Desk) -> None:
    csrf = await desk.login("王建国")
    page = await desk.client.get("/people")
    assert page.status_code == 200
    assert "李娜" in page.text
    assert "钱芳" not in page.text
    assert "第二网格" not in page.text
    assert "编辑" not in page.text
    assert (await desk.client.get(f"/people/person?name={quote('李娜')}")).status_code == 403
    form = _person_form("李娜", ["grid_member"], grid="第一网格", chat_id="2002")
    posted = await desk.client.post("/people/person", data={"csrf": csrf, "old_name": "李娜", **form})
    assert posted.status_code == 403
    assert (await desk.client.get("/people/export")).status_code == 403


async def test_a_grid_member_has_no_people_page(desk: Desk) -> None:
    csrf = await desk.login("钱芳")
    assert (await desk.client.get("/people")).status_code == 403
    left = await desk.client.post("/people/leave", data={"csrf": csrf, "person_id": "1", "on_leave": "1"})
    assert left.status_code == 403
