"""Drain the outbox through a transport's messenger, recording each outcome."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from datetime import timedelta
from typing import Protocol

from bot.delivery.ratelimit import RateLimiter
from handlers.messages import Reply
from storage.queues.outbox import QueuedReply, SqlOutboxQueue

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# A chat's turn this close is simply waited for; a longer wait sets its messages aside for a later pass.
CHAT_WAIT_INLINE = 0.5


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
    """Sends queued replies in order, within the limiter's pace; each row is sent once in normal operation.

    A 429 pauses all sending for `retry_after`, then the same message is retried first (order is kept);
    a 403 fails the row and marks the chat unreachable; other errors are retried on later passes (the
    chat's later messages wait for it). Every claim counts as an attempt, and a row is given up after
    MAX_ATTEMPTS.

    Several replicas may drain one outbox: claims carry `name` (one process per name), a chat's messages
    go to one sender at a time (see `SqlOutboxQueue.claim`), and claims older than `lease` are taken to
    belong to a dead process and put back.
    """

    def __init__(
        self,
        queue: SqlOutboxQueue,
        messenger: Messenger,
        limiter: RateLimiter | None = None,
        *,
        name: str | None = None,
        lease: timedelta = timedelta(seconds=120),
    ) -> None:
        self._queue = queue
        self._messenger = messenger
        self._limiter = limiter
        self.name = name or socket.gethostname()
        self._lease = lease
        self._last_sweep = 0.0
        self._wake = asyncio.Event()

    async def recover(self) -> int:
        """At start: take back what this name held before (a restart) and what dead senders held."""
        mine = await self._queue.release_owned(self.name)
        stale = await self._queue.release_stale(self._lease)
        self._last_sweep = time.monotonic()
        return mine + stale

    def wake(self) -> None:
        """New rows were committed: drain now instead of at the next poll."""
        self._wake.set()

    async def flush(self) -> int:
        """Send everything pending now; returns how many messages were delivered."""
        delivered = 0
        # Chats that must wait (a group's 20 a minute, a chat's 1 a second) are skipped, not waited for:
        # one busy group must not hold up everybody else's messages. Their rows stay queued, in order.
        waiting: set[int] = set()
        refused: set[int] = set()  # 403 in this pass: the rest of the batch for them is not even tried
        while True:
            if self._limiter is not None and (pause := await self._limiter.pause_remaining()) > 0:
                # A 429 (here or in another replica): wait before claiming, so no claim ages meanwhile.
                await asyncio.sleep(pause)
            batch = await self._queue.claim(skip_chats=frozenset(waiting), owner=self.name)
            if not batch:
                break
            for index, item in enumerate(batch):
                chat_id = item.reply.chat_id
                if chat_id in refused:
                    await self._queue.mark_unreachable(item, "chat refused an earlier message")
                    continue
                if (
                    chat_id not in waiting
                    and self._limiter is not None
                    and await self._limiter.chat_delay(chat_id) > CHAT_WAIT_INLINE
                ):
                    waiting.add(chat_id)
                if chat_id in waiting:
                    await self._queue.release([item.id])
                    continue
                sent = await self._deliver(item)
                if sent is None:
                    # Rate limited: this row went back to the queue; so do the rest of the batch, so
                    # that messages keep their order once sending resumes.
                    await self._queue.release([i.id for i in batch[index + 1 :]])
                    break
                if sent < 0:
                    refused.add(chat_id)
                    continue
                if sent == 0:
                    # Failed, to be retried: the chat's later messages must not overtake it.
                    waiting.add(chat_id)
                    continue
                delivered += sent
        return delivered

    async def run(self, stop: asyncio.Event, poll_interval: float = 2.0) -> None:
        """Drain continuously until `stop` is set: woken by `wake()`, and polling as a safety net."""
        while not stop.is_set():
            self._wake.clear()
            try:
                await self._sweep()
                await self.flush()
            except Exception:  # a database hiccup must not kill the sender; the next pass retries
                log.exception("outbox pass failed")
            wake = asyncio.ensure_future(self._wake.wait())
            halt = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait([wake, halt], timeout=poll_interval, return_when=asyncio.FIRST_COMPLETED)
            finally:
                wake.cancel()
                halt.cancel()

    async def _sweep(self) -> None:
        """Now and then, put back the claims of senders that died (their lease ran out)."""
        if time.monotonic() - self._last_sweep < self._lease.total_seconds() / 2:
            return
        self._last_sweep = time.monotonic()
        released = await self._queue.release_stale(self._lease)
        if released:
            log.info("outbox: %d message(s) claimed by a stopped sender put back", released)

    async def _deliver(self, item: QueuedReply) -> int | None:
        """1 sent, 0 failed (for good or for a later pass), -1 chat unreachable, None rate limited (pause, retry)."""
        if self._limiter is not None:
            await self._limiter.acquire(item.reply.chat_id)
        try:
            message_id = await self._messenger.send(item.reply, item.reply_to_message_id)
        except RetryLater as error:
            log.warning("outbox %s: rate limited, retry in %.1fs", item.id, error.seconds)
            # Bounded: each claim counts as an attempt, and MAX_ATTEMPTS ends it.
            await self._queue.mark_failed(item, str(error), retry=item.attempts < MAX_ATTEMPTS)
            if self._limiter is not None:
                self._limiter.pause(error.seconds)  # all chats wait: flood control is per bot
            else:
                await asyncio.sleep(min(error.seconds, 60))
            return None
        except Unreachable as error:
            log.info("outbox %s: recipient unreachable", item.id)
            await self._queue.mark_unreachable(item, str(error))
            return -1
        except DeliveryError as error:
            log.warning("outbox %s: delivery failed (%s)", item.id, type(error).__name__)
            await self._queue.mark_failed(item, str(error), retry=item.attempts < MAX_ATTEMPTS)
            return 0
        await self._queue.mark_sent(item, message_id)
        return 1
