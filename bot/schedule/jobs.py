"""Broadcast jobs for the Ticker (bot/scheduler.py): the database says what is due, ticks only look."""

from __future__ import annotations

from datetime import timedelta

from bot.schedule.scheduler import Tick
from handlers.broadcasts.planning import notify_finished, plan_due
from handlers.ports import Clock, UnitOfWorkFactory
from storage.queues.broadcasts import SqlDeliveryQueue


def broadcast_ticks(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    queue: SqlDeliveryQueue,
    lease: timedelta,
    every_seconds: float = 15.0,
) -> list[Tick]:
    """Plan due runs (expanding them into delivery rows), tell staff about finished runs, and hand
    the claims of dead senders (older than `lease`) back to the queue."""

    async def release_stale() -> int:
        return await queue.release_stale(lease)

    return [
        Tick("broadcast-plan", lambda: plan_due(uow_factory, clock), every_seconds),
        Tick("broadcast-summaries", lambda: notify_finished(uow_factory), every_seconds),
        Tick("broadcast-release-stale", release_stale, max(every_seconds, lease.total_seconds() / 2)),
    ]
