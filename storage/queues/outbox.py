"""The outgoing queue as senders see it: claim pending messages, record what happened to each.

Per-chat order across replicas: a chat's messages are handed to one sender at a time. A claim only takes
rows of chats with nothing in "sending", and on PostgreSQL it first takes a transaction-scoped advisory
lock per chat (`pg_try_advisory_xact_lock(chat_id)`) and only then reads that chat's rows, in a second
statement whose snapshot is newer than any earlier claimer's commit. So two concurrent claimers never take
rows of one chat, and a sender finishes (or gives back) a chat's rows before anyone takes the next ones.
SQLite has one writer at a time (BEGIN IMMEDIATE), which gives the same guarantee.

Priority: a claim takes urgent rows (an emergency's advice and alerts, handlers.messages.DeliveryPriority)
before anything else, and a chat's urgent rows overtake its queued normal ones; within one priority a chat's
rows keep their order. An urgent reply that threads under or edits an order's message raises that order's
rows still queued in the chat along with it, so a card's later edits never overtake the card.

Claims carry the claimer's name and time (a lease): a replica that dies leaves its rows in "sending" until
the lease runs out (or until it starts again under the same name), then they are handed out again. The
lease, the outcomes and the releases are shared with broadcast deliveries: storage/queues/leases.py.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from handlers.messages import Attachment, AttachmentKind, Button, DeliveryPriority, Reply
from handlers.ports import Clock
from storage.models import OutboxRow
from storage.queues.leases import Claim, LeaseQueue, owner_name
from storage.repositories.conversations import SqlMessageLinkRepository


def reply_payload(reply: Reply) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "text": reply.text,
        "buttons": [[[b.text, b.data] for b in row] for row in reply.buttons],
        "thread": reply.thread,
        "photo": reply.photo,
        "edit_message_id": reply.edit_message_id,
    }
    if reply.attachment is not None:
        # The file's bytes go in the row (base64; capped by MAX_ATTACHMENT_BYTES): what the transaction
        # decided to send survives a crash as it was, with no second store to keep in step.
        a = reply.attachment
        payload["attachment"] = {
            "kind": a.kind.value,
            "filename": a.filename,
            "data": base64.b64encode(a.data).decode("ascii"),
        }
    return payload


def _attachment(payload: dict[str, Any]) -> Attachment | None:
    stored = payload.get("attachment")
    if not stored:
        return None
    return Attachment(base64.b64decode(stored["data"]), stored["filename"], AttachmentKind(stored["kind"]))


class SqlOutbox:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def put(self, reply: Reply) -> None:
        if reply.urgent and reply.order_id is not None and (reply.thread or reply.edit_message_id):
            # It refers to an earlier message about the order: what is still queued of it goes first too.
            await self._session.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.chat_id == reply.chat_id,
                    OutboxRow.order_id == reply.order_id,
                    OutboxRow.status == "pending",
                    OutboxRow.priority < int(reply.priority),
                )
                .values(priority=int(reply.priority))
                .execution_options(synchronize_session=False)
            )
        self._session.add(
            OutboxRow(
                chat_id=reply.chat_id,
                payload=reply_payload(reply),
                order_id=reply.order_id,
                priority=int(reply.priority),
                status="pending",
                attempts=0,
                created_at=self._clock.now(),
            )
        )


@dataclass(frozen=True)
class QueuedReply:
    id: int
    reply: Reply
    reply_to_message_id: int | None  # resolved from the order's latest message in that chat
    attempts: int
    owner: str = ""  # the sender holding the claim

    @property
    def chat_id(self) -> int:
        return self.reply.chat_id

    @property
    def urgent(self) -> bool:
        return self.reply.urgent


def _reply(row: OutboxRow) -> Reply:
    payload: dict[str, Any] = row.payload
    buttons = tuple(tuple(Button(text, data) for text, data in r) for r in payload.get("buttons", []))
    return Reply(
        chat_id=row.chat_id,
        text=payload["text"],
        buttons=buttons,
        order_id=row.order_id,
        thread=bool(payload.get("thread")),
        photo=payload.get("photo"),
        attachment=_attachment(payload),
        edit_message_id=payload.get("edit_message_id"),
        priority=DeliveryPriority.URGENT
        if row.priority >= DeliveryPriority.URGENT
        else DeliveryPriority.NORMAL,
    )


class SqlOutboxQueue(LeaseQueue):
    """Claims are transactions (advisory locks per chat on PostgreSQL, one writer on SQLite): two
    senders never take one row, nor rows of one chat."""

    rows = OutboxRow
    unreachable_status = "failed"  # the reason ("unreachable: ...") says why

    async def claim(
        self, limit: int = 50, skip_chats: frozenset[int] = frozenset(), *, owner: str = ""
    ) -> list[QueuedReply]:
        """Take pending rows of chats nobody is sending to, urgent ones first, then the oldest; a chat in
        `skip_chats` (waiting for its turn) gives only its urgent rows. Rows come in (priority, id)
        order; a chat's rows are all taken by one claimer."""
        now = self._clock.now()
        async with self._session_factory() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                rows = await _claim_locked(session, limit, skip_chats)
            else:
                query = (
                    select(OutboxRow)
                    .where(OutboxRow.status == "pending", ~_chat_busy())
                    .order_by(OutboxRow.priority.desc(), OutboxRow.id)
                    .limit(limit)
                )
                if skip_chats:
                    query = query.where(_not_waiting(skip_chats))
                rows = list(await session.scalars(query))
            links = SqlMessageLinkRepository(session)
            claimed = []
            for row in await self._hand_out(session, rows, owner, now):
                reply = _reply(row)
                reply_to = None
                if reply.thread and reply.order_id is not None:
                    reply_to = await links.latest_message(reply.chat_id, reply.order_id)
                claimed.append(QueuedReply(row.id, reply, reply_to, row.attempts, owner_name(owner)))
            return claimed

    async def _sent(self, session: AsyncSession, item: Claim, message_id: int | None) -> None:
        """Link the sent message to its order, so that replies to it are relayed."""
        assert isinstance(item, QueuedReply)
        if message_id is not None and item.reply.order_id is not None:
            await SqlMessageLinkRepository(session).add(item.reply.chat_id, message_id, item.reply.order_id)

    def _stale(self, cutoff: datetime) -> ColumnElement[bool]:
        claimed_before_0005 = and_(OutboxRow.claimed_at.is_(None), OutboxRow.created_at < cutoff)
        return or_(OutboxRow.claimed_at < cutoff, claimed_before_0005)

    async def pending_count(self) -> int:
        async with self._session_factory() as session:
            rows = await session.scalars(
                select(OutboxRow.id).where(OutboxRow.status.in_(["pending", "sending"]))
            )
            return len(list(rows))


def _not_waiting(skip_chats: frozenset[int]) -> ColumnElement[bool]:
    """Rows of chats not set aside, and urgent rows of any chat (an emergency never waits its turn)."""
    return or_(OutboxRow.chat_id.not_in(skip_chats), OutboxRow.priority >= int(DeliveryPriority.URGENT))


def _chat_busy() -> Any:
    """Some row of this row's chat is being sent: its later rows wait (per-chat order)."""
    sending = aliased(OutboxRow)
    return exists().where(sending.chat_id == OutboxRow.chat_id, sending.status == "sending")


async def _claim_locked(session: AsyncSession, limit: int, skip_chats: frozenset[int]) -> list[OutboxRow]:
    """PostgreSQL: lock chats, then read their pending rows in a statement that starts after the locks."""
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
