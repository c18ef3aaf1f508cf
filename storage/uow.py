"""The unit of work: one session, one transaction per use case. Repositories never commit."""

from __future__ import annotations

from typing import cast

from sqlalchemy import BigInteger, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.ports import Clock
from storage.chat_rows import ChatRows
from storage.community_cache import VERSION, CommunityCache
from storage.models import InboundRow
from storage.queues.outbox import Handoff, SqlOutbox
from storage.queues.sent import mark_sent
from storage.repositories.broadcasts import SqlBroadcastRepository
from storage.repositories.care import SqlCheckinRepository, SqlLedgerRepository
from storage.repositories.community import SqlCommunityRepository
from storage.repositories.conversations import (
    SqlConversationRepository,
    SqlInboundLedger,
    SqlMessageLinkRepository,
)
from storage.repositories.desk import SqlDeskRepository
from storage.repositories.followups import SqlFollowupRepository
from storage.repositories.labels import SqlLabelRepository
from storage.repositories.privacy import SqlPersonalDataRepository
from storage.repositories.residents import SqlResidentRepository
from storage.repositories.statistics import SqlStatisticsRepository
from storage.repositories.workorders import SqlWorkOrderRepository

# Advisory-lock keys for chats, kept apart from the outbox claim's keys (which are the bare chat ids).
_CHAT_LOCK_SPACE = 1 << 52


_INBOUND = cast(Table, InboundRow.__table__)

# The first statement of every update (the chat's lock, the update's key, the community's version), built
# once per dialect, in Core so that PostgreSQL runs them directly too (storage/direct).
_LOCKED = select(func.pg_advisory_xact_lock(bindparam("lock", type_=BigInteger)))
_LOCK_CHAT = select(VERSION.scalar_subquery()).select_from(_LOCKED.subquery("locked"))
_LOCK_CHAT_AND_SEE = (
    postgresql.insert(_INBOUND)
    .from_select(
        ["key", "seen_at"],
        select(
            bindparam("key", type_=_INBOUND.c.key.type), bindparam("now", type_=_INBOUND.c.seen_at.type)
        ).select_from(_LOCKED.cte("locked")),
    )
    .on_conflict_do_nothing()
    .returning(VERSION.scalar_subquery())
)
# SQLite's: one writer at a time already (BEGIN IMMEDIATE), so no lock; the key and the version together.
_SEE = (
    sqlite.insert(_INBOUND)
    .values(key=bindparam("p_key"), seen_at=bindparam("p_seen_at"))
    .on_conflict_do_nothing()
    .returning(VERSION.scalar_subquery())
)


class SqlUnitOfWork:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        clock: Clock,
        community: CommunityCache | None = None,
        handoff: Handoff | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._clock = clock
        self._community = community or CommunityCache()
        self._handoff = handoff

    async def __aenter__(self) -> SqlUnitOfWork:
        self.session = self._session_factory()
        clock = self._clock
        self.community = SqlCommunityRepository(self.session, self._community)
        chat_rows = ChatRows()  # the writer's resident, ledger entry and conversation: one query
        self.residents = SqlResidentRepository(self.session, chat_rows)
        self.orders = SqlWorkOrderRepository(self.session, clock)
        self.links = SqlMessageLinkRepository(self.session)
        self.conversations = SqlConversationRepository(self.session, clock, chat_rows)
        self.inbound = SqlInboundLedger(self.session, clock)
        self.outbox = SqlOutbox(self.session, clock, self._handoff)
        self.ledger = SqlLedgerRepository(self.session, chat_rows)
        self.checkins = SqlCheckinRepository(self.session)
        self.broadcasts = SqlBroadcastRepository(self.session, clock)
        self.privacy = SqlPersonalDataRepository(self.session, clock)  # /mydata and /deletedata
        self.labels = SqlLabelRepository(self.session)  # the classifier's labelled examples
        self.statistics = SqlStatisticsRepository(self.session)
        self.followups = SqlFollowupRepository(self.session)  # the 回访 list
        self.desk = SqlDeskRepository(self.session)  # the staff desk (handlers.desk reads it as a port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        # Anything not committed explicitly is rolled back (close() ends the transaction): a use case
        # commits once, at its end. Loaded rows stay readable, detached.
        await self.session.close()

    async def serialize_chat(self, chat_id: int) -> None:
        # Two replicas may receive one chat's consecutive updates (webhooks round-robin); its conversation
        # state must not be read by one while the other changes it. SQLite: one writer at a time already.
        # The same round trip reads the community's version (storage/community_cache.py).
        if self.session.get_bind().dialect.name == "postgresql":
            version = await self.session.scalar(_LOCK_CHAT, {"lock": _CHAT_LOCK_SPACE + chat_id})
            self.community.saw_version(int(version or 0))

    async def begin_update(self, chat_id: int, dedupe_key: str | None) -> bool:
        """`serialize_chat` and `inbound.first_time` in one statement, with the community's version:
        False when the update was handled before."""
        dialect = self.session.get_bind().dialect.name
        if dedupe_key is None or dialect not in ("postgresql", "sqlite"):
            await self.serialize_chat(chat_id)
            return dedupe_key is None or await self.inbound.first_time(dedupe_key)
        if dialect == "sqlite":
            seen = await self.session.execute(_SEE, {"p_key": dedupe_key, "p_seen_at": self._clock.now()})
        else:
            # The lock is taken before the row is written; the next statements' snapshots see what the
            # chat's previous transaction committed. A second handling of the key finds it (conflict: no
            # row).
            seen = await self.session.execute(
                _LOCK_CHAT_AND_SEE,
                {"lock": _CHAT_LOCK_SPACE + chat_id, "key": dedupe_key, "now": self._clock.now()},
            )
        row = seen.first()
        if row is None:
            return False
        self.community.saw_version(int(row[0] or 0))
        return True

    async def commit(self) -> None:
        # The sender's last "sent" not written yet rides along in this transaction (one commit fewer per
        # message); the sender sends nothing more until this is over, so the crash bound stays one message.
        carried = self._handoff.carry_sent() if self._handoff is not None else []
        lost: set[int] | None = None
        try:
            await self.outbox.write()  # the replies, in one INSERT
            found = await mark_sent(self.session, carried, self._clock.now()) if carried else set()
            await self.session.commit()
            lost = found
        finally:
            if carried:
                assert self._handoff is not None
                self._handoff.carried(carried, lost)
        self.outbox.hand_over()  # those written claimed for this process's sender go to it in memory

    async def rollback(self) -> None:
        self.outbox.discard()
        await self.session.rollback()


class SqlUnitOfWorkFactory:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.community = CommunityCache()  # this process's copy, shared by its units of work
        # This process's reply sender: committed replies go to it in memory (storage/queues/outbox.py).
        self.handoff: Handoff | None = None

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.session_factory, self.clock, self.community, self.handoff)
