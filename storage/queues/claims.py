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
    ARRAY,
    BigInteger,
    Integer,
    Select,
    String,
    Table,
    any_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.messages import DeliveryPriority
from storage.direct import DirectConnection
from storage.models import OutboxRow, UnreachableChatRow
from storage.queues.leases import REFUSED_ERROR

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


@dataclass(frozen=True)
class ClaimRequest:
    """What a sender asks for: up to `limit` rows for `owner` at `now`; chats in `skip_chats` (waiting
    for their turn) give only their urgent rows; rows of chats that refused us get `refused_status`."""

    limit: int
    skip_chats: frozenset[int]
    owner: str
    now: datetime
    refused_status: str


async def claim_rows(session: AsyncSession, request: ClaimRequest) -> list[ClaimedRow]:
    """Claim in `session`'s transaction: PostgreSQL locks chats first (replicas), SQLite has one writer."""
    if session.get_bind().dialect.name == "postgresql":
        return await _claim_locked(session, request)
    return await _claim_plain(session, request)


async def _claim_plain(session: AsyncSession, request: ClaimRequest) -> list[ClaimedRow]:
    """SQLite: take the rows; those of chats that refused us (403) are marked and left out (nothing more is
    tried for them)."""
    limit, skip_chats, owner, now = request.limit, request.skip_chats, request.owner, request.now
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
            .values(status=request.refused_status, error=REFUSED_ERROR)
        )
    if taken:
        await session.execute(_TAKE, {"p_ids": [row.id for row in taken], "p_owner": owner, "p_now": now})
    return [
        ClaimedRow(row.id, row.chat_id, row.payload, row.order_id, row.priority, row.attempts + 1)
        for row in taken
    ]


# PostgreSQL's claim: two statements built once (chats as arrays, so one shape for any number of them) run
# in the claim's transaction. Under two replicas every grid member's chat is shared by both, and a member's
# notification written while the other replica sends to that chat waits for a claim: about one claimed row
# a report (bench-load, 160 reports/s). Loading those rows as ORM objects and flushing their claim row by
# row cost 7 % of a replica's CPU and four statements a claim; the rows are now claimed by one UPDATE.
_ARRAY = ARRAY(BigInteger)
_SENDING = _OUTBOX.alias("sending")
_CHAT_BUSY = exists().where(_SENDING.c.chat_id == _OUTBOX.c.chat_id, _SENDING.c.status == "sending")
# Rows of chats not set aside (p_skip: waiting for their turn), and urgent rows of any chat (an emergency
# never waits its turn); an empty array sets none aside.
_NOT_WAITING = or_(
    ~(_OUTBOX.c.chat_id == any_(bindparam("p_skip", type_=_ARRAY))),
    _OUTBOX.c.priority >= int(DeliveryPriority.URGENT),
)


def _lock_chats() -> Select[Any]:
    """Advisory-lock (for the transaction) up to p_limit chats with pending rows, urgent ones first, then
    oldest first; chats in p_skip only for their urgent rows, chats in p_passed (looked at already in this
    claim) not at all.

    A chat another claimer holds right now is skipped, not waited for (`pg_try_advisory_xact_lock`), and
    the next one is tried instead: the locks are taken in order, and only until p_limit are held.
    """
    first = (
        select(_OUTBOX.c.chat_id, func.min(_OUTBOX.c.id).label("first_id"))
        .where(
            _OUTBOX.c.status == "pending",
            ~_CHAT_BUSY,
            _NOT_WAITING,
            ~(_OUTBOX.c.chat_id == any_(bindparam("p_passed", type_=_ARRAY))),
        )
        .group_by(_OUTBOX.c.chat_id)
        .order_by(func.max(_OUTBOX.c.priority).desc(), func.min(_OUTBOX.c.id))
    )
    # OFFSET 0 fences the subquery: without it PostgreSQL moves the lock call into the aggregate's HAVING,
    # locking every candidate chat before sorting. With it, the locks are tried above the sorted
    # candidates, one by one in that order, and the LIMIT stops once p_limit chats are held.
    candidates = first.offset(0).subquery()
    return (
        select(candidates.c.chat_id)
        .where(func.pg_try_advisory_xact_lock(candidates.c.chat_id))
        .limit(bindparam("p_limit", type_=Integer))
    )


