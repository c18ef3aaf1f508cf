"""Real databases: every test here runs on SQLite and on PostgreSQL, each in a fresh, migrated schema."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.delivery.replies import OutboxSender
from bot.imports.community_file import load_community
from handlers.core import Core
from handlers.messages import Reply
from nlp import load_classifier
from nlp.types import Classifier
from storage.database import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import ResidentRow, WorkOrderRow
from storage.queues.outbox import SqlOutboxQueue
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import EXAMPLE_COMMUNITY, ChatDriver, Sent
from tests.fakes import FakeClock
from tests.services import require

POSTGRES_URL = os.environ.get(
    "GRIDBOT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


@dataclass
class Database:
    kind: str
    url: str
    engine: AsyncEngine
    schema: str | None = None  # PostgreSQL: the schema this test owns


async def _postgres_available() -> str | None:
    engine = make_engine(POSTGRES_URL)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("select 1"))
        return None
    except Exception as error:  # any failure to connect means "not available"
        return f"{type(error).__name__}: {error}"
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'gridbot.db'}"
        engine = make_engine(url)
        await upgrade(engine)
        yield Database("sqlite", url, engine)
        await engine.dispose()
        return
    problem = await _postgres_available()
    require(problem, f"PostgreSQL at {POSTGRES_URL}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}})
    await upgrade(engine)
    try:
        yield Database("postgresql", POSTGRES_URL, engine, schema)
    finally:
        await engine.dispose()
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def uow_factory(database: Database, clock: FakeClock) -> SqlUnitOfWorkFactory:
    factory = SqlUnitOfWorkFactory(make_session_factory(database.engine), clock)
    async with factory() as uow:
        await uow.community.apply(load_community(EXAMPLE_COMMUNITY), clock.now())
        await uow.commit()
    return factory


class RecordingMessenger:
    """A transport that always succeeds (or fails as told) and remembers what it sent."""

    def __init__(self) -> None:
        self.ids = itertools.count(1)
        self.delivered: list[Sent] = []
        self.fail_next: list[Exception] = []

    async def send(self, reply: Reply, reply_to_message_id: int | None) -> int | None:
        if self.fail_next:
            raise self.fail_next.pop(0)
        message_id = reply.edit_message_id or next(self.ids)
        self.delivered.append(Sent(message_id, reply, reply_to_message_id))
        return None if reply.edit_message_id else message_id


@pytest.fixture
def messenger() -> RecordingMessenger:
    return RecordingMessenger()


def build_driver(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, messenger: RecordingMessenger, classifier: Classifier
) -> ChatDriver:
    """A core and a sender as a process has them; build again to simulate a restart."""
    core = Core(uow_factory, classifier, clock)
    sender = OutboxSender(SqlOutboxQueue(uow_factory.session_factory, clock), messenger)

    async def deliver() -> list[Sent]:
        start = len(messenger.delivered)
        await sender.flush()
        return messenger.delivered[start:]

    return ChatDriver(core, deliver)


@pytest.fixture
async def classifier(uow_factory: SqlUnitOfWorkFactory) -> Classifier:
    async with uow_factory() as uow:
        compounds = {c.name: list(c.aliases) for c in await uow.community.compounds()}
    return load_classifier(None, compounds)


@pytest.fixture
def driver(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, messenger: RecordingMessenger, classifier: Classifier
) -> ChatDriver:
    return build_driver(uow_factory, clock, messenger, classifier)


async def add_order(session: AsyncSession, clock: FakeClock, resident_chat: int) -> WorkOrderRow:
    """A new work order of a new resident, flushed (for tests of what refers to an order)."""
    resident = ResidentRow(chat_id=resident_chat, name="居民")
    session.add(resident)
    await session.flush()
    order = WorkOrderRow(
        number="GD20261203-0001",
        resident_id=resident.id,
        text="楼道灯坏了",
        category="repair",
        priority="normal",
        state="new",
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    session.add(order)
    await session.flush()
    return order
