"""The desk with a community's own categories (deploy/examples/rules_community.yaml): 供暖 and 宠物 added,
其他 renamed 其他事项; lists, filters, 代录 and 改类别 use the community's names and keys."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from handlers.workorders.sla import WeekdayCalendar
from nlp import load_classifier
from storage.database import make_engine, make_session_factory
from storage.models import WorkOrderRow
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClock
from tests.web.conftest import SITE, ZONE, Desk
from tools.example_community import example_spec
from web.app import create_app

RULES = Path(__file__).resolve().parents[2] / "deploy/examples/rules_community.yaml"


@pytest.fixture
async def community_desk(seeded_db: Path, tmp_path: Path) -> AsyncIterator[Desk]:
    path = tmp_path / "desk.db"
    shutil.copy(seeded_db, path)
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    clock = FakeClock(datetime.now(ZONE))
    factory = SqlUnitOfWorkFactory(make_session_factory(engine), clock)
    classifier = load_classifier(RULES, {c.name: list(c.aliases) for c in example_spec().compounds})
    app = create_app(factory, classifier, clock, WeekdayCalendar(), "Asia/Shanghai", SITE, publish=False)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=SITE) as client:
        yield Desk(client, factory, clock)
    await engine.dispose()


async def test_the_desk_speaks_the_community_s_categories(community_desk: Desk) -> None:
    desk = community_desk
    csrf = await desk.login("王建国")
    listing = await desk.client.get("/orders")
    assert '<option value="heating"' in listing.text
    assert ">供暖</option>" in listing.text
    assert ">其他事项</option>" in listing.text
    assert ">其他</option>" not in listing.text
    recording = await desk.client.get("/record")
    assert ">供暖</option>" in recording.text
    order_id = await desk.order_id("养狗不拴绳")
    await desk.client.post(f"/orders/{order_id}/category", data={"csrf": csrf, "category": "heating"})
    async with desk.uow_factory() as uow:
        row = await uow.session.get(WorkOrderRow, order_id)
    assert row is not None
    assert (row.category, row.priority) == ("heating", "high")  # the community's priority for it
    page = await desk.client.get(f"/orders/{order_id}")
    assert 'id="order-category">供暖<' in page.text
    assert "→ 供暖" in page.text  # the history, by name
    refused = await desk.client.post(
        f"/orders/{order_id}/category", data={"csrf": csrf, "category": "plumbing"}, follow_redirects=True
    )
    assert "请选择类别" in refused.text
    async with desk.uow_factory() as uow:
        row = await uow.session.get(WorkOrderRow, order_id)
    assert row is not None
    assert row.category == "heating"
