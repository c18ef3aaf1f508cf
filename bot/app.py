"""The composition root: the one place that builds storage, the classifier and the core from settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import SystemClock
from bot.settings import Settings
from handlers.core import Core
from handlers.ports import Clock
from nlp import load_classifier
from nlp.types import Classifier
from storage.database import make_engine, make_session_factory
from storage.migrate import pending_revisions
from storage.outbox import SqlOutboxQueue
from storage.uow import SqlUnitOfWorkFactory

log = logging.getLogger(__name__)


class NotMigrated(Exception):
    """The database is behind the code: run `gridbot db upgrade`."""


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    uow_factory: SqlUnitOfWorkFactory
    core: Core
    outbox: SqlOutboxQueue
    clock: Clock

    async def close(self) -> None:
        await self.engine.dispose()


async def compound_aliases(uow_factory: SqlUnitOfWorkFactory) -> dict[str, list[str]]:
    """Compound names and aliases from the stored community, for the classifier's dictionary."""
    async with uow_factory() as uow:
        return {c.name: list(c.aliases) for c in await uow.community.compounds()}


async def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    classifier: Classifier | None = None,
    check_migrations: bool = True,
) -> App:
    engine = make_engine(settings.database_url)
    if check_migrations and await pending_revisions(engine):
        await engine.dispose()
        raise NotMigrated("the database schema is not up to date: run `gridbot db upgrade`")
    clock = clock or SystemClock(settings.timezone)
    uow_factory = SqlUnitOfWorkFactory(make_session_factory(engine), clock)
    if classifier is None:
        classifier = load_classifier(settings.rules_file, await compound_aliases(uow_factory))
    core = Core(uow_factory, classifier, clock)
    outbox = SqlOutboxQueue(uow_factory.session_factory, clock)
    return App(settings, engine, uow_factory, core, outbox, clock)