def _take_locked() -> Any:
    """Claim for p_owner (at p_now) up to p_limit pending rows of the locked chats p_chats, and return
    them; rows of a chat that refused us (403) get p_refused instead (nothing more is tried for them) and
    come back with that status. The rows are read by this statement, after the locks: its snapshot sees
    every earlier claimer's "sending" rows."""
    refused = exists().where(_UNREACHABLE.c.chat_id == _OUTBOX.c.chat_id).label("refused")
    picked = (
        select(_OUTBOX.c.id, refused)
        .where(
            _OUTBOX.c.status == "pending",
            ~_CHAT_BUSY,
            _OUTBOX.c.chat_id == any_(bindparam("p_chats", type_=_ARRAY)),
            _NOT_WAITING,
        )
        .order_by(_OUTBOX.c.priority.desc(), _OUTBOX.c.id)
        .limit(bindparam("p_limit", type_=Integer))
        .with_for_update(of=_OUTBOX)
        .cte("picked")
    )
    owner = bindparam("p_owner", type_=_OUTBOX.c.claimed_by.type)
    now = bindparam("p_now", type_=_OUTBOX.c.claimed_at.type)
    return (
        update(_OUTBOX)
        .where(_OUTBOX.c.id == picked.c.id)
        .values(
            status=case((picked.c.refused, bindparam("p_refused", type_=String)), else_="sending"),
            attempts=case((picked.c.refused, _OUTBOX.c.attempts), else_=_OUTBOX.c.attempts + 1),
            claimed_by=case((picked.c.refused, _OUTBOX.c.claimed_by), else_=owner),
            claimed_at=case((picked.c.refused, _OUTBOX.c.claimed_at), else_=now),
            error=case((picked.c.refused, REFUSED_ERROR), else_=_OUTBOX.c.error),
        )
        .returning(
            _OUTBOX.c.id,
            _OUTBOX.c.chat_id,
            _OUTBOX.c.payload,
            _OUTBOX.c.order_id,
            _OUTBOX.c.priority,
            _OUTBOX.c.attempts,
            _OUTBOX.c.status,
        )
    )


_LOCK_CHATS = _lock_chats()
_TAKE_LOCKED = _take_locked()
_ANY_CLAIMABLE = select(_OUTBOX.c.id).where(_OUTBOX.c.status == "pending", ~_CHAT_BUSY, _NOT_WAITING).limit(1)


async def anything_to_claim(executor: DirectConnection, skip_chats: frozenset[int]) -> bool:
    """PostgreSQL, in autocommit before a claim's transaction: is some pending row claimable at all? Under
    two replicas most claims (0.44 of 0.74 a report, bench-load at 160 reports/s) were for a member's chat
    the other replica was still sending to, and each found nothing in three round trips (BEGIN, the locks,
    COMMIT); this asks in one. A row that becomes claimable just after is missed as the claim itself would
    have missed it a moment earlier: the sender claims again at its next wake or poll."""
    found = await executor.execute(_ANY_CLAIMABLE, {"p_skip": sorted(skip_chats)})
    return found.first() is not None


async def _claim_locked(session: AsyncSession, request: ClaimRequest) -> list[ClaimedRow]:
    """PostgreSQL: lock chats, then claim their pending rows in a statement that starts after the locks."""
    limit = request.limit
    rows: list[ClaimedRow] = []
    passed: list[int] = []  # chats already looked at in this claim
    skip = sorted(request.skip_chats)
    for _ in range(3):
        want = limit - len(rows)
        locking = {"p_limit": want, "p_skip": skip, "p_passed": passed}
        chats = [int(chat) for chat in await session.scalars(_LOCK_CHATS, locking)]
        if not chats:
            break
        taking = {
            "p_limit": want,
            "p_chats": chats,
            "p_skip": skip,
            "p_owner": request.owner,
            "p_now": request.now,
            "p_refused": request.refused_status,
        }
        found = list(await session.execute(_TAKE_LOCKED, taking))
        rows += [
            ClaimedRow(row.id, row.chat_id, row.payload, row.order_id, row.priority, row.attempts)
            for row in found
            if row.status == "sending"
        ]
        passed += chats
        # A chat seen pending just before another claimer committed turns out busy: look a bit further.
        if len(rows) >= limit or {row.chat_id for row in found} == set(chats):
            break
    rows.sort(key=lambda row: (-row.priority, row.id))
    return rows
