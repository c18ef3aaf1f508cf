"""Replies handed to this process's sender at commit, in memory, already claimed (issue 16).

A unit of work writes its replies in one INSERT just before its commit (storage/queues/outbox.py). With a
`Handoff` (the sender of a running bot), the rows of a chat nobody else is sending to are written claimed
by that sender under `handed_name` (a lease like any claim: a crash puts them back, the outbox stays the
source of truth) and handed over after the commit; no claim transaction, no query to find them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import and_, case, exists, null, or_
from sqlalchemy.orm import aliased

from handlers.messages import Reply
from storage.models import OutboxRow, UnreachableChatRow
from storage.queues.leases import NAME_LENGTH, owner_name


@dataclass(frozen=True)
class QueuedReply:
    id: int
    reply: Reply
    reply_to_message_id: int | None  # resolved from the order's latest message in that chat
    attempts: int
    owner: str = ""  # the sender holding the claim
    # False: handed at commit, its reply-to (a thread under the order's latest message) is found on sending
    resolved: bool = True

    @property
    def chat_id(self) -> int:
        return self.reply.chat_id

    @property
    def urgent(self) -> bool:
        return self.reply.urgent


class Handoff(Protocol):
    """A sender in this process that takes replies at commit, in memory, instead of claiming them."""

    @property
    def name(self) -> str: ...

    def take(self, items: list[QueuedReply], *, left_pending: bool) -> None:
        """Rows committed as claimed by `handed_name(name)`, in order; `left_pending`: others wait in the
        queue (their chat was busy) and need a claim."""
        ...


def handed_name(owner: str) -> str:
    """The claim name of rows handed in memory to the sender `owner`: apart from the rows it claimed."""
    return owner_name(owner)[: NAME_LENGTH - 2] + "/h"


def claim_if_alone(chat_id: int, owner: str | None, now: datetime, free: bool) -> dict[str, Any]:
    """The row's status and claim: claimed for `owner` (handed) if its chat is `free` (locked by us), has
    nothing waiting in the queue nor held by another sender, and has not refused us; otherwise pending."""
    if owner is None or not free:
        return {"status": "pending", "attempts": 0, "claimed_by": None, "claimed_at": None}
    other = aliased(OutboxRow)
    busy = exists().where(
        other.chat_id == chat_id,
        or_(other.status == "pending", and_(other.status == "sending", other.claimed_by != owner)),
    )
    refused = exists().where(UnreachableChatRow.chat_id == chat_id)
    alone = ~or_(busy, refused)
    return {
        "status": case((alone, "sending"), else_="pending"),
        "attempts": case((alone, 1), else_=0),
        "claimed_by": case((alone, owner), else_=null()),
        "claimed_at": case((alone, now), else_=null()),
    }
