"""Which outbox rows a sender's claim takes (storage/queues/outbox.py `SqlOutboxQueue.claim`).

Pending rows of chats nobody is sending to, urgent ones first, then the oldest; a chat's rows all go to one
claimer (per-chat order); a chat set aside (`skip_chats`, waiting for its turn) gives only its urgent rows.
PostgreSQL locks chats (advisory locks) so that replicas never take rows of one chat; SQLite has one
writer at a time (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    Table,
    bindparam,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from handlers.messages import DeliveryPriority
from storage.models import OutboxRow, UnreachableChatRow

_OUTBOX = cast(Table, OutboxRow.__table__)

_UNREACHABLE = cast(Table, UnreachableChatRow.__table__)


# SQLite's claim, on the tables with statements built once (a claim runs whenever rows of a busy chat
# waited: under load, every few reports); plain rows, no ORM objects to load and flush.
def _claimable(skipping: bool) -> Select[Any]:
    """Pending rows of chats nobody is sending to, urgent first, then oldest; parameters p_limit and, when
    `skipping`, p_skip (chats that wait their turn: only their urgent rows)."""
    busy = _OUTBOX.alias("busy")
    query = (
        select(_OUTBOX.c.id, _OUTBOX.c.chat_id, _OUTBOX.c.payload, _OUTBOX.c.order_id, _OUTBOX.c.priority)
        .add_columns(_OUTBOX.c.attempts)
        .where(
            _OUTBOX.c.status == "pending",
            ~exists().where(busy.c.chat_id == _OUTBOX.c.chat_id, busy.c.status == "sending"),
        )
        .order_by(_OUTBOX.c.priority.desc(), _OUTBOX.c.id)
        .limit(bindparam("p_limit", type_=Integer))
    )
    if skipping:
        waiting = _OUTBOX.c.chat_id.not_in(bindparam("p_skip", type_=BigInteger, expanding=True))
        query = query.where(or_(waiting, _OUTBOX.c.priority >= int(DeliveryPriority.URGENT)))
    return query


_CLAIMABLE = {skipping: _claimable(skipping) for skipping in (False, True)}
_REFUSED = select(_UNREACHABLE.c.chat_id).where(
    _UNREACHABLE.c.chat_id.in_(bindparam("p_chats", type_=BigInteger, expanding=True))
)
_TAKE = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("p_ids", type_=BigInteger, expanding=True)))
    .values(
        status="sending",
        attempts=_OUTBOX.c.attempts + 1,
        claimed_by=bindparam("p_owner", type_=_OUTBOX.c.claimed_by.type),
        claimed_at=bindparam("p_now", type_=_OUTBOX.c.claimed_at.type),
    )
)


@dataclass(frozen=True)
class ClaimedRow:
    """An outbox row as a claim took it (attempts counted)."""

    id: int
    chat_id: int
    payload: dict[str, Any]
    order_id: int | None
    priority: int
    attempts: int


async def claim_plain(
    session: AsyncSession,
    limit: int,
    skip_chats: frozenset[int],
    owner: str,
    now: datetime,
    refused_status: str,
) -> list[ClaimedRow]:
    """SQLite: take up to `limit` rows for `owner`; rows of chats that refused us (403) get
    `refused_status` instead and are left out (nothing more is tried for them)."""
    params: dict[str, Any] = {"p_limit": limit}
    if skip_chats:
        params["p_skip"] = sorted(skip_chats)
    rows = list(await session.execute(_CLAIMABLE[bool(skip_chats)], params))
    if not rows:
        return []
    refused = set(await session.scalars(_REFUSED, {"p_chats": sorted({row.chat_id for row in rows})}))
    taken = [row for row in rows if row.chat_id not in refused]
    if refused:
        await session.execute(
            update(_OUTBOX)
            .where(_OUTBOX.c.id.in_([row.id for row in rows if row.chat_id in refused]))
            .values(status=refused_status, error="unreachable: refused an earlier message")
        )
    if taken:
        await session.execute(_TAKE, {"p_ids": [row.id for row in taken], "p_owner": owner, "p_now": now})
    return [
        ClaimedRow(row.id, row.chat_id, row.payload, row.order_id, row.priority, row.attempts + 1)
        for row in taken
    ]


def _not_waiting(skip_chats: frozenset[int]) -> ColumnElement[bool]:
    """Rows of chats not set aside, and urgent rows of any chat (an emergency never waits its turn)."""
    return or_(OutboxRow.chat_id.not_in(skip_chats), OutboxRow.priority >= int(DeliveryPriority.URGENT))


def _chat_busy() -> Any:
    """Some row of this row's chat is being sent: its later rows wait (per-chat order)."""
    sending = aliased(OutboxRow)
    return exists().where(sending.chat_id == OutboxRow.chat_id, sending.status == "sending")


async def claim_locked(session: AsyncSession, limit: int, skip_chats: frozenset[int]) -> list[OutboxRow]:
    """PostgreSQL: lock chats, then read their pending rows in a statement that starts after the locks (the
    caller claims them: `LeaseQueue._hand_out`)."""
    rows: list[OutboxRow] = []
    passed: set[int] = set()  # chats already looked at in this claim
    for _ in range(3):
        chats = await _lock_chats(session, limit - len(rows), skip_chats, frozenset(passed))
        if not chats:
            break
        # This statement's snapshot is newer than the locks: it sees every earlier claimer's "sending" rows.
        query = (
            select(OutboxRow)
            .where(OutboxRow.status == "pending", ~_chat_busy(), OutboxRow.chat_id.in_(chats))
            .order_by(OutboxRow.priority.desc(), OutboxRow.id)
            .limit(limit - len(rows))
            .with_for_update()
        )
        if skip_chats:
            query = query.where(_not_waiting(skip_chats))
        found = list(await session.scalars(query))
        rows += found
        passed |= set(chats)
        # A chat seen pending just before another claimer committed turns out busy: look a bit further.
        if len(rows) >= limit or {row.chat_id for row in found} == set(chats):
            break
    rows.sort(key=lambda row: (-row.priority, row.id))
    return rows


async def _lock_chats(
    session: AsyncSession, limit: int, skip_chats: frozenset[int], passed: frozenset[int]
) -> list[int]:
    """Advisory-lock (for this transaction) up to `limit` chats with pending rows, urgent ones first,
    then oldest first; chats in `skip_chats` only for their urgent rows, chats in `passed` not at all.

    A chat another claimer holds right now is skipped, not waited for (`pg_try_advisory_xact_lock`), and
    the next one is tried instead: the locks are taken in order, and only until `limit` are held.
    """
    first = (
        select(OutboxRow.chat_id, func.min(OutboxRow.id).label("first_id"))
        .where(OutboxRow.status == "pending", ~_chat_busy())
        .group_by(OutboxRow.chat_id)
        .order_by(func.max(OutboxRow.priority).desc(), func.min(OutboxRow.id))
    )
    if skip_chats:
        first = first.where(_not_waiting(skip_chats))
    if passed:
        first = first.where(OutboxRow.chat_id.not_in(passed))
    # OFFSET 0 fences the subquery: without it PostgreSQL moves the lock call into the aggregate's HAVING,
    # locking every candidate chat before sorting. With it, the locks are tried above the sorted
    # candidates, one by one in that order, and the LIMIT stops once `limit` chats are held.
    candidates = first.offset(0).subquery()
    locked = (
        select(candidates.c.chat_id).where(func.pg_try_advisory_xact_lock(candidates.c.chat_id)).limit(limit)
    )
    return [int(chat) for chat in await session.scalars(locked)]
