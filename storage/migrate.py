"""Schema migrations through Alembic, on the same engine the application uses.

Alembic logs a line or two at INFO whenever it looks at a database ("Context impl SQLiteImpl.") and one per
migration it runs: every command would print them. They are quiet here unless asked (`verbose`, or the
alembic logger set to DEBUG); `upgrade` returns what it applied, so the caller can say it in one line.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

_ALEMBIC = logging.getLogger("alembic")


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", "storage:migrations")
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


@contextlib.contextmanager
def _quiet(verbose: bool) -> Iterator[None]:
    """Alembic's INFO lines only when asked: `verbose`, or its logger configured for DEBUG."""
    if verbose or _ALEMBIC.isEnabledFor(logging.DEBUG):
        yield
        return
    level = _ALEMBIC.level
    _ALEMBIC.setLevel(logging.WARNING)
    try:
        yield
    finally:
        _ALEMBIC.setLevel(level)


async def _run(
    engine: AsyncEngine, step: Callable[[Config, str], None], revision: str, verbose: bool
) -> None:
    # Alembic is synchronous: hand it the async engine's connection, inside one transaction.
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        step(config, revision)

    with _quiet(verbose):
        async with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                await connection.run_sync(_foreign_keys, False)
            try:
                async with connection.begin():
                    await connection.run_sync(run)
                    if sqlite:
                        await connection.run_sync(_no_broken_references)
            finally:
                if sqlite:
                    await connection.run_sync(_foreign_keys, True)


# SQLite alters a column (its nullability, say) by copying the table and dropping the old one, which the
# tables pointing at it forbid while foreign keys are enforced. As Alembic advises, enforcement is off
# while migrating (the pragma is a no-op inside a transaction, so it is set before ours begins), and
# every reference is checked before the migration commits instead.


def _foreign_keys(connection: Connection, on: bool) -> None:
    cursor = connection.connection.cursor()  # the driver's connection: outside any transaction of ours
    cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    cursor.close()


def _no_broken_references(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = sorted({str(row[0]) for row in broken})
        raise RuntimeError(
            f"the migration would leave {len(broken)} broken references in {', '.join(tables)}"
        )


async def upgrade(engine: AsyncEngine, revision: str = "head", *, verbose: bool = False) -> list[str]:
    """Migrate the database behind `engine` to `revision`; return the revisions applied, oldest first."""
    before, _ = await revisions(engine, verbose=verbose)
    await _run(engine, command.upgrade, revision, verbose)
    after, _ = await revisions(engine, verbose=verbose)
    return applied_between(before, after)


def applied_between(before: str | None, after: str | None) -> list[str]:
    """The revisions from just after `before` up to `after`, oldest first (none when they are equal)."""
    if after is None or after == before:
        return []
    script = ScriptDirectory.from_config(alembic_config())
    steps = script.iterate_revisions(after, before)  # newest first, `before` itself excluded
    return [step.revision for step in reversed(list(steps))]


async def downgrade(engine: AsyncEngine, revision: str = "base", *, verbose: bool = False) -> None:
    await _run(engine, command.downgrade, revision, verbose)


async def revisions(engine: AsyncEngine, *, verbose: bool = False) -> tuple[str | None, str | None]:
    """(the database's revision, the newest migration's); None for a database never migrated."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()

    def current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    with _quiet(verbose):
        async with engine.connect() as connection:
            return await connection.run_sync(current), head


async def pending_revisions(engine: AsyncEngine) -> bool:
    """True when the database is behind the newest migration."""
    current, head = await revisions(engine)
    return current != head
