"""The desk's corrections are labelled examples too: a handler's change of category, staff's, and a phoned-in
report staff filed under another category than the classifier's (on the desk's database)."""

from __future__ import annotations

from handlers.labels.model import LabelSource
from nlp.types import Category
from tests.web.conftest import Desk
from tests.web.test_record import FORM


async def _labels(desk: Desk) -> list[tuple[str, Category, LabelSource, int | None]]:
    async with desk.uow_factory() as uow:
        return [(lb.text, lb.category, lb.source, lb.actor_id) for lb in await uow.labels.page()]


async def _person(desk: Desk, name: str) -> int:
    async with desk.uow_factory() as uow:
        (person,) = [p for p in await uow.community.people() if p.name == name]
        return person.id


async def test_a_change_of_category_on_the_desk_stores_who_made_it(desk: Desk) -> None:
    order_id = await desk.order_id("养狗不拴绳")
    csrf = await desk.login("王建国")  # the grid leader
    await desk.client.post(f"/orders/{order_id}/category", data={"csrf": csrf, "category": "safety_hazard"})
    csrf = await desk.login("陈主任")  # staff
    await desk.client.post(f"/orders/{order_id}/category", data={"csrf": csrf, "category": "sanitation"})
    await desk.client.post(f"/orders/{order_id}/category", data={"csrf": csrf, "category": "sanitation"})
    found = await _labels(desk)
    assert [(c, s, who) for _, c, s, who in found] == [
        (Category.SAFETY_HAZARD, LabelSource.MEMBER_CORRECTION, await _person(desk, "王建国")),
        (Category.SANITATION, LabelSource.STAFF_CORRECTION, await _person(desk, "陈主任")),
    ]  # the second "sanitation" changed nothing and stored nothing
    assert all("养狗不拴绳" in text for text, *_ in found)


async def test_a_phoned_in_report_filed_otherwise_is_a_staff_label(desk: Desk) -> None:
    csrf = await desk.login("陈主任")
    assert (await desk.client.post("/record", data={**FORM, "csrf": csrf})).status_code == 200
    assert await _labels(desk) == []  # the classifier's own category: nothing to learn
    form = {**FORM, "text": "楼道里堆满了纸箱子，过不去人", "category": "sanitation"}
    assert (await desk.client.post("/record", data={**form, "csrf": csrf})).status_code == 200
    ((text, category, source, who),) = await _labels(desk)
    assert text == f"{FORM['address']} {form['text']}"  # what the classifier was given
    assert (category, source, who) == (
        Category.SANITATION,
        LabelSource.STAFF_CORRECTION,
        await _person(desk, "陈主任"),
    )
