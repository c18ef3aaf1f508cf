"""The outgoing queue as senders see it: claim pending messages, record what happened to each.

Per-chat order across replicas: a chat's messages are handed to one sender at a time. A claim only takes
rows of chats with nothing in "sending", and on PostgreSQL it first takes a transaction-scoped advisory
lock per chat (`pg_try_advisory_xact_lock(chat_id)`) and only then reads that chat's rows, in a second
statement whose snapshot is newer than any earlier claimer's commit. So two concurrent claimers never take
rows of one chat, and a sender finishes (or gives back) a chat's rows before anyone takes the next ones.
SQLite has one writer at a time (BEGIN IMMEDIATE), which gives the same guarantee.

Claims carry the claimer's name and time (a lease): a replica that dies leaves its rows in "sending" until
the lease runs out (or until it starts again under the same name), then they are handed out again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from handlers.messages import Button, Reply
from handlers.ports import Clock
from storage.models import OutboxRow, UnreachableChatRow
from storage.repositories.conversations import SqlMessageLinkRepository
from storage.upsert import insert_for


def reply_payload(reply: Reply) -> dict[str, Any]:
    return {
        "text": reply.text,
        "buttons": [[[b.text, b.data] for b in row] for row in reply.buttons],
        "thread": reply.thread,
        "photo": reply.photo,
        "edit_message_id": reply.edit_message_id,
    }


class SqlOutbox:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def put(self, reply: Reply) -> None:
        self._session.add(
            OutboxRow(
                chat_id=reply.chat_id,
                payload=reply_payload(reply),
                order_id=reply.order_id,
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
        edit_message_id=payload.get("edit_message_id"),
    )


class SqlOutboxQueue:
    """Claims are transactions (`FOR UPDATE SKIP LOCKED` on PostgreSQL): two senders never take one row."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._session_factory = session_factory
        self._clock = clock

    async def claim(
        self, limit: int = 50, skip_chats: frozenset[int] = frozenset(), *, owner: str = ""
    ) -> list[QueuedReply]:
        """Take the oldest pending rows of chats nobody is sending to, except `skip_chats` (chats that
        must wait for their turn). Rows come in id order; a chat's rows are all taken by one claimer."""
        now = self._clock.now()
        async with self._session_factory() as session, session.begin():
            query = (
                select(OutboxRow)
                .where(OutboxRow.status == "pending", ~_chat_busy())
                .order_by(OutboxRow.id)
                .limit(limit)
            )
            if skip_chats:
                query = query.where(OutboxRow.chat_id.not_in(skip_chats))
            if session.get_bind().dialect.name == "postgresql":
                rows = await _claim_locked(session, limit, skip_chats)
            else:
                rows = list(await session.scalars(query))
            # A chat that refused us (403) gets nothing until it writes again: no pointless retries.
            blocked = set(
                await session.scalars(
                    select(UnreachableChatRow.chat_id).where(
                        UnreachableChatRow.chat_id.in_({row.chat_id for row in rows})
                    )
                )
            )
            links = SqlMessageLinkRepository(session)
            claimed = []
            for row in rows:
                if row.chat_id in blocked:
                    row.status, row.error = "failed", "unreachable"
                    continue
                row.status, row.attempts = "sending", row.attempts + 1
                row.claimed_by, row.claimed_at = owner[:64], now
                reply = _reply(row)
                reply_to = None
                if reply.thread and reply.order_id is not None:
                    reply_to = await links.latest_message(reply.chat_id, reply.order_id)
                claimed.append(QueuedReply(row.id, reply, reply_to, row.attempts))
            return claimed

    async def mark_sent(self, item: QueuedReply, message_id: int | None) -> None:
        """Record delivery, and link the sent message to its order so replies to it are relayed."""
        async with self._session_factory() as session, session.begin():
            # One UPDATE by primary key, without loading the row first (the sender's hot path).
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == item.id)
                .values(status="sent", message_id=message_id, sent_at=self._clock.now())
                .execution_options(synchronize_session=False)
            )
            if message_id is not None and item.reply.order_id is not None:
                await SqlMessageLinkRepository(session).add(
                    item.reply.chat_id, message_id, item.reply.order_id
                )

    async def mark_failed(self, item: QueuedReply, error: str, *, retry: bool) -> None:
        async with self._session_factory() as session, session.begin():
            row = await session.get(OutboxRow, item.id)
            assert row is not None
            row.status, row.error = ("pending" if retry else "failed"), error[:200]
            row.claimed_by, row.claimed_at = None, None

    async def release(self, ids: list[int]) -> None:
        """Put claimed rows back untried (their claim does not count as an attempt)."""
        if not ids:
            return
        async with self._session_factory() as session, session.begin():
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(ids), OutboxRow.status == "sending")
                .values(status="pending", attempts=OutboxRow.attempts - 1, claimed_by=None, claimed_at=None)
            )

    async def mark_unreachable(self, item: QueuedReply, error: str) -> None:
        """The chat refused delivery (bot blocked or removed): fail the row and mark the chat, for good."""
        async with self._session_factory() as session, session.begin():
            row = await session.get(OutboxRow, item.id)
            assert row is not None
            row.status, row.error = "failed", f"unreachable: {error}"[:200]
            stmt = (
                insert_for(session, UnreachableChatRow.__table__)
                .values(chat_id=item.reply.chat_id, since=self._clock.now(), reason=error[:200])
                .on_conflict_do_nothing()
            )
            await session.execute(stmt)

    async def release_stale(self, older_than: timedelta = timedelta(minutes=5)) -> int:
        """Put back rows whose claimer stopped (crashed) more than `older_than` ago.

        At most the one message a crashed sender had in flight may repeat.
        """
        cutoff = self._clock.now() - older_than
        stale = or_(
            OutboxRow.claimed_at < cutoff,
            and_(OutboxRow.claimed_at.is_(None), OutboxRow.created_at < cutoff),  # claimed before 0005
        )
        return await self._put_back(stale)

    async def release_owned(self, owner: str) -> int:
        """Put back what a previous process under this name held: a name is one process at a time."""
        return await self._put_back(OutboxRow.claimed_by == owner[:64])

    async def _put_back(self, condition: Any) -> int:
        async with self._session_factory() as session, session.begin():
            result = await session.execute(
                update(OutboxRow)
                .where(OutboxRow.status == "sending", condition)
                .values(status="pending", claimed_by=None, claimed_at=None)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]  # CursorResult has rowcount

    async def pending_count(self) -> int:
        async with self._session_factory() as session:
            rows = await session.scalars(
                select(OutboxRow.id).where(OutboxRow.status.in_(["pending", "sending"]))
            )
            return len(list(rows))


