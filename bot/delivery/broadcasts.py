"""Send broadcast deliveries: claim rows, pace them within Telegram's limits, record every outcome.

One message is in flight per sender at any time, and its outcome is committed as soon as Telegram
answers. So a crash (SIGKILL, power loss) can leave at most one message sent but not recorded; when the
row is handed out again that one recipient gets the message twice. Everything else is exact: rows are
claimed in transactions (never by two senders), unsent claimed rows go back to the queue, and a restart
continues where the ledger says it stopped.

429 `retry_after`: all sending pauses that long (the shared limiter), the same message is retried in
place a bounded number of times, then it goes back to the queue. 403: the row and the chat are marked
unreachable and never retried. Other errors: back to the queue until `max_attempts`, then failed.
Claims, leases and attempts are the reply outbox's (`DeliverySettings`); pace and 429 handling are
broadcasts' own (`BroadcastSettings`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.delivery.outcomes import OutcomesFirst
from bot.delivery.ratelimit import Lane, Limits, RateLimiter, lane_of
from bot.delivery.replies import DeliveryError, Messenger, RetryLater, Unreachable
from bot.settings import BroadcastSettings, DeliverySettings
from handlers.messages import Reply
from storage.queues.broadcasts import ClaimedDelivery, SqlDeliveryQueue
from storage.queues.leases import DeliveryOutcome, retry_or_fail

log = logging.getLogger(__name__)


class SteadyPace:
    """At most `rate` sends a second, evenly spaced.

    The shared RateLimiter keeps per-chat limits and the 429 pause, but its overall token bucket lets a
    full second's worth go out at once after any idle time (start-up, a 429 pause). Against a sliding
    one-second window such a burst followed by the steady rate is a 429 every second; a bulk send gains
    nothing from bursting, so broadcasts are also spaced evenly.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = 1.0 / rate
        self._slowest = 1.0 / (rate * 0.9)
        # Sends follow a grid of planned times, so sleep overshoot (about a millisecond each) does not add
        # up to a slower rate; a send later than this behind the grid restarts it (no catch-up burst).
        self._tolerance = self._interval / 4
        self._clock, self._sleep = clock, sleep
        self._next = float("-inf")

    def slow_down(self) -> None:
        """A 429 despite the pace (timing jitter on a busy machine): space sends 2% wider, down to 90%."""
        self._interval = min(self._interval * 1.02, self._slowest)

    async def wait(self) -> None:
        delay = self._next - self._clock()
        if delay > 0:
            await self._sleep(delay)
        planned = max(self._next, self._clock() - self._tolerance)
        self._next = planned + self._interval


@dataclass
class SendStats:
    sent: int = 0
    failed: int = 0
    unreachable: int = 0
    requeued: int = 0
    rate_limited: int = 0  # 429 answers
    lease_lost: int = 0  # outcomes another sender had taken over (possible duplicates)
    started: float = field(default_factory=time.monotonic)


