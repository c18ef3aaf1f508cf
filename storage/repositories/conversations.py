"""The small tables that make handling exactly-once and conversational: message links, conversation
steps and the inbound dedupe ledger."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.ports import Clock, Conversation
from storage.chat_rows import ChatRows
from storage.models import ConversationRow, InboundRow, MessageLinkRow
from storage.upsert import INSERTS, insert_for


class SqlMessageLinkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, chat_id: int, message_id: int, order_id: int) -> None:
        stmt = (
            insert_for(self._session, MessageLinkRow.__table__)
            .values(chat_id=chat_id, message_id=message_id, order_id=order_id)
            .on_conflict_do_nothing()
        )
        await self._session.execute(stmt)

    async def order_for(self, chat_id: int, message_id: int) -> int | None:
        row = await self._session.get(MessageLinkRow, (chat_id, message_id))
        return row.order_id if row else None

    async def latest_message(self, chat_id: int, order_id: int) -> int | None:
        value = await self._session.scalar(
            select(func.max(MessageLinkRow.message_id)).where(
                MessageLinkRow.chat_id == chat_id, MessageLinkRow.order_id == order_id
            )
        )
        return int(value) if value is not None else None


class SqlConversationRepository:
    def __init__(self, session: AsyncSession, clock: Clock, chat_rows: ChatRows | None = None) -> None:
        self._session = session
        self._clock = clock
        self._absent = (chat_rows or ChatRows()).no_conversation  # known to have none (no query needed)

    async def _row(self, chat_id: int) -> ConversationRow | None:
        if chat_id in self._absent:
            return None
        row = await self._session.get(ConversationRow, chat_id)
        if row is None:
            self._absent.add(chat_id)
        return row

    async def get(self, chat_id: int) -> Conversation | None:
        row = await self._row(chat_id)
        return Conversation(row.step, dict(row.data or {})) if row else None

    async def set(self, chat_id: int, conversation: Conversation) -> None:
        row = await self._row(chat_id)
        if row is None:
            row = ConversationRow(chat_id=chat_id)
            self._session.add(row)
            self._absent.discard(chat_id)
        row.step, row.data, row.updated_at = conversation.step, dict(conversation.data), self._clock.now()
        await self._session.flush()

    async def clear(self, chat_id: int) -> None:
        row = await self._row(chat_id)
        if row is not None:
            await self._session.delete(row)
            await self._session.flush()
            self._absent.add(chat_id)


class SqlInboundLedger:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def first_time(self, key: str) -> bool:
        stmt = _FIRST_TIME[self._session.get_bind().dialect.name]
        found = await self._session.execute(stmt, {"p_key": key, "p_seen_at": self._clock.now()})
        return found.first() is not None


def _first_time(insert: Any) -> Any:
    table = InboundRow.__table__
    return (
        insert(table)
        .values(key=bindparam("p_key"), seen_at=bindparam("p_seen_at"))
        .on_conflict_do_nothing()
        .returning(table.c.key)
    )


# Built once per dialect: every update runs it, and building it cost more CPU than running it.
_FIRST_TIME = {name: _first_time(insert) for name, insert in INSERTS.items()}
