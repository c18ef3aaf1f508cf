"""Drain the outbox through a transport's messenger, recording each outcome."""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Protocol

from bot.delivery.outcomes import OutcomesFirst
from bot.delivery.ratelimit import Lane, RateLimiter
from bot.settings import DeliverySettings
from handlers.messages import Reply
from storage.queues.handoff import Sent, urgent_first
from storage.queues.leases import DeliveryOutcome, retry_or_fail
from storage.queues.outbox import QueuedReply, SqlOutboxQueue, handed_name

log = logging.getLogger(__name__)

# A chat's turn this close is simply waited for; a longer wait sets its messages aside for a later pass.
CHAT_WAIT_INLINE = 0.5
# A "sent" not written when a pass ends waits this long for a transaction of this process to carry it
# (storage/uow.py: one commit fewer per message), then is written on its own.
CARRY_WAIT = 0.1


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


def _log_lost(lost: set[int]) -> None:
    for row_id in sorted(lost):
        # Our lease had run out and the row went back: it may be sent again.
        log.warning("outbox %s: the claim expired before it was recorded as sent", row_id)


class OutboxSender:
    """Sends queued replies in order, within the limiter's pace; each row is sent once in normal operation.

    A 429 pauses all sending for `retry_after`, then the same message is retried first (order is kept);
    a 403 fails the row and marks the chat unreachable; other errors are retried on later passes (the
    chat's later messages wait for it). Every claim counts as an attempt, and a row is given up after
    `delivery.max_attempts`.

    Several replicas may drain one outbox: claims carry `delivery.sender_name` (one process per name), a
    chat's messages go to one sender at a time (see `SqlOutboxQueue.claim`), and claims older than the
    lease are taken to belong to a dead process and put back.

    Urgent rows (an emergency's advice and alerts) are claimed first and sent in the limiter's urgent
    lane; `wake(urgent=True)` (the transport, right after the commit) makes them go next rather than after
    the batch in hand: handed over in memory, they are moved to its front (as a claim would order them);
    possibly waiting in the queue, the rest of the batch is given back and the sender claims again. They
    wait for their chat's turn inline instead of being set aside for a later pass.
    """

    def __init__(
        self,
        queue: SqlOutboxQueue,
        messenger: Messenger,
        limiter: RateLimiter | None = None,
        *,
        delivery: DeliverySettings | None = None,
        outcomes: OutcomesFirst | None = None,
    ) -> None:
        """`outcomes`: shared with the process's other writers, so a "sent" is written before them."""
        self._queue = queue
        self._messenger = messenger
        self._limiter = limiter
        self._delivery = delivery or DeliverySettings()
        self.name = self._delivery.sender_name
        self._lease = self._delivery.lease
        self._last_sweep = 0.0
        self._wake = asyncio.Event()
        self._urgent = asyncio.Event()  # urgent rows were committed since the last claim
        self._urgent_queued = False  # ... some of them in the queue, not handed over: a claim takes them
        self._outcomes = outcomes or OutcomesFirst()
        self._handed: collections.deque[QueuedReply] = collections.deque()
        self._claim = True  # rows may wait in the queue: the next pass claims
        self._sent: list[Sent] = []  # sent, their "sent" not written yet (at most `in_flight`)
        self._settled = asyncio.Event()  # no "sent" being written (by this sender or a carrying commit)
        self._settled.set()
        self._timer: asyncio.TimerHandle | None = None
        self._writes: set[asyncio.Task[None]] = set()
        self._threads: dict[tuple[int, int], int] = {}  # (chat, order) -> message just sent there

    def take(self, items: list[QueuedReply], *, left_pending: bool, left_urgent: bool = False) -> None:
        """Replies committed claimed for this sender (storage/queues/outbox.py `Handoff`): sent at the next
        pass without a claim; `left_pending`: others were queued behind a busy chat, claim them too
        (`left_urgent`: some of those are urgent)."""
        self._handed.extend(items)
        self._urgent_queued = self._urgent_queued or left_urgent
        if left_urgent or any(item.urgent for item in items):
            self._urgent.set()
        self._claim = self._claim or left_pending
        self._wake.set()

    def carry_sent(self) -> list[Sent]:
        """For a committing unit of work (storage/uow.py): the "sent" not written yet, to be written in its
        transaction. Until `carried`, this sender sends nothing more: one message at most stays unmarked."""
        if not self._sent or not self._settled.is_set():
            return []
        sent, self._sent = self._sent, []
        self._settled.clear()
        self._stop_timer()
        return sent

    def carried(self, items: list[Sent], lost: set[int] | None) -> None:
        """The carrying transaction is over: committed (`lost`: ids whose lease had run out), or not (None:
        they are written by this sender, before its next message or after CARRY_WAIT)."""
        if lost is None:
            self._sent[:0] = items
            self._write_later()
        else:
            _log_lost(lost)
        self._settled.set()

    async def settle(self) -> None:
        """Write now the "sent" left for a carrying transaction (at a stop)."""
        await self._write_sent()

    async def recover(self) -> int:
        """At start: take back what this name held before (a restart) and what dead senders held."""
        mine = await self._queue.release_owned(self.name)
        mine += await self._queue.release_owned(handed_name(self.name))
        stale = await self._queue.release_stale(self._lease)
        self._last_sweep = time.monotonic()
        return mine + stale

    def wake(self, *, urgent: bool = False, claim: bool = True) -> None:
        """New rows were committed: drain now instead of at the next poll (urgent ones before the rest
        of the batch in hand). `claim=False`: only what was handed over in memory (`take`)."""
        if urgent:
            self._urgent.set()
            self._urgent_queued = self._urgent_queued or claim  # committed elsewhere: maybe not in hand
        self._claim = self._claim or claim
        self._wake.set()

    async def flush(self, *, claim: bool = True, carry: bool = False) -> int:
        """Send everything pending now; returns how many messages were delivered. `claim=False`: only
        what was handed over in memory, unless something was put back meanwhile. `carry` (the running
        sender): the last "sent" is left for the process's next commit to write (CARRY_WAIT at most)."""
        delivered = 0
        # Chats that must wait (a group's 20 a minute, a chat's 1 a second) are skipped, not waited for:
        # one busy group must not hold up everybody else's messages. Their rows stay queued, in order.
        waiting: set[int] = set()
        refused: set[int] = set()  # 403 in this pass: the rest of the batch for them is not even tried
        try:
            async with self._queue.holding():
                delivered = await self._pass(claim, waiting, refused)
        finally:
            self._threads.clear()
            if carry:
                self._write_later()
            else:
                await self._write_sent()
        return delivered

    async def _pass(self, claim: bool, waiting: set[int], refused: set[int]) -> int:
        """`flush`'s loop: what was handed over, then (when claiming) what a claim takes, until none."""
        delivered = 0
        while True:
            self._urgent.clear()  # what is committed from here on is seen by this claim or wakes again
            if self._handed and not self._urgent_queued:  # handed over at commit: claimed, in order
                # (Sent without asking for a 429 pause first: each send's `acquire` waits one out.)
                batch = urgent_first(list(self._handed))
                self._handed.clear()
            elif claim or self._claim or self._urgent_queued:
                claim, self._claim = True, False  # once claiming, claim until the queue is empty
                self._urgent_queued = False
                batch = await self._claim_batch(frozenset(waiting))
                if not batch:
                    if self._handed:  # the claim was for urgent rows, and their chats were in hand
                        continue
                    break
            else:
                break
            delivered += await self._send_batch(batch, waiting, refused)
        return delivered

    async def _claim_batch(self, skip_chats: frozenset[int]) -> list[QueuedReply]:
        """Claim the next batch, if the queue holds anything to claim (under two replicas most claims came
        while the other replica was still sending to a shared chat, and found nothing)."""
        if not await self._queue.claimable(skip_chats):
            return []
        if self._limiter is not None and (pause := await self._limiter.pause_remaining()) > 0:
            # A 429 (here or in another replica): wait before claiming, so no claim ages meanwhile.
            await asyncio.sleep(pause)
        return await self._queue.claim(self._delivery.batch_size, skip_chats=skip_chats, owner=self.name)

    async def _send_batch(self, batch: list[QueuedReply], waiting: set[int], refused: set[int]) -> int:
        delivered = 0
        pending = collections.deque(batch)
        while pending:
            item = pending.popleft()
            if self._urgent.is_set() and not item.urgent:
                # An emergency was committed meanwhile: it goes next, this batch's rest after it.
                self._urgent.clear()
                if self._urgent_queued:  # (some of) it in the queue: the rest goes back, a claim takes it
                    await self._release([item, *pending])
                    break
                # All in hand: to the front (what it refers back to with it), no round trip to the queue.
                pending = collections.deque(urgent_first([item, *pending, *self._handed]))
                self._handed.clear()
                continue
            chat_id = item.reply.chat_id
            if chat_id in refused:
                await self._record(item, DeliveryOutcome.UNREACHABLE, error="chat refused an earlier message")
                continue
            if chat_id in waiting and not item.urgent:
                await self._release([item])
                continue
            outcome = await self._deliver(item)
            if outcome is None:  # the chat's own limits hold it longer than CHAT_WAIT_INLINE
                waiting.add(chat_id)
                await self._release([item])
                continue
            if outcome is DeliveryOutcome.RATE_LIMITED:
                # This row went back to the queue; so does the rest of the batch, so that messages
                # keep their order once sending resumes.
                await self._release(list(pending))
                break
            if outcome is DeliveryOutcome.UNREACHABLE:
                refused.add(chat_id)
            elif outcome is DeliveryOutcome.SENT:
                delivered += 1
            else:
                # Failed, to be retried: the chat's later messages must not overtake it.
                waiting.add(chat_id)
        return delivered

    async def _release(self, items: list[QueuedReply]) -> None:
        """Put rows back in the queue untried (a later claim takes them, in order), with the rows of their
        chats handed over since: those must not overtake them (urgent ones may, as in the queue)."""
        chats = {item.chat_id for item in items}
        behind = [item for item in self._handed if item.chat_id in chats and not item.urgent]
        for item in behind:
            self._handed.remove(item)
        if items or behind:
            await self._queue.release([i.id for i in [*items, *behind]])
            self._claim = True

    async def run(self, stop: asyncio.Event, poll_interval: float = 2.0) -> None:
        """Drain continuously until `stop` is set: woken by `wake()`, and polling as a safety net."""
        while not stop.is_set():
            self._wake.clear()
            try:
                await self._sweep()
                claim, self._claim = self._claim, False
                await self.flush(claim=claim, carry=True)
            except Exception:  # a database hiccup must not kill the sender; the next pass retries
                log.exception("outbox pass failed")
                self._claim = True
            wake = asyncio.ensure_future(self._wake.wait())
            halt = asyncio.ensure_future(stop.wait())
            try:
                done, _ = await asyncio.wait(
                    [wake, halt], timeout=poll_interval, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                wake.cancel()
                halt.cancel()
            if not done:
                self._claim = True  # the safety net: rows other processes queued are claimed every poll
        await self.settle()

    async def _sweep(self) -> None:
        """Now and then, put back the claims of senders that died (their lease ran out)."""
        if time.monotonic() - self._last_sweep < self._lease.total_seconds() / 2:
            return
        self._last_sweep = time.monotonic()
        released = await self._queue.release_stale(self._lease)
        if released:
            log.info("outbox: %d message(s) claimed by a stopped sender put back", released)

    async def _deliver(self, item: QueuedReply) -> DeliveryOutcome | None:
        """Send one reply and record what happened to it; None (nothing sent) when its chat must wait
        longer than CHAT_WAIT_INLINE (an emergency's rows wait for their chat's turn right here)."""
        if self._limiter is not None:
            lane = Lane.URGENT if item.urgent else Lane.REPLY
            if not await self._limiter.acquire(
                item.chat_id, lane, defer_after=None if item.urgent else CHAT_WAIT_INLINE
            ):
                return None
        reply_to = item.reply_to_message_id
        if not item.resolved and item.reply.order_id is not None:  # handed: its thread is found now
            key = (item.reply.chat_id, item.reply.order_id)
            reply_to = self._threads.get(key) or await self._queue.latest_message(*key)
        # The previous message's "sent" is written before this one goes out (written or carried): a crash
        # resends at most `in_flight` messages (the one on the wire, by default).
        await self._settled.wait()
        if len(self._sent) >= self._delivery.in_flight:
            await self._write_sent()
        try:
            message_id = await self._messenger.send(item.reply, reply_to)
        except RetryLater as error:
            log.warning("outbox %s: rate limited, retry in %.1fs", item.id, error.seconds)
            # Bounded: each claim counts as an attempt, and max_attempts ends it.
            await self._record(
                item, retry_or_fail(item.attempts, self._delivery.max_attempts), error=str(error)
            )
            if self._limiter is not None:
                self._limiter.pause(error.seconds)  # all chats wait: flood control is per bot
            else:
                await asyncio.sleep(min(error.seconds, 60))
            return DeliveryOutcome.RATE_LIMITED
        except Unreachable as error:
            log.info("outbox %s: recipient unreachable", item.id)
            await self._record(item, DeliveryOutcome.UNREACHABLE, error=str(error))
            return DeliveryOutcome.UNREACHABLE
        except DeliveryError as error:
            log.warning("outbox %s: delivery failed (%s)", item.id, type(error).__name__)
            outcome = retry_or_fail(item.attempts, self._delivery.max_attempts)
            await self._record(item, outcome, error=str(error))
            return outcome
        if message_id is not None and item.reply.order_id is not None:
            self._threads[(item.reply.chat_id, item.reply.order_id)] = message_id
        self._sent.append((item, message_id))
        return DeliveryOutcome.SENT

    async def _write_sent(self) -> None:
        """Write the "sent" of what went out since the last write, in one statement and transaction."""
        await self._settled.wait()  # a carrying commit first: outcomes are written in order
        if not self._sent:
            return
        sent, self._sent = self._sent, []
        self._settled.clear()
        self._stop_timer()
        try:
            async with self._outcomes.recording():  # the in-flight window: see bot/delivery/outcomes.py
                lost = await self._queue.record_sent(sent)
        except BaseException:
            self._sent[:0] = sent  # still to be written, before the next message goes out
            raise
        finally:
            self._settled.set()
        _log_lost(lost)

    def _write_later(self) -> None:
        """Unless a commit carries them first, write the pending "sent" after CARRY_WAIT."""
        if self._sent and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(CARRY_WAIT, self._start_write)

    def _stop_timer(self) -> None:
        """What it would have written was taken: a later pass's "sent" gets its own CARRY_WAIT."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _start_write(self) -> None:
        self._timer = None
        task = asyncio.ensure_future(self._write_pending())
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write_pending(self) -> None:
        try:
            await self._write_sent()
        except Exception:  # the database briefly away: try again (the next message waits for it anyway)
            log.exception("outbox: writing what was sent failed")
            self._write_later()

    async def _record(
        self, item: QueuedReply, outcome: DeliveryOutcome, *, message_id: int | None = None, error: str = ""
    ) -> None:
        await self._write_sent()  # outcomes are written in the order they happened
        if not await self._queue.record(item, outcome, message_id=message_id, error=error):
            # Our lease had run out and the row went back: it may be sent again.
            log.warning("outbox %s: the claim expired before its outcome (%s) was recorded", item.id, outcome)
