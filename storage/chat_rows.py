"""What one unit of work knows of one chat's rows: the resident, their ledger entry, the conversation.

An update reads all three (who writes, are they on the ledger, what step they are at); one joined query
loads them together and the repositories answer from here, including "there is none" (which the session's
identity map cannot answer without a query). Writes through the repositories keep it up to date.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConversationRow, LedgerEntryRow, ResidentRow


def _chat_rows() -> Select[ResidentRow, LedgerEntryRow, ConversationRow]:
    chat = select(bindparam("chat_id", type_=BigInteger).label("chat_id")).subquery()
    return (
        select(ResidentRow, LedgerEntryRow, ConversationRow)
        .select_from(chat)
        .outerjoin(ResidentRow, ResidentRow.chat_id == chat.c.chat_id)
        .outerjoin(LedgerEntryRow, LedgerEntryRow.resident_id == ResidentRow.id)
        .outerjoin(ConversationRow, ConversationRow.chat_id == chat.c.chat_id)
    )


# Built once: every update runs it, and building it cost more CPU than running it.
_CHAT_ROWS = _chat_rows()


class ChatRows:
    """Rows loaded for this unit of work, held (the identity map holds rows weakly) and known absences."""

    def __init__(self) -> None:
        self._held: list[Any] = []
        self.no_ledger: set[int] = set()  # resident ids without a ledger entry
        self.no_conversation: set[int] = set()  # chat ids without a conversation

    async def load(self, session: AsyncSession, chat_id: int) -> ResidentRow | None:
        """The chat's resident, with their ledger entry and the chat's conversation, in one query."""
        resident, entry, conversation = (await session.execute(_CHAT_ROWS, {"chat_id": chat_id})).one()
        self._held += [row for row in (resident, entry, conversation) if row is not None]
        if resident is not None and entry is None:
            self.no_ledger.add(resident.id)
        if conversation is None:
            self.no_conversation.add(chat_id)
        return resident
