"""The desk over a seeded SQLite database (the example community and `make desk`'s history), in-process.

The database is seeded once per session and copied for each test; the app runs on the test's event loop
through httpx's ASGI transport, with a clock the test can move.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from handlers.desk.login import issue_link
from handlers.workorders.sla import WeekdayCalendar
from nlp import load_classifier
from nlp.types import Classifier
from storage.database import make_engine, make_session_factory
from storage.models import DeskAuditRow, OutboxRow, WorkOrderRow
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClock
from tools.example_community import example_spec, prepare_database
from web.app import create_app
from web.demo import seed_history

ZONE = ZoneInfo("Asia/Shanghai")
SITE = "http://desk.test"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def _seed(path: Path) -> None:
    url = f"sqlite+aiosqlite:///{path}"
    await prepare_database(url)
    engine = make_engine(url)
    try:
        factory = SqlUnitOfWorkFactory(make_session_factory(engine), FakeClock())
        spec = example_spec()
        aliases = {c.name: list(c.aliases) for c in spec.compounds}
        await seed_history(factory, load_classifier(None, aliases), ZONE)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("desk") / "seeded.db"
    asyncio.run(_seed(path))  # a sync fixture: no event loop is running yet
    return path


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    """As the chat builds it: the shipped rules and the example community's compound names."""
    spec = example_spec()
    return load_classifier(None, {c.name: list(c.aliases) for c in spec.compounds})


@dataclass
class Desk:
    client: httpx.AsyncClient
    uow_factory: SqlUnitOfWorkFactory
    clock: FakeClock

    async def link(self, name: str) -> str:
        async with self.uow_factory() as uow:
            person = await uow.desk.person_by_name(name)
            assert person is not None, name
            url = await issue_link(uow.desk, person, self.clock.now(), site=SITE)
            await uow.commit()
        assert url is not None
        return url.removeprefix(SITE)

    async def login(self, name: str) -> str:
        """Log in as `name` by link; returns the session's CSRF token."""
        path = await self.link(name)
        self.client.cookies.clear()
        response = await self.client.post("/login", data={"token": path.rsplit("/", 1)[1]})
        assert response.status_code == 303, response.text
        return await self.csrf()

    async def csrf(self) -> str:
        page = await self.client.get("/orders")
        assert page.status_code == 200, page.text
        found = CSRF.search(page.text)
        assert found is not None
        return found[1]

    async def order_id(self, number_suffix: str) -> int:
        async with self.uow_factory() as uow:
            found = await uow.session.scalar(
                select(WorkOrderRow.id).where(WorkOrderRow.text.contains(number_suffix))
            )
        assert found is not None, number_suffix
        return int(found)

    async def outbox_to(self, chat_id: int) -> list[str]:
        async with self.uow_factory() as uow:
            rows = await uow.session.scalars(select(OutboxRow).where(OutboxRow.chat_id == chat_id))
            return [str(r.payload.get("text", "")) for r in rows]

    async def audit_rows(self) -> list[DeskAuditRow]:
        async with self.uow_factory() as uow:
            return list(await uow.session.scalars(select(DeskAuditRow).order_by(DeskAuditRow.id)))


@pytest.fixture
async def desk(seeded_db: Path, tmp_path: Path, classifier: Classifier) -> AsyncIterator[Desk]:
    path = tmp_path / "desk.db"
    shutil.copy(seeded_db, path)
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    clock = FakeClock(datetime.now(ZONE))  # the seeded history ends now
    factory = SqlUnitOfWorkFactory(make_session_factory(engine), clock)
    async with factory() as uow:
        await uow.desk.publish(SITE, clock.now())
        await uow.commit()
    app = create_app(factory, classifier, clock, WeekdayCalendar(), "Asia/Shanghai", SITE, publish=False)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=SITE) as client:
        yield Desk(client, factory, clock)
    await engine.dispose()
