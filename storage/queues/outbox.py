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
import contextlib
import dataclasses
import json
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Table,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from handlers.messages import Attachment, AttachmentKind, Button, DeliveryPriority, Reply
from handlers.ports import Clock
from storage.database import is_inline
from storage.direct import DirectConnection
from storage.direct.plans import tell
from storage.models import OutboxRow
from storage.queues.claims import ClaimRequest, anything_to_claim, claim_rows
from storage.queues.handoff import (
    Handoff,
    QueuedReply,
    handed_name,
    insert_handed_arrays,
    insert_handed_rows,
    refers_back,
)
from storage.queues.leases import Claim, LeaseQueue, owner_name
from storage.queues.sent import mark_sent
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


_OUTBOX = cast(Table, OutboxRow.__table__)
# PostgreSQL: of the chats in p_chats, those this transaction could lock as a claim locks them (built once:
# every commit with replies runs it).
_FREE_CHAT = func.unnest(bindparam("p_chats", type_=ARRAY(BigInteger))).column_valued("chat")
_LOCK_FREE_CHATS = select(_FREE_CHAT).where(func.pg_try_advisory_xact_lock(_FREE_CHAT))
_INSERT_ROWS = insert_handed_rows()
_INSERT_ARRAYS = insert_handed_arrays()


def _row(reply: Reply, priority: int, now: datetime) -> OutboxRow:
    return OutboxRow(
        chat_id=reply.chat_id,
        payload=reply_payload(reply),
        order_id=reply.order_id,
        priority=priority,
        status="pending",
        attempts=0,
        created_at=now,
    )


@dataclass
class _Queued:
    reply: Reply
    priority: int


class SqlOutbox:
    """What a unit of work queues. Without a `handoff` (a console, a script) the rows go to the queue for
    a sender to claim. With one (storage/queues/handoff.py) they are written in one INSERT at commit
    (storage/uow.py): the rows of a chat nobody else is sending to are written already claimed by this
    process's sender (a lease like any claim, so a crash puts them back) and handed to it in memory after
    the commit: no claim transaction, no query to find them. A chat with rows queued or held by another
    sender keeps its order: its new rows are written pending, behind them. On PostgreSQL the chats are
    first locked as a claim locks them (`pg_try_advisory_xact_lock(chat_id)`), and the INSERT that looks
    for their other rows is the next statement, so it sees every claim committed before the lock.
    """

    def __init__(self, session: AsyncSession, clock: Clock, handoff: Handoff | None = None) -> None:
        self._session = session
        self._clock = clock
        self._handoff = handoff
        self._queued: list[_Queued] = []
        self._handed: list[QueuedReply] = []
        self._left_pending = False
        self._left_urgent = False

    async def put(self, reply: Reply) -> None:
        if refers_back(reply):  # what is still queued of the order goes first too
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
            for earlier in self._queued:
                if earlier.reply.chat_id == reply.chat_id and earlier.reply.order_id == reply.order_id:
                    earlier.priority = max(earlier.priority, int(reply.priority))
        if self._handoff is None:  # no sender in this process: the row goes to the queue, as it is
            self._session.add(_row(reply, int(reply.priority), self._clock.now()))
        else:
            self._queued.append(_Queued(reply, int(reply.priority)))

    async def write(self) -> None:
        """Write what was queued (the unit of work calls it just before its commit)."""
        queued, self._queued = self._queued, []
        if not queued:
            return
        now = self._clock.now()
        handoff = self._handoff
        free: set[int] = set()
        if handoff is not None:
            chats = sorted({q.reply.chat_id for q in queued})
            if self._session.get_bind().dialect.name == "postgresql":
                free = set(await self._session.scalars(_LOCK_FREE_CHATS, {"p_chats": chats}))
            else:  # one writer at a time (BEGIN IMMEDIATE): no sender claims meanwhile
                free = set(chats)
        owner = handed_name(handoff.name) if handoff is not None else None
        # One statement compiled once (storage/queues/handoff.py) for all rows: a row's id follows the
        # order of the rows, so sorting the ids gives them back in the order queued.
        if self._session.get_bind().dialect.name == "postgresql":
            arrays = {
                "p_chats": [q.reply.chat_id for q in queued],
                "p_payloads": [json.dumps(reply_payload(q.reply)) for q in queued],
                "p_order_ids": [q.reply.order_id for q in queued],
                "p_priorities": [q.priority for q in queued],
                "p_free": [owner is not None and q.reply.chat_id in free for q in queued],
                "p_owner": owner,
                "p_created_at": now,
            }
            result = await self._session.execute(_INSERT_ARRAYS, arrays)
        else:
            rows = [
                {
                    "p_chat": q.reply.chat_id,
                    "p_payload": reply_payload(q.reply),
                    "p_order_id": q.reply.order_id,
                    "p_priority": q.priority,
                    "p_created_at": now,
                    "p_owner": owner,
                    "p_free": owner is not None and q.reply.chat_id in free,
                }
                for q in queued
            ]
            result = await self._session.execute(_INSERT_ROWS, rows)
        written = sorted(result.all())
        for q, (row_id, status) in zip(queued, written, strict=True):
            if status == "sending" and owner is not None:
                reply = dataclasses.replace(q.reply, priority=_priority(q.priority))
                self._handed.append(QueuedReply(row_id, reply, None, 1, owner, resolved=not reply.thread))
            else:
                self._left_pending = True
                self._left_urgent = self._left_urgent or q.priority >= DeliveryPriority.URGENT

    def hand_over(self) -> None:
        """After the commit: the sender takes what was written claimed for it."""
        handed, self._handed = self._handed, []
        left_pending, self._left_pending = self._left_pending, False
        left_urgent, self._left_urgent = self._left_urgent, False
        if self._handoff is not None and (handed or left_pending):
            self._handoff.take(handed, left_pending=left_pending, left_urgent=left_urgent)

    def discard(self) -> None:
        """A rollback: nothing queued in this transaction goes anywhere."""
        self._queued, self._handed, self._left_pending, self._left_urgent = [], [], False, False


