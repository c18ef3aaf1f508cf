"""The composition root: the one place that builds storage, the classifier and the core from settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery.broadcast_settings import BroadcastSettings
from bot.imports.campaigns import read_dirs, store
from bot.ops.metrics import Metrics
from bot.schedule.clock import SystemClock
from bot.schedule.jobs import broadcast_ticks
from bot.schedule.scheduler import Tick
from bot.schedule.workdays import ChineseWorkCalendar
from bot.settings import Settings
from handlers.core import Core
from handlers.ports import Clock
from nlp import load_classifier
from nlp.types import Classifier
from storage.database import make_engine, make_session_factory
from storage.migrate import pending_revisions
from storage.queues.broadcasts import SqlDeliveryQueue
from storage.queues.outbox import SqlOutboxQueue
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
    # What the scheduler runs: each tick claims what is due in the database (bot/scheduler.py).
    ticks: list[Tick] = field(default_factory=list)
    broadcast_queue: SqlDeliveryQueue | None = None
    broadcast_settings: BroadcastSettings = field(default_factory=BroadcastSettings)
    # This process's Prometheus metrics (its own registry); the core reports to it as its observer.
    metrics: Metrics = field(default_factory=Metrics)

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
    metrics = Metrics()
    core = Core(uow_factory, classifier, clock, ChineseWorkCalendar(), observer=metrics)
    outbox = SqlOutboxQueue(uow_factory.session_factory, clock)
    broadcast_settings = BroadcastSettings()
    broadcast_queue = SqlDeliveryQueue(uow_factory.session_factory, clock)
    ticks = [
        Tick("work-order-timers", core.run_timers, every_seconds=30),
        Tick("checkins", core.run_checkins, every_seconds=60),
        *broadcast_ticks(uow_factory, clock, broadcast_queue, broadcast_settings),
    ]
    return App(
        settings,
        engine,
        uow_factory,
        core,
        outbox,
        clock,
        ticks,
        broadcast_queue,
        broadcast_settings,
        metrics=metrics,
    )


async def load_campaigns(app: App) -> int:
    """Store the campaign library (and staff's own campaigns) so chat commands can use them."""
    broadcast = app.broadcast_settings
    dirs = [d for d in (broadcast.campaigns_dir, broadcast.own_campaigns_dir) if d and d.is_dir()]
    files = read_dirs(dirs)
    async with app.uow_factory() as uow:
        await store(uow, files, app.settings.timezone)
        await uow.commit()
    return len(files)
