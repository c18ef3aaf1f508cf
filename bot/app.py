"""The composition root: the one place that builds storage, the classifier and the core from settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.imports.campaigns import read_dirs, store
from bot.ops.metrics import Metrics
from bot.schedule.clock import SystemClock
from bot.schedule.jobs import broadcast_ticks
from bot.schedule.retention import retention_tick
from bot.schedule.scheduler import Tick
from bot.schedule.statistics import statistics_tick
from bot.schedule.workdays import ChineseWorkCalendar
from bot.settings import Settings
from handlers.context import Limits
from handlers.core import Core
from handlers.ports import Clock
from nlp import NlpError, RuleClassifier, load_classifier
from nlp.classifier import DEFAULT_MODEL
from nlp.types import Classifier
from storage.database import make_engine, make_session_factory
from storage.errors import transient
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
    # This process's Prometheus metrics (its own registry); the core reports to it as its observer.
    metrics: Metrics = field(default_factory=Metrics)
    # The classifier the core uses (rules + learned second opinion), for other entry points such as the desk.
    classifier: Classifier | None = None

    async def close(self) -> None:
        await self.engine.dispose()


async def compound_aliases(uow_factory: SqlUnitOfWorkFactory) -> dict[str, list[str]]:
    """Compound names and aliases from the stored community, for the classifier's dictionary."""
    async with uow_factory() as uow:
        return {c.name: list(c.aliases) for c in await uow.community.compounds()}


def add_second_opinion(classifier: RuleClassifier, model_file: Path | None) -> None:
    """Give the rules their learned second opinion (default: the shipped model). A missing or corrupt
    model file is logged once and the bot carries on with the rules alone."""
    try:
        classifier.use_model(model_file or DEFAULT_MODEL)
    except NlpError as exc:
        log.warning("learned model not loaded, classifying by rules alone: %s", exc)


async def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    classifier: Classifier | None = None,
    check_migrations: bool = True,
    inline_sqlite: bool = True,
) -> App:
    """`inline_sqlite`: SQLite called on the loop's thread (storage/sqlite_inline.py); the web desk passes
    False, so a long report query runs on aiosqlite's thread and never holds up its pages."""
    engine = make_engine(settings.database.url, inline=inline_sqlite)
    if check_migrations and await pending_revisions(engine):
        await engine.dispose()
        raise NotMigrated("the database schema is not up to date: run `gridbot db upgrade`")
    clock = clock or SystemClock(settings.timezone)
    uow_factory = SqlUnitOfWorkFactory(make_session_factory(engine), clock)
    if classifier is None:
        rules = load_classifier(settings.nlp.rules_file, await compound_aliases(uow_factory))
        add_second_opinion(rules, settings.nlp.model_file)
        classifier = rules
    metrics = Metrics()
    limits = Limits(reports_per_hour=settings.residents.reports_per_hour)
    core = Core(
        uow_factory,
        classifier,
        clock,
        ChineseWorkCalendar(),
        observer=metrics,
        retry=transient,
        limits=limits,
    )
    outbox = SqlOutboxQueue(uow_factory.session_factory, clock)
    broadcast_queue = SqlDeliveryQueue(uow_factory.session_factory, clock)
    ticks = [
        Tick("work-order-timers", core.run_timers, every_seconds=30),
        Tick("checkins", core.run_checkins, every_seconds=60),
        *broadcast_ticks(uow_factory, clock, broadcast_queue, settings.delivery.lease),
        statistics_tick(uow_factory, clock),
        retention_tick(uow_factory.session_factory, clock, settings.residents),
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
        metrics=metrics,
        classifier=classifier,
    )


async def load_campaigns(app: App) -> int:
    """Store the campaign library (and staff's own campaigns) so chat commands can use them."""
    broadcast = app.settings.broadcast
    dirs = [d for d in (broadcast.campaigns_dir, broadcast.own_campaigns_dir) if d and d.is_dir()]
    files = read_dirs(dirs)
    async with app.uow_factory() as uow:
        await store(uow, files, app.settings.timezone)
        await uow.commit()
    return len(files)
