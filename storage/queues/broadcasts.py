"""The delivery ledger as senders see it: claim rows under a lease, record each outcome, report progress.

Claims are transactions: `FOR UPDATE SKIP LOCKED` on PostgreSQL, the database-wide write lock
(BEGIN IMMEDIATE) on SQLite, and in both a row moves pending -> sending with the sender's name and the
claim time. Two senders therefore never hold the same row. The lease, the outcomes and the releases are
the reply outbox's too: storage/queues/leases.py.

Outcomes are written one message at a time, right after Telegram answered: a crash can lose at most the
record of the one message in flight, which is then sent again — the bounded duplicate window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select

from handlers.broadcasts.model import BroadcastStatus, RunCounts
from storage.models import BroadcastDeliveryRow, BroadcastRow, BroadcastRunRow
from storage.queues.leases import LeaseQueue, owner_name
from storage.repositories.broadcasts import counts_from

# Runs whose broadcast is in these states hand out messages; pausing or cancelling stops a run mid-way.
_SENDABLE = (BroadcastStatus.APPROVED.value, BroadcastStatus.FINISHED.value)


@dataclass(frozen=True)
class ClaimedDelivery:
    id: int
    run_id: int
    chat_id: int
    text: str
    attempts: int
    owner: str = ""  # the sender holding the claim
    priority: int = 0  # handlers.broadcasts.model: an /alert's deliveries go first


@dataclass(frozen=True)
class Progress:
    """Counts of one broadcast (all its runs), or of everything when `broadcast_id` is None."""

    broadcast_id: int | None
    title: str
    counts: RunCounts
    last_sent_at: datetime | None


class SqlDeliveryQueue(LeaseQueue):
    """Outcomes, releases and leases: storage/queues/leases.py."""

    rows = BroadcastDeliveryRow
    unreachable_status = "unreachable"  # counted apart in a run's progress

    async def claim(self, sender: str, limit: int = 20) -> list[ClaimedDelivery]:
        """Take up to `limit` pending rows, highest priority (alerts) first, oldest first."""
        now = self._clock.now()
        async with self._session_factory() as session, session.begin():
            query = (
                select(BroadcastDeliveryRow, BroadcastRunRow.text)
                .join(BroadcastRunRow, BroadcastRunRow.id == BroadcastDeliveryRow.run_id)
                .join(BroadcastRow, BroadcastRow.id == BroadcastRunRow.broadcast_id)
                .where(BroadcastDeliveryRow.status == "pending", BroadcastRow.status.in_(_SENDABLE))
                .order_by(BroadcastDeliveryRow.priority.desc(), BroadcastDeliveryRow.id)
                .limit(limit)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(of=BroadcastDeliveryRow, skip_locked=True)
            found = (await session.execute(query)).all()
            texts = {row.id: text for row, text in found}
            taken = await self._hand_out(session, [row for row, _ in found], sender, now)
            return [
                ClaimedDelivery(
                    row.id,
                    row.run_id,
                    row.chat_id,
                    texts[row.id],
                    row.attempts,
                    owner_name(sender),
                    row.priority,
                )
                for row in taken
            ]

    async def has_work(self) -> bool:
        async with self._session_factory() as session:
            found = await session.scalar(
                select(BroadcastDeliveryRow.id)
                .join(BroadcastRunRow, BroadcastRunRow.id == BroadcastDeliveryRow.run_id)
                .join(BroadcastRow, BroadcastRow.id == BroadcastRunRow.broadcast_id)
                .where(
                    or_(
                        and_(BroadcastDeliveryRow.status == "pending", BroadcastRow.status.in_(_SENDABLE)),
                        BroadcastDeliveryRow.status == "sending",
                    )
                )
                .limit(1)
            )
            return found is not None

    async def progress(self, broadcast_id: int | None = None) -> Progress:
        async with self._session_factory() as session:
            query = select(BroadcastDeliveryRow.status, func.count(), func.max(BroadcastDeliveryRow.sent_at))
            title = "全部广播"
            if broadcast_id is not None:
                runs = select(BroadcastRunRow.id).where(BroadcastRunRow.broadcast_id == broadcast_id)
                query = query.where(BroadcastDeliveryRow.run_id.in_(runs))
                row = await session.get(BroadcastRow, broadcast_id)
                title = row.title if row else "?"
            result = await session.execute(query.group_by(BroadcastDeliveryRow.status))
            by_status: dict[str, int] = {}
            last: datetime | None = None
            for status, count, sent_at in result.all():
                by_status[status] = int(count)
                if sent_at is not None and (last is None or sent_at > last):
                    last = sent_at
            return Progress(broadcast_id, title, counts_from(by_status), last)

    async def deliveries_per_chat(self, broadcast_id: int) -> dict[int, list[str]]:
        """Every row's status by chat (tests and the benchmark check: one row per chat and run)."""
        async with self._session_factory() as session:
            runs = select(BroadcastRunRow.id).where(BroadcastRunRow.broadcast_id == broadcast_id)
            result = await session.execute(
                select(BroadcastDeliveryRow.chat_id, BroadcastDeliveryRow.status).where(
                    BroadcastDeliveryRow.run_id.in_(runs)
                )
            )
            found: dict[int, list[str]] = {}
            for chat, status in result.all():
                found.setdefault(int(chat), []).append(str(status))
            return found