class BroadcastSender:
    def __init__(
        self,
        queue: SqlDeliveryQueue,
        messenger: Messenger,
        delivery: DeliverySettings,
        broadcast: BroadcastSettings,
        *,
        limiter: RateLimiter | None = None,
        pace: SteadyPace | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        outcomes: OutcomesFirst | None = None,
    ) -> None:
        self._queue, self._messenger = queue, messenger
        self._delivery, self._broadcast = delivery, broadcast
        self.name = delivery.sender_name
        rate = broadcast.rate_per_second
        # On its own (`gridbot broadcast send`); beside the bot, it shares the bot's limiter instead.
        self._limiter = limiter or RateLimiter(
            Limits(per_chat_per_second=delivery.per_chat_per_second, overall_per_second=rate)
        )
        self._pace = pace or SteadyPace(rate * broadcast.pace_margin)
        self._sleep = sleep
        self.stats = SendStats()
        self._wake = asyncio.Event()
        self._urgent = asyncio.Event()  # an /alert was planned since the last claim
        self._outcomes = outcomes or OutcomesFirst()  # "sent" before the process's other writes

    def wake(self, *, urgent: bool = False) -> None:
        """Deliveries were planned: look now instead of at the next poll; an alert's go before the rest
        of the batch in hand."""
        if urgent:
            self._urgent.set()
        self._wake.set()

    async def start(self) -> int:
        """Take back what a previous process under this name held, and what dead senders held."""
        mine = await self._queue.release_owned(self.name)
        stale = await self._queue.release_stale(self._delivery.lease)
        if mine or stale:
            log.info("sender %s: %d own and %d stale claims back in the queue", self.name, mine, stale)
        return mine + stale

    async def drain(self, stop: asyncio.Event | None = None) -> SendStats:
        """Send until nothing is pending (or `stop` is set); rows claimed but not sent are given back."""
        try:
            while stop is None or not stop.is_set():
                self._urgent.clear()
                async with self._outcomes.writing():
                    batch = await self._queue.claim(self.name, self._delivery.batch_size)
                if not batch:
                    break
                for index, item in enumerate(batch):
                    if self._urgent.is_set() and lane_of(item.priority, bulk=True) is Lane.BULK:
                        await self._queue.release([i.id for i in batch[index:]])  # the alert goes next
                        break
                    if stop is not None and stop.is_set():
                        await self._queue.release_owned(self.name)
                        log.info(
                            "sender %s: stopping, %d claimed rows given back", self.name, len(batch) - index
                        )
                        break
                    await self._deliver(item)
        finally:
            if stop is not None and stop.is_set():
                await self._queue.release_owned(self.name)
        return self.stats

    async def run(self, stop: asyncio.Event, poll_interval: float = 2.0) -> None:
        """Drain continuously until `stop` is set, polling for new runs."""
        await self.start()
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.drain(stop)
            except Exception:  # a database hiccup must not kill the sender; the next pass retries
                log.exception("broadcast pass failed")
            wake = asyncio.ensure_future(self._wake.wait())
            halt = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait([wake, halt], timeout=poll_interval, return_when=asyncio.FIRST_COMPLETED)
            finally:
                wake.cancel()
                halt.cancel()

    async def _deliver(self, item: ClaimedDelivery) -> None:
        reply = Reply(item.chat_id, item.text)
        retries = 0
        while True:
            await self._pace.wait()
            await self._limiter.acquire(item.chat_id, lane_of(item.priority, bulk=True), bulk=True)
            try:
                message_id = await self._messenger.send(reply, None)
            except RetryLater as error:
                self.stats.rate_limited += 1
                retries += 1
                pause = min(error.seconds, self._broadcast.max_pause_seconds)
                log.warning("delivery %s: rate limited, pausing %.1fs (retry %d)", item.id, pause, retries)
                self._limiter.pause(pause)
                self._pace.slow_down()
                await self._queue.renew(self.name)  # waiting is not dying: keep the claims
                if retries > self._broadcast.max_rate_limited_retries:
                    await self._requeue(item, str(error))
                    return
                continue
            except Unreachable as error:
                log.info("delivery %s: recipient unreachable", item.id)
                self.stats.unreachable += 1
                await self._record(item, DeliveryOutcome.UNREACHABLE, error=str(error))
                return
            except DeliveryError as error:
                log.warning("delivery %s: failed (%s)", item.id, type(error).__name__)
                await self._requeue(item, str(error))
                return
            self.stats.sent += 1
            async with self._outcomes.recording():
                await self._record(item, DeliveryOutcome.SENT, message_id=message_id)
            return

    async def _requeue(self, item: ClaimedDelivery, error: str) -> None:
        outcome = retry_or_fail(item.attempts, self._delivery.max_attempts)
        if outcome is DeliveryOutcome.RETRY:
            self.stats.requeued += 1
        else:
            self.stats.failed += 1
        await self._record(item, outcome, error=error)

    async def _record(
        self,
        item: ClaimedDelivery,
        outcome: DeliveryOutcome,
        *,
        message_id: int | None = None,
        error: str = "",
    ) -> None:
        if not await self._queue.record(item, outcome, message_id=message_id, error=error):
            # Our lease had expired and another sender took the row: it may send it again.
            self.stats.lease_lost += 1
            log.warning("sender %s: a claim expired before its outcome was recorded", self.name)


@asynccontextmanager
async def telegram_messenger(
    token: str, api_url: str, limiter: RateLimiter | None = None
) -> AsyncIterator[Messenger]:
    """A Bot API messenger for a sender process: the Telegram adapters' aiogram messenger, without
    the dispatcher (a sender only sends)."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    from bot.telegram.aiogram_adapter import AiogramMessenger

    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_url.rstrip("/"))))
    try:
        yield AiogramMessenger(bot, limiter)
    finally:
        await bot.session.close()
