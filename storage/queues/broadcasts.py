"""The delivery ledger as senders see it: claim rows under a lease, record each outcome, report progress.

Claims are transactions: `FOR UPDATE SKIP LOCKED` on PostgreSQL, the database-wide write lock
(BEGIN IMMEDIATE) on SQLite, and in both a row moves pending -> sending with the sender's name and the
claim time. Two senders therefore never hold the same row. A sender that dies leaves its rows in
"sending"; they go back to "pending" when their lease expires (or at once when a sender with the same
name starts again, since a name is one process at a time).

Outcomes are written one message at a time, right after Telegram answered: a crash can lose at most the
record of the one message in flight, which is then sent again — the bounded duplicate window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.broadcasts.model import BroadcastStatus, RunCounts
from handlers.ports import Clock
from storage.models import BroadcastDeliveryRow, BroadcastRow, BroadcastRunRow, UnreachableChatRow
from storage.repositories.broadcasts import counts_from
from storage.upsert import insert_for

# Runs whose broadcast is in these states hand out messages; pausing or cancelling stops a run mid-way.
_SENDABLE = (BroadcastStatus.APPROVED.value, BroadcastStatus.FINISHED.value)


@dataclass(frozen=True)
class ClaimedDelivery:
    id: int
    run_id: int
    chat_id: int
    text: str
    attempts: int


@dataclass(frozen=True)
class Progress:
    """Counts of one broadcast (all its runs), or of everything when `broadcast_id` is None."""

    broadcast_id: int | None
    title: str
    counts: RunCounts
    last_sent_at: datetime | None


class SqlDeliveryQueue:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._session_factory = session_factory
        self._clock = clock

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
            found = [(row, text) for row, text in (await session.execute(query)).all()]
            blocked = set(
                await session.scalars(
                    select(UnreachableChatRow.chat_id).where(
                        UnreachableChatRow.chat_id.in_({row.chat_id for row, _ in found})
                    )
                )
            )
            claimed = []
            for row, text in found:
                if row.chat_id in blocked:
                    # Refused us before (403): record it without another pointless request.
                    row.status, row.error = "unreachable", "unreachable before this run"
                    continue
                row.status, row.claimed_by, row.claimed_at = "sending", sender, now
                row.attempts += 1
                claimed.append(ClaimedDelivery(row.id, row.run_id, row.chat_id, text, row.attempts))
            return claimed

    async def _finish(self, item: ClaimedDelivery, sender: str, **values: object) -> bool:
        """Record an outcome if this sender still holds the row; False when its lease was lost."""
        async with self._session_factory() as session, session.begin():
            result = await session.execute(
                update(BroadcastDeliveryRow)
                .where(
                    BroadcastDeliveryRow.id == item.id,
                    BroadcastDeliveryRow.status == "sending",
                    BroadcastDeliveryRow.claimed_by == sender,
                )
                .values(**values)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]  # CursorResult has rowcount

    async def mark_sent(self, item: ClaimedDelivery, sender: str, message_id: int | None) -> bool:
        return await self._finish(
            item, sender, status="sent", message_id=message_id, sent_at=self._clock.now(), error=None
        )

    async def mark_failed(self, item: ClaimedDelivery, sender: str, error: str, *, retry: bool) -> bool:
        values: dict[str, object] = {"status": "pending" if retry else "failed", "error": error[:200]}
        if retry:
            values |= {"claimed_by": None, "claimed_at": None}
        return await self._finish(item, sender, **values)

    async def mark_unreachable(self, item: ClaimedDelivery, sender: str, error: str) -> bool:
        """403: the resident blocked the bot. Mark the row and the chat, never retry."""
        done = await self._finish(item, sender, status="unreachable", error=error[:200])
        async with self._session_factory() as session, session.begin():
            await session.execute(
                insert_for(session, UnreachableChatRow.__table__)
                .values(chat_id=item.chat_id, since=self._clock.now(), reason=error[:200])
                .on_conflict_do_nothing()
            )
        return done

    async def release(self, sender: str) -> int:
        """Give back rows this sender holds (a clean stop, or a restart under the same name)."""
        return await self._release(BroadcastDeliveryRow.claimed_by == sender)

    async def release_stale(self, lease: timedelta) -> int:
        """Give back rows whose sender stopped answering longer than `lease` ago (it crashed)."""
        cutoff = self._clock.now() - lease
        return await self._release(BroadcastDeliveryRow.claimed_at < cutoff)

    async def _release(self, condition: object) -> int:
        async with self._session_factory() as session, session.begin():
            result = await session.execute(
                update(BroadcastDeliveryRow)
                .where(and_(BroadcastDeliveryRow.status == "sending", condition))  # type: ignore[arg-type]
                .values(status="pending", claimed_by=None, claimed_at=None)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]  # CursorResult has rowcount

    async def renew(self, sender: str) -> None:
        """Keep this sender's lease fresh while it waits (a long 429 pause, a slow batch)."""
        async with self._session_factory() as session, session.begin():
            await session.execute(
                update(BroadcastDeliveryRow)
                .where(BroadcastDeliveryRow.status == "sending", BroadcastDeliveryRow.claimed_by == sender)
                .values(claimed_at=self._clock.now())
            )

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
