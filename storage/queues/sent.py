"""Marking replies sent: what a sender writes once Telegram accepted them (issue 16).

In its own transaction (storage/queues/outbox.py `record_sent`), or in the transaction of the process's next
commit, which carries the sender's last "sent" (storage/uow.py): one commit fewer per message.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import ARRAY, BigInteger, Table, bindparam, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.direct import DirectConnection
from storage.models import MessageLinkRow, OutboxRow
from storage.queues.handoff import Sent
from storage.queues.leases import owner_name

_OUTBOX = cast(Table, OutboxRow.__table__)
_LINKS = cast(Table, MessageLinkRow.__table__)
_ID = _OUTBOX.c.id.type


async def mark_sent(
    executor: AsyncSession | AsyncConnection | DirectConnection, sent: list[Sent], now: datetime
) -> set[int]:
    """In the transaction of `executor` (a unit of work's session, or the sender's own connection): mark
    rows sent, with their message links, in one statement (PostgreSQL; two on SQLite); returns the ids
    whose lease was lost (they may be sent again). On the table, not the mapped class: no ORM bookkeeping
    for rows no session holds."""
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
    bind = executor if isinstance(executor, AsyncConnection) else executor.get_bind()
    if bind.dialect.name == "postgresql":
        if not links:
            return set(ids) - set(await executor.scalars(_marked(len(ids), len(owners)), params))
        params["p_chats"] = [chat_id for chat_id, _, _ in links]
        params["p_links"] = [message_id for _, message_id, _ in links]
        params["p_orders"] = [order_id for _, _, order_id in links]
        return set(ids) - set(await executor.scalars(_marked_and_linked(len(ids), len(owners)), params))
    done = set(await executor.scalars(_marked(len(ids), len(owners)), params))
    if links:
        await executor.execute(_LINKED_ROW, [{"p_chat": c, "p_link": m, "p_order": o} for c, m, o in links])
    return set(ids) - done


# The statements are built once per shape (rows, senders: a handful of shapes in practice, at most 256 kept)
# with numbered parameters: built afresh for every pass, they cost more CPU than running them. The links
# are not part of the shape: SQLAlchemy gives a multi-row VALUES no cache key, so such a statement was
# compiled again at every pass (~0.4 ms of CPU a report); one row's INSERT run for each link (SQLite) and
# one array per column (PostgreSQL) are compiled once.


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


# SQLite: parameters per link p_chat, p_link, p_order.
_LINKED_ROW = (
    sqlite.insert(_LINKS)
    .values(chat_id=bindparam("p_chat"), message_id=bindparam("p_link"), order_id=bindparam("p_order"))
    .on_conflict_do_nothing()
)


def _linked_arrays() -> Any:
    """PostgreSQL: parameters p_chats, p_links, p_orders, one array each."""
    rows = (
        func.unnest(
            bindparam("p_chats", type_=ARRAY(BigInteger)),
            bindparam("p_links", type_=ARRAY(BigInteger)),
            bindparam("p_orders", type_=ARRAY(BigInteger)),
        )
        .table_valued("chat", "link", "order_id")
        .render_derived("links")
    )
    chosen = select(rows.c.chat, rows.c.link, rows.c.order_id)
    columns = ["chat_id", "message_id", "order_id"]
    return postgresql.insert(_LINKS).from_select(columns, chosen).on_conflict_do_nothing()


_LINKED_ARRAYS = _linked_arrays()


@lru_cache(maxsize=256)
def _marked_and_linked(rows: int, owners: int) -> Any:
    marked = _marked(rows, owners).cte("marked")
    return select(marked.c.id).add_cte(_LINKED_ARRAYS.cte("linked"))