def _priority(value: int) -> DeliveryPriority:
    return DeliveryPriority.URGENT if value >= DeliveryPriority.URGENT else DeliveryPriority.NORMAL


def _reply(row: Any) -> Reply:
    """A reply from its outbox row (a mapped OutboxRow or a plain row with the same columns)."""
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
        priority=_priority(row.priority),
    )


class SqlOutboxQueue(LeaseQueue):
    """Claims are transactions (advisory locks per chat on PostgreSQL, one writer on SQLite): two
    senders never take one row, nor rows of one chat."""

    rows = OutboxRow
    unreachable_status = "failed"  # the reason ("unreachable: ...") says why

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        super().__init__(session_factory, clock)
        engine = session_factory.kw.get("bind")
        assert isinstance(engine, AsyncEngine), "the outbox's sessions are bound to one engine"
        self._engine = engine
        # PostgreSQL marks sent in one statement: run in autocommit it is its own transaction, without the
        # BEGIN and COMMIT round trips (two of the three a message's mark cost the sender's serial chain).
        self._asyncpg = engine.dialect.driver == "asyncpg"
        self._direct = DirectConnection(engine) if is_inline(engine) or self._asyncpg else None

    async def claimable(self, skip_chats: frozenset[int] = frozenset()) -> bool:
        """Might a claim find something? PostgreSQL asks in one statement in autocommit (a claim that finds
        nothing costs three round trips: storage/queues/claims.py `anything_to_claim`); SQLite's claim
        is as cheap as the question: always yes."""
        if self._asyncpg and self._direct is not None:
            async with self._direct.autocommit() as direct:
                return await anything_to_claim(direct, skip_chats)
        return True

    async def claim(
        self, limit: int = 50, skip_chats: frozenset[int] = frozenset(), *, owner: str = ""
    ) -> list[QueuedReply]:
        """Take pending rows of chats nobody is sending to, urgent ones first, then the oldest; a chat in
        `skip_chats` (waiting for its turn) gives only its urgent rows. Rows come in (priority, id)
        order; a chat's rows are all taken by one claimer."""
        request = ClaimRequest(
            limit, skip_chats, owner_name(owner), self._clock.now(), self.unreachable_status
        )
        async with self._session_factory() as session, session.begin():
            rows = await claim_rows(session, request)
            links = SqlMessageLinkRepository(session)
            claimed = []
            for row in rows:
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

    async def record_sent(self, sent: list[tuple[QueuedReply, int | None]]) -> set[int]:
        """Mark rows sent, with their message links, in one statement (PostgreSQL; two on SQLite) and one
        transaction; returns the ids whose lease was lost (they may be sent again)."""
        if not sent:
            return set()
        # On a connection of its own, without an ORM session or SQLAlchemy's execution (storage/direct):
        # nothing written here is a mapped object, and their bookkeeping cost most of this CPU.
        if self._direct is not None and self._asyncpg:
            async with self._direct.autocommit() as direct:
                lost = await mark_sent(direct, sent, self._clock.now())
            tell("COMMIT")  # what counts commits counts this one-statement transaction too
            return lost
        if self._direct is not None:  # SQLite
            async with self._direct.begin() as direct:
                return await mark_sent(direct, sent, self._clock.now())
        async with self._engine.begin() as connection:
            return await mark_sent(connection, sent, self._clock.now())

    def holding(self) -> AbstractAsyncContextManager[None]:
        """Around a sender's pass: its "sent" transactions share one pool connection."""
        return self._direct.holding() if self._direct is not None else contextlib.nullcontext()

    async def latest_message(self, chat_id: int, order_id: int) -> int | None:
        """The newest message about `order_id` in `chat_id`: what a threaded reply is sent under."""
        async with self._session_factory() as session:
            return await SqlMessageLinkRepository(session).latest_message(chat_id, order_id)

    def _stale(self, cutoff: datetime) -> ColumnElement[bool]:
        claimed_before_0005 = and_(OutboxRow.claimed_at.is_(None), OutboxRow.created_at < cutoff)
        return or_(OutboxRow.claimed_at < cutoff, claimed_before_0005)

    async def pending_count(self) -> int:
        async with self._session_factory() as session:
            rows = await session.scalars(
                select(OutboxRow.id).where(OutboxRow.status.in_(["pending", "sending"]))
            )
            return len(list(rows))
