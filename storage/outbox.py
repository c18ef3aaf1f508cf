"""The outgoing queue as senders see it: claim pending messages, record what happened to each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.messages import Button, Reply
from handlers.ports import Clock
from storage.models import OutboxRow, UnreachableChatRow
from storage.repositories import SqlMessageLinkRepository
from storage.upsert import insert_for


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

    async def claim(self, limit: int = 50, skip_chats: frozenset[int] = frozenset()) -> list[QueuedReply]:
        """Take the oldest pending rows, except for `skip_chats` (chats that must wait for their turn)."""
        async with self._session_factory() as session, session.begin():
            query = select(OutboxRow).where(OutboxRow.status == "pending").order_by(OutboxRow.id).limit(limit)
            if skip_chats:
                query = query.where(OutboxRow.chat_id.not_in(skip_chats))
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
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
                reply = _reply(row)
                reply_to = None
                if reply.thread and reply.order_id is not None:
                    reply_to = await links.latest_message(reply.chat_id, reply.order_id)
                claimed.append(QueuedReply(row.id, reply, reply_to, row.attempts))
            return claimed

    async def mark_sent(self, item: QueuedReply, message_id: int | None) -> None:
        """Record delivery, and link the sent message to its order so replies to it are relayed."""
        async with self._session_factory() as session, session.begin():
            row = await session.get(OutboxRow, item.id)
            assert row is not None
            row.status, row.message_id, row.sent_at = "sent", message_id, self._clock.now()
            if message_id is not None and item.reply.order_id is not None:
                await SqlMessageLinkRepository(session).add(
                    item.reply.chat_id, message_id, item.reply.order_id
                )

    async def mark_failed(self, item: QueuedReply, error: str, *, retry: bool) -> None:
        async with self._session_factory() as session, session.begin():
            row = await session.get(OutboxRow, item.id)
            assert row is not None
            row.status, row.error = ("pending" if retry else "failed"), error[:200]

    async def release(self, ids: list[int]) -> None:
        """Put claimed rows back untried (their claim does not count as an attempt)."""
        if not ids:
            return
        async with self._session_factory() as session, session.begin():
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(ids), OutboxRow.status == "sending")
                .values(status="pending", attempts=OutboxRow.attempts - 1)
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
        """Put back rows a crashed sender had claimed. At most one message per crashed sender may repeat."""
        cutoff = self._clock.now() - older_than
        async with self._session_factory() as session, session.begin():
            result = await session.execute(
                update(OutboxRow)
                .where(OutboxRow.status == "sending", OutboxRow.created_at < cutoff)
                .values(status="pending")
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]  # CursorResult has rowcount

    async def pending_count(self) -> int:
        async with self._session_factory() as session:
            rows = await session.scalars(
                select(OutboxRow.id).where(OutboxRow.status.in_(["pending", "sending"]))
            )
            return len(list(rows))
