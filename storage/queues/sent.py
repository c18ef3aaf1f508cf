"""Marking replies sent: what a sender writes once Telegram accepted them (issue 16).

In its own transaction (storage/queues/outbox.py `record_sent`), or in the transaction of the process's next
commit, which carries the sender's last "sent" (storage/uow.py): one commit fewer per message.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import BigInteger, Table, bindparam, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import MessageLinkRow, OutboxRow
from storage.queues.handoff import Sent
from storage.queues.leases import owner_name
from storage.upsert import INSERTS

_OUTBOX = cast(Table, OutboxRow.__table__)
_LINKS = cast(Table, MessageLinkRow.__table__)
_ID = _OUTBOX.c.id.type


async def mark_sent(session: AsyncSession, sent: list[Sent], now: datetime) -> set[int]:
    """In `session`'s transaction: mark rows sent, with their message links, in one statement (PostgreSQL;
    two on SQLite); returns the ids whose lease was lost (they may be sent again). On the table, not the
    mapped class: no ORM bookkeeping for rows no session holds."""
    ids = [item.id for item, _ in sent]
    owners = sorted({owner_name(item.owner) for item, _ in sent})
    links = [
        (item.reply.chat_id, message_id, item.reply.order_id)
        for item, message_id in sent
        if message_id is not None and item.reply.order_id is not None
    ]
    params: dict[str, Any] = {"p_now": now}
    for i, (item, message_id) in enumerate(sent):
        params[f"p_id{i}"] = params[f"p_in{i}"] = item.id
        params[f"p_message{i}"] = message_id
    for i, owner in enumerate(owners):
        params[f"p_owner{i}"] = owner
    for i, (chat_id, message_id, order_id) in enumerate(links):
        params[f"p_chat{i}"], params[f"p_link{i}"], params[f"p_order{i}"] = chat_id, message_id, order_id
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and links:
        done = set(await session.scalars(_marked_and_linked(len(ids), len(owners), len(links)), params))
    else:
        done = set(await session.scalars(_marked(len(ids), len(owners)), params))
        if links:
            await session.execute(_linked(dialect, len(links)), params)
    return set(ids) - done


# The statements are built once per shape (rows, senders, links: a handful of shapes in practice, at most
# 256 kept) with numbered parameters: built afresh for every pass, they cost more CPU than running them.


@lru_cache(maxsize=256)
def _marked(rows: int, owners: int) -> Any:
    message_id = case(
        *[
            (bindparam(f"p_id{i}", type_=_ID), bindparam(f"p_message{i}", type_=BigInteger))
            for i in range(rows)
        ],
        value=_OUTBOX.c.id,
    )
    return (
        update(_OUTBOX)
        .where(
            _OUTBOX.c.id.in_([bindparam(f"p_in{i}", type_=_ID) for i in range(rows)]),
            _OUTBOX.c.status == "sending",
            _OUTBOX.c.claimed_by.in_(
                [bindparam(f"p_owner{i}", type_=_OUTBOX.c.claimed_by.type) for i in range(owners)]
            ),
        )
        .values(status="sent", message_id=message_id, sent_at=bindparam("p_now"), error=None)
        .returning(_OUTBOX.c.id)
    )


@lru_cache(maxsize=256)
def _linked(dialect: str, links: int) -> Any:
    rows: list[dict[str, Any]] = [
        {
            "chat_id": bindparam(f"p_chat{i}"),
            "message_id": bindparam(f"p_link{i}"),
            "order_id": bindparam(f"p_order{i}"),
        }
        for i in range(links)
    ]
    return INSERTS[dialect](_LINKS).values(rows).on_conflict_do_nothing()


@lru_cache(maxsize=256)
def _marked_and_linked(rows: int, owners: int, links: int) -> Any:
    marked = _marked(rows, owners).cte("marked")
    return select(marked.c.id).add_cte(_linked("postgresql", links).cte("linked"))
