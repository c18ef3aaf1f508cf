"""The small tables that make handling exactly-once and conversational: message links, conversation
steps and the inbound dedupe ledger."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, select
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
    """A chat's step, read with the update's other rows (storage/chat_rows.py) and written with one
    statement built once: an upsert, or a delete of a row known to be there."""

    def __init__(self, session: AsyncSession, clock: Clock, chat_rows: ChatRows | None = None) -> None:
        self._session = session
        self._clock = clock
        self._known = (chat_rows or ChatRows()).conversations  # chat id -> step, None: none

    async def get(self, chat_id: int) -> Conversation | None:
        if chat_id not in self._known:
            row = (await self._session.execute(_STEP, {"p_chat": chat_id})).first()
            self._known[chat_id] = Conversation(row.step, dict(row.data or {})) if row else None
        known = self._known[chat_id]
        return Conversation(known.step, dict(known.data)) if known else None

    async def set(self, chat_id: int, conversation: Conversation) -> None:
        data = dict(conversation.data)
        params = {"p_chat": chat_id, "p_step": conversation.step, "p_data": data, "p_at": self._clock.now()}
        await self._session.execute(_SET[self._session.get_bind().dialect.name], params)
        self._known[chat_id] = Conversation(conversation.step, data)

    async def clear(self, chat_id: int) -> None:
        if chat_id in self._known and self._known[chat_id] is None:
            return
        await self._session.execute(_CLEAR, {"p_chat": chat_id})
        self._known[chat_id] = None


_CONVERSATIONS = cast(Table, ConversationRow.__table__)
_STEP = select(_CONVERSATIONS.c.step, _CONVERSATIONS.c.data).where(
    _CONVERSATIONS.c.chat_id == bindparam("p_chat")
)
_CLEAR = delete(_CONVERSATIONS).where(_CONVERSATIONS.c.chat_id == bindparam("p_chat"))


def _set(insert: Any) -> Any:
    stmt = insert(_CONVERSATIONS).values(
        chat_id=bindparam("p_chat", type_=_CONVERSATIONS.c.chat_id.type),
        step=bindparam("p_step", type_=_CONVERSATIONS.c.step.type),
        data=bindparam("p_data", type_=_CONVERSATIONS.c.data.type),
        updated_at=bindparam("p_at", type_=_CONVERSATIONS.c.updated_at.type),
    )
    return stmt.on_conflict_do_update(
        index_elements=["chat_id"],
        set_={"step": stmt.excluded.step, "data": stmt.excluded.data, "updated_at": stmt.excluded.updated_at},
    )


# Built once per dialect: a report sets or clears its chat's step.
_SET = {name: _set(insert) for name, insert in INSERTS.items()}


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
