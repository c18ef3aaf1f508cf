"""Drain the outbox through a transport's messenger, recording each outcome."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from handlers.messages import Reply
from storage.outbox import QueuedReply, SqlOutboxQueue

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


class DeliveryError(Exception):
    """Root of the errors a messenger raises when a message could not be delivered."""


class RetryLater(DeliveryError):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class Unreachable(DeliveryError):
    """The person blocked the bot or deleted their account: never retry."""


class Messenger(Protocol):
    async def send(self, reply: Reply, reply_to_message_id: int | None) -> int | None:
        """Deliver one reply; return the chat's message id of what was sent (None for an edit)."""
        ...


class OutboxSender:
    def __init__(self, queue: SqlOutboxQueue, messenger: Messenger) -> None:
        self._queue = queue
        self._messenger = messenger

    async def flush(self) -> int:
        """Send everything pending now; returns how many messages were delivered."""
        delivered = 0
        while batch := await self._queue.claim():
            for item in batch:
                delivered += await self._deliver(item)
        return delivered

    async def _deliver(self, item: QueuedReply) -> int:
        try:
            message_id = await self._messenger.send(item.reply, item.reply_to_message_id)
        except RetryLater as error:
            log.warning("outbox %s: rate limited, retry in %.1fs", item.id, error.seconds)
            await asyncio.sleep(min(error.seconds, 60))
            await self._queue.mark_failed(item, str(error), retry=item.attempts < MAX_ATTEMPTS)
            return 0
        except Unreachable as error:
            log.info("outbox %s: recipient unreachable", item.id)
            await self._queue.mark_failed(item, f"unreachable: {error}", retry=False)
            return 0
        except DeliveryError as error:
            log.warning("outbox %s: delivery failed (%s)", item.id, type(error).__name__)
            await self._queue.mark_failed(item, str(error), retry=item.attempts < MAX_ATTEMPTS)
            return 0
        await self._queue.mark_sent(item, message_id)
        return 1
