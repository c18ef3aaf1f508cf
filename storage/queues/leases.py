"""Claims under a lease and their outcomes: what the reply outbox and broadcast deliveries share.

A sender claims rows in a transaction: each moves pending -> sending with the sender's name and the claim
time (its lease), and its attempts go up by one. Each queue decides which rows a claim takes (the outbox:
oldest first, a chat's rows to one sender at a time; deliveries: alerts first); the bookkeeping is here.

A claimed row then gets exactly one outcome, recorded only while its sender still holds it. An outcome
from a sender whose lease ran out (its row went back to the queue, maybe on to another sender) is not
written, and the sender is told: that one message may be sent twice, the bounded duplicate window.

A sender that dies leaves its rows in "sending": they go back to "pending" when the lease runs out, or at
once when a process with the same name starts again (a name is one process at a time).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.ports import Clock
from storage.models import UnreachableChatRow
from storage.upsert import insert_for

NAME_LENGTH = 64  # the claimed_by column
# Why a row was not tried: its chat refused an earlier message (403), and has not written since.
REFUSED_ERROR = "unreachable: refused an earlier message"
ERROR_LENGTH = 200  # the error column


class DeliveryOutcome(StrEnum):
    """What became of one claimed row; the sender decides, the queue records it."""

    SENT = "sent"
    RETRY = "retry"  # not delivered this time: back to the queue for a later claim
    RATE_LIMITED = "rate_limited"  # 429: recorded like RETRY, and the sender pauses all sending
    UNREACHABLE = "unreachable"  # 403: the row and the chat are marked, nothing more is tried for it
    FAILED = "failed"  # given up


def retry_or_fail(attempts: int, max_attempts: int) -> DeliveryOutcome:
    """Every claim counts as an attempt: after `max_attempts` of them a row is given up."""
    return DeliveryOutcome.RETRY if attempts < max_attempts else DeliveryOutcome.FAILED


class Claim(Protocol):
    """A claimed row as its sender holds it."""

    @property
    def id(self) -> int: ...

    @property
    def chat_id(self) -> int: ...

    @property
    def owner(self) -> str: ...


def owner_name(owner: str) -> str:
    return owner[:NAME_LENGTH]


class LeaseQueue:
    """The shared half of a delivery queue; a subclass names its table and chooses the rows to claim."""

    # The mapped class. Its table has the lease columns: id, chat_id, status, attempts, claimed_by,
    # claimed_at, message_id, error, sent_at.
    rows: ClassVar[type[Any]]
    # A row whose chat refused us: the outbox calls it failed, the delivery ledger counts it apart.
    unreachable_status: ClassVar[str]

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._session_factory = session_factory
        self._clock = clock

    async def _hand_out(self, session: AsyncSession, rows: list[Any], owner: str, now: datetime) -> list[Any]:
        """Claim `rows` (locked by the caller's select) for `owner`; those of chats that refused us are
        marked instead and left out."""
        blocked = set(
            await session.scalars(
                select(UnreachableChatRow.chat_id).where(
                    UnreachableChatRow.chat_id.in_({row.chat_id for row in rows})
                )
            )
        )
        taken = []
        for row in rows:
            if row.chat_id in blocked:
                # Refused us before (403): nothing until the chat writes again, not even one more request.
                row.status, row.error = self.unreachable_status, REFUSED_ERROR
                continue
            row.status, row.attempts = "sending", row.attempts + 1
            row.claimed_by, row.claimed_at = owner_name(owner), now
            taken.append(row)
        return taken

    async def record(
        self, item: Claim, outcome: DeliveryOutcome, *, message_id: int | None = None, error: str = ""
    ) -> bool:
        """Write `outcome` if `item`'s sender still holds the row; False when its lease was lost."""
        values: dict[str, Any]
        if outcome is DeliveryOutcome.SENT:
            values = {"status": "sent", "message_id": message_id, "sent_at": self._clock.now(), "error": None}
        elif outcome is DeliveryOutcome.UNREACHABLE:
            values = {"status": self.unreachable_status, "error": f"unreachable: {error}"[:ERROR_LENGTH]}
        else:
            status = "failed" if outcome is DeliveryOutcome.FAILED else "pending"
            values = {"status": status, "error": error[:ERROR_LENGTH], "claimed_by": None, "claimed_at": None}
        async with self._session_factory() as session, session.begin():
            # One UPDATE by primary key, without loading the row first (the sender's hot path).
            result = await session.execute(
                update(self.rows)
                .where(
                    self.rows.id == item.id,
                    self.rows.status == "sending",
                    self.rows.claimed_by == owner_name(item.owner),
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if outcome is DeliveryOutcome.UNREACHABLE:
                await session.execute(
                    insert_for(session, UnreachableChatRow.__table__)
                    .values(chat_id=item.chat_id, since=self._clock.now(), reason=error[:ERROR_LENGTH])
                    .on_conflict_do_nothing()
                )
            if outcome is DeliveryOutcome.SENT:
                await self._sent(session, item, message_id)
            return bool(result.rowcount)  # type: ignore[attr-defined]  # CursorResult has rowcount

    async def _sent(self, session: AsyncSession, item: Claim, message_id: int | None) -> None:
        """More to write, in the same transaction, once a message went out (even after a lost lease)."""

    async def mark_sent(self, item: Claim, message_id: int | None) -> bool:
        return await self.record(item, DeliveryOutcome.SENT, message_id=message_id)

    async def mark_failed(self, item: Claim, error: str, *, retry: bool) -> bool:
        outcome = DeliveryOutcome.RETRY if retry else DeliveryOutcome.FAILED
        return await self.record(item, outcome, error=error)

    async def mark_unreachable(self, item: Claim, error: str) -> bool:
        """The chat refused delivery (bot blocked or removed): fail the row and mark the chat, for good."""
        return await self.record(item, DeliveryOutcome.UNREACHABLE, error=error)

    async def release(self, ids: list[int]) -> int:
        """Put claimed rows back untried: their claim does not count as an attempt."""
        if not ids:
            return 0
        return await self._put_back(self.rows.id.in_(ids), untried=True)

    async def release_owned(self, owner: str) -> int:
        """Put back what a process under this name held: a clean stop, or a restart under the same name."""
        return await self._put_back(self.rows.claimed_by == owner_name(owner))

    async def release_stale(self, lease: timedelta) -> int:
        """Put back rows whose sender stopped (crashed) more than `lease` ago.

        At most the one message a crashed sender had in flight may repeat.
        """
        return await self._put_back(self._stale(self._clock.now() - lease))

    def _stale(self, cutoff: datetime) -> ColumnElement[bool]:
        condition: ColumnElement[bool] = self.rows.claimed_at < cutoff
        return condition

    async def renew(self, owner: str) -> None:
        """Keep this sender's lease fresh while it waits (a long 429 pause, a slow batch)."""
        async with self._session_factory() as session, session.begin():
            await session.execute(
                update(self.rows)
                .where(self.rows.status == "sending", self.rows.claimed_by == owner_name(owner))
                .values(claimed_at=self._clock.now())
            )

    async def _put_back(self, condition: ColumnElement[bool], *, untried: bool = False) -> int:
        values: dict[str, Any] = {"status": "pending", "claimed_by": None, "claimed_at": None}
        if untried:
            values["attempts"] = self.rows.attempts - 1
        async with self._session_factory() as session, session.begin():
            result = await session.execute(
                update(self.rows).where(self.rows.status == "sending", condition).values(**values)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]  # CursorResult has rowcount
