"""人员与网格: people, roles, grids and the buildings they cover, duty hours, leave and deputies.

Staff edit; a grid leader reads their own grid; nobody else sees the page. Every edit is the core's
`handlers.community.structure` use case, checked by the community file's own validation
(bot/imports/community_export.check_spec) and audited; the community file downloads from here (an export).
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.imports.community_export import check_spec, dump_community
from bot.imports.community_settings import parse_duty
from handlers.community import structure
from handlers.community.model import Role
from handlers.community.settings import CommunitySpec, GridSpec, PersonSpec
from storage.uow import SqlUnitOfWork
from web.auth import Viewer
from web.common import (
    audit,
    checked_form,
    desk,
    int_field,
    login_needed,
    redirect,
    render,
    text_field,
    viewer_of,
)

ROLE_CHOICES = [(r.value, r.label) for r in Role]
_DUTY_EXAMPLE = "mon-fri 08:30-17:30"


async def _allowed(request: Request, staff_only: bool) -> Viewer | Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return login_needed(request)
    if viewer.is_staff or (not staff_only and viewer.person.has(Role.GRID_LEADER)):
        return viewer
    return render(request, "forbidden.html", viewer, status=403)


async def people_page(request: Request) -> Response:
    viewer = await _allowed(request, staff_only=False)
    if not isinstance(viewer, Viewer):
        return viewer
    async with desk(request).uow_factory() as uow:
        spec = await uow.community.spec()
        joined = {p.name: p for p in await uow.community.people()}
        grid_names = {g.id: g.name for g in await uow.community.grids()}
        visible = {grid_names[g] for g in viewer.scope.grid_ids if g in grid_names}
        grids = [g for g in spec.grids if viewer.scope.everything or g.name in visible]
        people = [p for p in spec.people if viewer.scope.everything or p.grid in visible]
        await audit(uow, viewer, request, "view", "people", ["person.name", "person.roles", "person.duty"])
        await uow.commit()
    return render(
        request, "people.html", viewer, grids=grids, people=people, joined=joined, may_edit=viewer.is_staff
    )


def _person_from(form: FormData) -> PersonSpec | str:
    """The person the form describes, or what is wrong with it (the rest is the file's validation)."""
    duty_raw = text_field(form, "duty", 64)
    duty = parse_duty(duty_raw) if duty_raw else None
    if duty_raw and duty is None:
        return f"值班时间的写法应像 {_DUTY_EXAMPLE}（星期 mon…sun，时间 24 小时制）。"
    chat_raw = text_field(form, "chat_id", 24)
    chat_id = int(chat_raw) if chat_raw.lstrip("-").isdigit() and len(chat_raw) < 21 else None
    if chat_raw and chat_id is None:
        return "聊天 ID 应是一个整数（不知道可以留空，之后用邀请链接加入）。"
    roles = set()
    for raw in form.getlist("roles"):
        try:
            roles.add(Role(str(raw)))
        except ValueError:
            return "未知的角色。"
    return PersonSpec(
        name=text_field(form, "name", 200),
        chat_id=chat_id,
        roles=frozenset(roles),
        grid=text_field(form, "grid", 200) or None,
        phone=text_field(form, "phone", 200) or None,
        deputy=text_field(form, "deputy", 200) or None,
        duty=duty,
    )


def _grid_from(form: FormData) -> GridSpec:
    covers = []
    for raw in form.getlist("buildings"):
        compound, _, number = str(raw).partition("|")
        if compound and number:
            covers.append((compound, number))
    group = text_field(form, "group_chat_id", 24)
    return GridSpec(
        name=text_field(form, "name", 200),
        buildings=tuple(covers),
        leader=text_field(form, "leader", 200) or None,
        group_chat_id=int(group) if group.lstrip("-").isdigit() and len(group) < 21 else None,
    )


async def _spec(request: Request) -> CommunitySpec:
    async with desk(request).uow_factory() as uow:
        return await uow.community.spec()


async def person_form(request: Request) -> Response:
    viewer = await _allowed(request, staff_only=True)
    if not isinstance(viewer, Viewer):
        return viewer
    name = request.query_params.get("name")
    spec = await _spec(request)
    person = next((p for p in spec.people if p.name == name), None)
    if name and person is None:
        return render(request, "not_found.html", viewer, status=404)
    if person is not None:
        async with desk(request).uow_factory() as uow:
            await audit(
                uow, viewer, request, "view", "person:" + person.name, ["person.phone", "person.chat_id"]
            )
            await uow.commit()
    return render(
        request,
        "person_form.html",
        viewer,
        spec=spec,
        person=person,
        old_name=name or "",
        roles=ROLE_CHOICES,
        problems=[],
    )


async def grid_form(request: Request) -> Response:
    viewer = await _allowed(request, staff_only=True)
    if not isinstance(viewer, Viewer):
        return viewer
    name = request.query_params.get("name")
    spec = await _spec(request)
    grid = next((g for g in spec.grids if g.name == name), None)
    if name and grid is None:
        return render(request, "not_found.html", viewer, status=404)
    return render(request, "grid_form.html", viewer, spec=spec, grid=grid, old_name=name or "", problems=[])


def _refused(done_refused: str | None, problems: list[str]) -> list[str]:
    return problems or ([done_refused] if done_refused else [])


async def _edit(
    request: Request, viewer: Viewer, change: structure.Change, record: str, fields: list[str]
) -> tuple[str | None, list[str]]:
    """Run the edit as the viewer; (refusal, the validation's problems)."""

    async def audited(uow: SqlUnitOfWork, _value: object) -> None:
        await audit(uow, viewer, request, "change", record, fields)

    problems: list[str] = []

    def checked(spec: CommunitySpec) -> list[str]:
        problems.extend(check_spec(spec))
        return problems

    done = await desk(request).runner.act(
        viewer.person.id, lambda ctx: structure.edit_structure(ctx, change, checked), audited
    )
    return done.refused, problems


async def person_save(request: Request) -> Response:
    viewer = await _allowed(request, staff_only=True)
    if not isinstance(viewer, Viewer):
        return viewer
    form = await checked_form(request, viewer)
    old_name = text_field(form, "old_name", 200) or None
    person = _person_from(form)
    spec = await _spec(request)
    before = next((p for p in spec.people if p.name == old_name), None) if old_name else None
    refusal: str | None
    problems: list[str] = []
    if isinstance(person, str):
        refusal = person
    else:
        record = f"person:{old_name or person.name}"
        fields = ["person." + f for f in structure.changed_fields(before, person)]
        refusal, problems = await _edit(
            request, viewer, structure.put_person(old_name, person), record, fields
        )
        if refusal is None:
            return redirect("/people", [f"已保存：{person.name}。"])
    shown = person if isinstance(person, PersonSpec) else before
    return render(
        request,
        "person_form.html",
        viewer,
        status=422,
        spec=spec,
        person=shown,
        old_name=old_name or "",
        roles=ROLE_CHOICES,
        problems=_refused(refusal, problems),
    )


async def person_remove(request: Request) -> Response:
    viewer = await _allowed(request, staff_only=True)
    if not isinstance(viewer, Viewer):
        return viewer
    form = await checked_form(request, viewer)
    name = text_field(form, "name", 200)
    refusal, problems = await _edit(
        request, viewer, structure.remove_person(name), f"person:{name}", ["person.removed"]
    )
    if refusal is not None:
        return redirect("/people", _refused(refusal, problems))
    return redirect("/people", [f"{name} 已停用（不再派单；登录和会话随即失效）。"])


async def person_leave(request: Request) -> Response:
    viewer = await _allowed(request, staff_only=True)
    if not isinstance(viewer, Viewer):
        return viewer
    form = await checked_form(request, viewer)
    person_id = int_field(form.get("person_id"))
    on_leave = form.get("on_leave") == "1"
    if person_id is None:
        return redirect("/people", ["请选择人员。"])

    async def audited(uow: SqlUnitOfWork, _value: object) -> None:
        await audit(uow, viewer, request, "change", f"person:{person_id}", ["person.on_leave"])

    done = await desk(request).runner.act(
        viewer.person.id, lambda ctx: structure.set_leave_for(ctx, person_id, on_leave), audited
    )
    if done.refused or done.value is None:
        return redirect("/people", [done.refused or "没有完成。"])
    return redirect("/people", [f"{done.value.name} 已{'登记请假' if on_leave else '销假'}。"])


async def grid_save(request: Request) -> Response:
    viewer = await _allowed(request, staff_only=True)
    if not isinstance(viewer, Viewer):
        return viewer
    form = await checked_form(request, viewer)
    old_name = text_field(form, "old_name", 200) or None
    grid = _grid_from(form)
    spec = await _spec(request)
    before = next((g for g in spec.grids if g.name == old_name), None) if old_name else None
    fields = ["grid." + f for f in structure.changed_fields(before, grid)]
    refusal, problems = await _edit(
        request, viewer, structure.put_grid(old_name, grid), f"grid:{old_name or grid.name}", fields
    )
    if refusal is None:
        return redirect("/people", [f"已保存：{grid.name}。"])
    return render(
        request,
        "grid_form.html",
        viewer,
        status=422,
        spec=spec,
        grid=grid,
        old_name=old_name or "",
        problems=_refused(refusal, problems),
    )


async def export_file(request: Request) -> Response:
    viewer = await _allowed(request, staff_only=True)
    if not isinstance(viewer, Viewer):
        return viewer
    async with desk(request).uow_factory() as uow:
        spec = await uow.community.spec()
        await audit(uow, viewer, request, "export", "community", ["person.chat_id", "person.phone"])
        await uow.commit()
    body = dump_community(spec, "社区")
    return Response(
        body,
        media_type="application/x-yaml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="community.yaml"', "Cache-Control": "no-store"},
    )


ROUTES = [
    Route("/people", people_page),
    Route("/people/person", person_form),
    Route("/people/person", person_save, methods=["POST"]),
    Route("/people/remove", person_remove, methods=["POST"]),
    Route("/people/leave", person_leave, methods=["POST"]),
    Route("/people/grid", grid_form),
    Route("/people/grid", grid_save, methods=["POST"]),
    Route("/people/export", export_file),
]
