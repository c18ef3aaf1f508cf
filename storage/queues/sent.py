"""Marking replies sent: what a sender writes once Telegram accepted them (issue 16).

In its own transaction (storage/queues/outbox.py `record_sent`), or in the transaction of the process's next
commit, which carries the sender's last "sent" (storage/uow.py): one commit fewer per message.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import BigInteger, Table, case, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import MessageLinkRow, OutboxRow
from storage.queues.handoff import Sent
from storage.queues.leases import owner_name
from storage.upsert import insert_for

_OUTBOX = cast(Table, OutboxRow.__table__)


async def mark_sent(session: AsyncSession, sent: list[Sent], now: datetime) -> set[int]:
    """In `session`'s transaction: mark rows sent, with their message links, in one statement (PostgreSQL;
    two on SQLite); returns the ids whose lease was lost (they may be sent again). On the table, not the
    mapped class: no ORM bookkeeping for rows no session holds."""
    ids = [item.id for item, _ in sent]
    owners = {owner_name(item.owner) for item, _ in sent}
    message_ids = {item.id: message_id for item, message_id in sent}
    marked_rows = (
        update(_OUTBOX)
        .where(_OUTBOX.c.id.in_(ids), _OUTBOX.c.status == "sending", _OUTBOX.c.claimed_by.in_(owners))
        .values(
            status="sent",
            message_id=case(
                {row_id: literal(m, BigInteger) for row_id, m in message_ids.items()}, value=_OUTBOX.c.id
            ),
            sent_at=now,
            error=None,
        )
        .returning(_OUTBOX.c.id)
    )
    links = [
        {"chat_id": item.reply.chat_id, "message_id": message_id, "order_id": item.reply.order_id}
        for item, message_id in sent
        if message_id is not None and item.reply.order_id is not None
    ]
    link_rows = insert_for(session, MessageLinkRow.__table__).on_conflict_do_nothing()
    if session.get_bind().dialect.name == "postgresql" and links:
        marked = marked_rows.cte("marked")
        query = select(marked.c.id).add_cte(link_rows.values(links).cte("linked"))
        done = set(await session.scalars(query))
    else:
        done = set(await session.scalars(marked_rows))
        if links:
            await session.execute(link_rows, links)
    return set(ids) - done
