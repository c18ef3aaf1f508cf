"""The retention tick: sent messages deleted after some days, closed orders' free texts redacted after a
longer retention (GRIDBOT_KEEP_SENT_MESSAGES_DAYS, GRIDBOT_KEEP_CLOSED_ORDER_TEXTS_DAYS)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.schedule.scheduler import Tick
from bot.settings import ResidentsSettings
from handlers.community.texts import REDACTED
from handlers.ports import Clock
from storage.repositories.retention import SqlRetention

log = logging.getLogger(__name__)


def retention_tick(
    session_factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: ResidentsSettings,
    every_seconds: float = 3600.0,
) -> Tick:
    """One bounded batch of each per tick; a backlog (the first run over old data) takes a few ticks."""
    retention = SqlRetention(session_factory)

    async def run() -> int:
        now = clock.now()
        pruned = await retention.prune_sent(now - timedelta(days=settings.keep_sent_messages_days))
        cutoff = now - timedelta(days=settings.keep_closed_order_texts_days)
        redacted = await retention.redact_closed(cutoff, REDACTED, now)
        if pruned or redacted:
            log.info("retention: %d sent message(s) deleted, %d closed order(s) redacted", pruned, redacted)
        return pruned + redacted

    return Tick("retention", run, every_seconds)
