"""What one unit of work knows of one chat's rows: the resident, their ledger entry, the conversation.

An update reads all three (who writes, are they on the ledger, what step they are at); one joined query
loads them together and the repositories answer from here, including "there is none". Plain rows, not ORM
objects: loading three mapped objects per update cost about twice the query itself (issue 16), and the
repositories write these tables with statements of their own (storage/repositories/residents.py,
conversations.py), so no session needs to hold them. Writes through the repositories keep this up to date.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import BigInteger, Row, Select, Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.ports import Conversation
from storage.models import ConversationRow, LedgerEntryRow, ResidentRow

RESIDENTS = cast(Table, ResidentRow.__table__)
LEDGER = cast(Table, LedgerEntryRow.__table__)
CONVERSATIONS = cast(Table, ConversationRow.__table__)


def _chat_rows() -> Select[Any]:
    # The three tables' column names do not collide (the conversation's chat_id is left out), so the row
    # reads as a resident row and as a ledger row by attribute: `resident_from_row`, care.py's `_entry`.
    chat = select(bindparam("chat_id", type_=BigInteger).label("chat_id")).subquery()
    return (
        select(*RESIDENTS.c, *LEDGER.c, CONVERSATIONS.c.step, CONVERSATIONS.c.data)
        .select_from(chat)
        .outerjoin(RESIDENTS, RESIDENTS.c.chat_id == chat.c.chat_id)
        .outerjoin(LEDGER, LEDGER.c.resident_id == RESIDENTS.c.id)
        .outerjoin(CONVERSATIONS, CONVERSATIONS.c.chat_id == chat.c.chat_id)
    )


# Built once: every update runs it, and building it cost more CPU than running it.
_CHAT_ROWS = _chat_rows()


class ChatRows:
    """Rows loaded or written in this unit of work, and known absences (None)."""

    def __init__(self) -> None:
        self.ledger: dict[int, Row[Any] | None] = {}  # resident id -> a row with the entry's columns
        self.conversations: dict[int, Conversation | None] = {}  # chat id -> its step
        # resident id -> the resident's columns as stored: a save writes only what changed
        self.residents: dict[int, dict[str, Any]] = {}

    async def load(self, session: AsyncSession, chat_id: int) -> Row[Any] | None:
        """The chat's resident (None: none), with their ledger entry and the chat's conversation."""
        row = (await session.execute(_CHAT_ROWS, {"chat_id": chat_id})).one()
        if row.step is None:
            self.conversations[chat_id] = None
        else:
            self.conversations[chat_id] = Conversation(row.step, dict(row.data or {}))
        if row.id is None:
            return None
        self.ledger[row.id] = row if row.resident_id is not None else None
        self.residents[row.id] = {column.key: getattr(row, column.key) for column in RESIDENTS.c}
        return row
