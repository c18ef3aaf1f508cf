"""Updates in: journal first, acknowledge second, handle third; replay what a crash left behind.

Both frameworks confirm an update to Telegram as soon as it is fetched (the next getUpdates offset, or the
webhook's 200), before the handler finished; a process killed in between loses the message. Here the
update is committed to the journal before the offset moves past it (polling) or the request is answered
(webhook), and marked handled only after the core committed. The core's inbound ledger (keyed by chat +
message id, or callback query id) makes a replayed update change nothing the second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from bot.telegram.base import chats_of, order_key
from storage.repositories.telegram import JournaledUpdate, SqlUpdateJournal

log = logging.getLogger(__name__)

# Failed handlings of one update before it is given up (replays at start-up and adoption rounds included).
MAX_FAILURES = 5
# Handled updates are marked in the journal together, this long after the first of them: one commit for
# every update handled meanwhile instead of one each (a third of a report's commits under load). A crash in
# between replays them at the next start, which the core's inbound ledger makes harmless.
MARK_WAIT = 0.05

ProcessFn = Callable[[dict[str, Any]], Awaitable[None]]
# Told when an update is given up: (update id, its kind such as "message"); tells staff, never raises.
GiveUpFn = Callable[[int, str], Awaitable[object]]
# Told the payloads queued since a worker last looked, as it takes the first of them (synchronous).
LookAheadFn = Callable[[list[dict[str, Any]]], None]
FetchFn = Callable[[int | None, int], Awaitable[list[dict[str, Any]]]]


@dataclass(slots=True)
class _Arrival:
    """One accept() call's updates, waiting to be journaled with the others that arrived meanwhile."""

    entries: list[JournaledUpdate]
    seen: set[int]
    written: asyncio.Future[set[int]]  # the update ids new to the journal in its round


