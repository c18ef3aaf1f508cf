"""Schema migrations through Alembic, on the same engine the application uses."""

from __future__ import annotations

from collections.abc import Callable

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", "storage:migrations")
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


async def _run(engine: AsyncEngine, step: Callable[[Config, str], None], revision: str) -> None:
    # Alembic is synchronous: hand it the async engine's connection, inside one transaction.
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        step(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database behind `engine` to `revision`."""
    await _run(engine, command.upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    await _run(engine, command.downgrade, revision)


async def revisions(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """(the database's revision, the newest migration's); None for a database never migrated."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()

    def current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(current), head


async def pending_revisions(engine: AsyncEngine) -> bool:
    """True when the database is behind the newest migration."""
    current, head = await revisions(engine)
    return current != head
