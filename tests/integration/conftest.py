"""Real databases: every test here runs on SQLite and on PostgreSQL, each in a fresh, migrated schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.community_file import load_community
from storage.database import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import EXAMPLE_COMMUNITY
from tests.fakes import FakeClock

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
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but not reachable at {POSTGRES_URL}: {problem}")
        pytest.skip(f"PostgreSQL not reachable ({problem})")
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