class UpdatePump:
    def __init__(
        self,
        journal: SqlUpdateJournal,
        process: ProcessFn,
        *,
        workers: int = 1,
        adopt_after: float | None = None,
        on_give_up: GiveUpFn | None = None,
        writing: Callable[[], AbstractAsyncContextManager[None]] | None = None,
        look_ahead: LookAheadFn | None = None,
    ) -> None:
        """`adopt_after` (replicas): every so often, also handle journaled updates left unhandled longer
        than this many seconds, which another replica accepted and then died with. `writing`: held
        around each journal write (a sender's "sent" goes first: bot/delivery/outcomes.py). `look_ahead`:
        told the updates queued since a worker last looked, before it handles the first of them: the
        classifier takes a page of reports at once (RuleClassifier.look_ahead)."""
        self._journal = journal
        self._process = process
        self._queue: asyncio.Queue[JournaledUpdate] = asyncio.Queue()
        self._workers_count = max(1, workers)
        self._workers: list[asyncio.Task[None]] = []
        self._locks: dict[int, asyncio.Lock] = {}
        self._mine: set[int] = set()  # update ids queued or being handled here
        self._adopt_after = adopt_after
        self._on_give_up = on_give_up
        self._writing = writing or contextlib.nullcontext
        self._look_ahead = look_ahead
        self._unseen: list[dict[str, Any]] = []  # queued since a worker last looked ahead
        self._to_mark: list[int] = []  # handled, not yet marked in the journal
        self._marking: asyncio.Task[None] | None = None
        self._arrivals: list[_Arrival] = []  # accepted, waiting for the next journal write
        self._journaling: asyncio.Task[None] | None = None
        self.handled = 0
        self.failed = 0
        self.given_up = 0

    async def start(self) -> int:
        """Queue the journaled updates a previous run did not finish, then start handling."""
        leftovers = await self._journal.unhandled(limit=100_000)
        for item in leftovers:
            self._enqueue(item)
        if leftovers:
            log.info("replaying %d journaled update(s) left unhandled", len(leftovers))
        self._workers = [
            asyncio.create_task(self._work(), name=f"gridbot-update-worker-{i}")
            for i in range(self._workers_count)
        ]
        if self._adopt_after is not None:
            self._workers.append(asyncio.create_task(self._adopting(), name="gridbot-update-adopter"))
        return len(leftovers)

    async def adopt(self, older_than: float) -> int:
        """Queue journaled updates unhandled for longer than `older_than` seconds and not queued here.

        With replicas, one may journal an update (so Telegram will not send it again) and die before
        handling it. Handling it here is safe even if its replica is merely slow: the core's inbound
        ledger makes the second handling change nothing.
        """
        found = await self._journal.unhandled(limit=1000, older_than=older_than)
        adopted = [item for item in found if item.update_id not in self._mine]
        for item in adopted:
            self._enqueue(item)
        if adopted:
            log.info("adopted %d journaled update(s) left unhandled by a stopped replica", len(adopted))
        return len(adopted)

    async def _adopting(self) -> None:
        assert self._adopt_after is not None
        while True:
            await asyncio.sleep(max(0.5, self._adopt_after / 2))
            try:
                await self.adopt(self._adopt_after)
            except Exception as error:  # the database may be briefly away; try again next round
                log.warning("adopting unhandled updates failed (%s)", type(error).__name__)

    def _enqueue(self, item: JournaledUpdate) -> None:
        self._mine.add(item.update_id)
        self._unseen.append(item.payload)
        self._queue.put_nowait(item)

    async def accept(self, payloads: list[dict[str, Any]]) -> int:
        """Journal `payloads` (committed when this returns) and queue the ones never seen before; returns
        how many of them were new.

        Telegram posts up to max_connections webhook updates at once: calls that arrive while a journal
        write is under way are written together by the next one (one transaction for all of them, not
        one each contending for the database). A failed write fails every call of its round.
        """
        entries = [JournaledUpdate(int(p["update_id"]), p) for p in payloads]
        seen: set[int] = set()
        for payload in payloads:
            seen |= chats_of(payload)
        written: asyncio.Future[set[int]] = asyncio.get_running_loop().create_future()
        self._arrivals.append(_Arrival(entries, seen, written))
        if self._journaling is None or self._journaling.done():
            self._journaling = asyncio.create_task(self._journal_arrivals(), name="gridbot-update-journal")
        fresh = await written  # a caller cancelled meanwhile (a dropped request) leaves the round as is
        return sum(1 for entry in entries if entry.update_id in fresh)

    async def _journal_arrivals(self) -> None:
        while self._arrivals:
            round_, self._arrivals = self._arrivals, []
            entries = {entry.update_id: entry for arrival in round_ for entry in arrival.entries}
            seen = set().union(*(arrival.seen for arrival in round_))
            try:
                async with self._writing():
                    fresh = await self._journal.record(entries.values(), seen)
            except Exception as error:  # each caller raises it: the webhook answers 500, Telegram retries
                for arrival in round_:
                    if not arrival.written.done():
                        arrival.written.set_exception(error)
                continue
            except BaseException:  # cancelled (the loop closing): no caller is left waiting for ever
                for arrival in [*round_, *self._arrivals]:
                    arrival.written.cancel()
                self._arrivals = []
                raise
            for item in fresh:
                self._enqueue(item)
            fresh_ids = {item.update_id for item in fresh}
            for arrival in round_:
                if not arrival.written.done():
                    arrival.written.set_result(fresh_ids)

    def _looking_ahead(self) -> None:
        unseen, self._unseen = self._unseen, []
        if self._look_ahead is None or len(unseen) < 2:  # one alone gains nothing from company
            return
        try:
            self._look_ahead(unseen)
        except Exception as error:  # only a saving: each update is handled as it would have been
            log.warning("looking ahead at %d update(s) failed (%s)", len(unseen), type(error).__name__)

    async def poll(self, fetch: FetchFn, stop: asyncio.Event, poll_seconds: int = 30) -> None:
        """Long-poll until `stop`; the offset only advances past updates already journaled."""
        offset: int | None = None
        backoff = 0.5
        while not stop.is_set():
            fetching = asyncio.ensure_future(fetch(offset, poll_seconds))
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({fetching, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not fetching.done():
                # Nothing fetched in this call was confirmed yet: Telegram sends it again next time.
                fetching.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await fetching
                break
            try:
                payloads = fetching.result()
                if payloads:
                    await self.accept(payloads)
                    offset = max(int(p["update_id"]) for p in payloads) + 1
                backoff = 0.5
            except Exception as error:  # network or database trouble: keep the offset, retry
                log.warning("getUpdates round failed (%s); retrying in %.1fs", type(error).__name__, backoff)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, 30.0)

    async def _report_given_up(self, item: JournaledUpdate) -> None:
        """Someone wrote and will get no answer: staff are told (a log line alone reaches nobody)."""
        if self._on_give_up is None:
            return
        kind = next((key for key in item.payload if key != "update_id"), "update")
        try:
            await self._on_give_up(item.update_id, kind)
        except Exception as error:  # the database may be what failed; the log line above stays
            log.warning("could not tell staff about update %s (%s)", item.update_id, type(error).__name__)

    async def drain(self, grace: float = 30.0) -> bool:
        """Finish the queued updates (graceful shutdown), then stop the workers. False on timeout."""
        finished = True
        try:
            await asyncio.wait_for(self._queue.join(), grace)
        except TimeoutError:
            finished = False
            log.warning("shutdown: %d update(s) left for the next start", self._queue.qsize())
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        if self._marking is not None:  # not awaited: with the database away it would retry for ever
            self._marking.cancel()
            await asyncio.gather(self._marking, return_exceptions=True)
        await self._mark_handled()  # one last try; what is left is replayed at the next start
        return finished

    def _handled(self, update_id: int) -> None:
        """Mark `update_id` handled in the journal within MARK_WAIT, with the others handled meanwhile."""
        self._to_mark.append(update_id)
        if self._marking is None or self._marking.done():
            self._marking = asyncio.create_task(self._mark_soon(), name="gridbot-update-marks")

    async def _mark_soon(self) -> None:
        # Until nothing waits: updates handled while a round was being written wait for the next round.
        wait = MARK_WAIT
        while self._to_mark:
            await asyncio.sleep(wait)
            wait = MARK_WAIT if await self._mark_handled() else min(max(2 * wait, 1.0), 30.0)

    async def _mark_handled(self) -> bool:
        """Mark what waits; False when the journal could not be written (they wait for the next round)."""
        marks, self._to_mark = self._to_mark, []
        if not marks:
            return True
        try:
            async with self._writing():
                await self._journal.mark_handled_many(marks)
        except BaseException as error:  # the database may be briefly away: the next round takes them along
            self._to_mark = marks + self._to_mark
            if not isinstance(error, Exception):  # cancelled (drain): the marks stay for its last try
                raise
            log.warning("marking %d update(s) handled failed (%s)", len(marks), type(error).__name__)
            return False
        # Only now may an adoption round (adopt) skip them as handled by the journal.
        self._mine.difference_update(marks)
        return True

    async def _work(self) -> None:
        while True:
            item = await self._queue.get()
            self._looking_ahead()
            handled = False
            try:
                # Same-chat updates keep their order even with several workers (PostgreSQL).
                lock = self._locks.setdefault(order_key(item.payload), asyncio.Lock())
                async with lock:
                    await self._process(item.payload)
                handled = True
                self.handled += 1
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # Stays unhandled in the journal: replayed at the next start. No content in the log.
                self.failed += 1
                log.error("update %s failed (%s)", item.update_id, type(error).__name__)
                log.debug("update %s failure details", item.update_id, exc_info=True)
                given_up = False
                with contextlib.suppress(Exception):  # the journal may be what failed; retry then
                    given_up = await self._journal.mark_failed(item.update_id, MAX_FAILURES)
                if given_up:
                    self.given_up += 1
                    log.error("update %s given up after %d failed attempts", item.update_id, MAX_FAILURES)
                    await self._report_given_up(item)
            finally:
                if handled:
                    self._handled(item.update_id)  # leaves _mine once marked in the journal
                else:
                    self._mine.discard(item.update_id)
                self._queue.task_done()