def _chat_busy() -> Any:
    """Some row of this row's chat is being sent: its later rows wait (per-chat order)."""
    sending = aliased(OutboxRow)
    return exists().where(sending.chat_id == OutboxRow.chat_id, sending.status == "sending")


async def _claim_locked(session: AsyncSession, limit: int, skip_chats: frozenset[int]) -> list[OutboxRow]:
    """PostgreSQL: lock chats, then read their pending rows in a statement that starts after the locks."""
    rows: list[OutboxRow] = []
    passed = set(skip_chats)
    for _ in range(3):
        chats = await _lock_chats(session, limit - len(rows), frozenset(passed))
        if not chats:
            break
        # This statement's snapshot is newer than the locks: it sees every earlier claimer's "sending" rows.
        found = list(
            await session.scalars(
                select(OutboxRow)
                .where(OutboxRow.status == "pending", ~_chat_busy(), OutboxRow.chat_id.in_(chats))
                .order_by(OutboxRow.id)
                .limit(limit - len(rows))
                .with_for_update()
            )
        )
        rows += found
        passed |= set(chats)
        # A chat seen pending just before another claimer committed turns out busy: look a bit further.
        if len(rows) >= limit or {row.chat_id for row in found} == set(chats):
            break
    rows.sort(key=lambda row: row.id)
    return rows


async def _lock_chats(session: AsyncSession, limit: int, skip_chats: frozenset[int]) -> list[int]:
    """Advisory-lock (for this transaction) up to `limit` chats with pending rows, oldest first.

    A chat another claimer holds right now is skipped, not waited for (`pg_try_advisory_xact_lock`), and
    the next one is tried instead: the locks are taken in order, and only until `limit` are held.
    """
    first = (
        select(OutboxRow.chat_id, func.min(OutboxRow.id).label("first_id"))
        .where(OutboxRow.status == "pending", ~_chat_busy())
        .group_by(OutboxRow.chat_id)
        .order_by(func.min(OutboxRow.id))
    )
    if skip_chats:
        first = first.where(OutboxRow.chat_id.not_in(skip_chats))
    # OFFSET 0 fences the subquery: without it PostgreSQL moves the lock call into the aggregate's HAVING,
    # locking every candidate chat before sorting. With it, the locks are tried above the sorted
    # candidates, one by one in that order, and the LIMIT stops once `limit` chats are held.
    candidates = first.offset(0).subquery()
    locked = (
        select(candidates.c.chat_id).where(func.pg_try_advisory_xact_lock(candidates.c.chat_id)).limit(limit)
    )
    return [int(chat) for chat in await session.scalars(locked)]
