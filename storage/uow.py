"""The unit of work: one session, one transaction per use case. Repositories never commit."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.ports import Clock
from storage.queues.outbox import SqlOutbox
from storage.repositories.broadcasts import SqlBroadcastRepository
from storage.repositories.care import SqlCheckinRepository, SqlLedgerRepository
from storage.repositories.community import SqlCommunityRepository
from storage.repositories.conversations import (
    SqlConversationRepository,
    SqlInboundLedger,
    SqlMessageLinkRepository,
)
from storage.repositories.desk import SqlDeskRepository
from storage.repositories.labels import SqlLabelRepository
from storage.repositories.privacy import SqlPersonalDataRepository
from storage.repositories.residents import SqlResidentRepository
from storage.repositories.statistics import SqlStatisticsRepository
from storage.repositories.workorders import SqlWorkOrderRepository

# Advisory-lock keys for chats, kept apart from the outbox claim's keys (which are the bare chat ids).
_CHAT_LOCK_SPACE = 1 << 52


class SqlUnitOfWork:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._session_factory = session_factory
        self._clock = clock

    async def __aenter__(self) -> SqlUnitOfWork:
        self.session = self._session_factory()
        clock = self._clock
        self.community = SqlCommunityRepository(self.session)
        self.residents = SqlResidentRepository(self.session)
        self.orders = SqlWorkOrderRepository(self.session, clock)
        self.links = SqlMessageLinkRepository(self.session)
        self.conversations = SqlConversationRepository(self.session, clock)
        self.inbound = SqlInboundLedger(self.session, clock)
        self.outbox = SqlOutbox(self.session, clock)
        self.ledger = SqlLedgerRepository(self.session)
        self.checkins = SqlCheckinRepository(self.session)
        self.broadcasts = SqlBroadcastRepository(self.session, clock)
        self.privacy = SqlPersonalDataRepository(self.session)  # /mydata and /deletedata
        self.labels = SqlLabelRepository(self.session)  # the classifier's labelled examples
        self.statistics = SqlStatisticsRepository(self.session)
        self.desk = SqlDeskRepository(self.session)  # the staff desk (handlers.desk reads it as a port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        # Anything not committed explicitly is rolled back (close() ends the transaction): a use case
        # commits once, at its end. Loaded rows stay readable, detached.
        await self.session.close()

    async def serialize_chat(self, chat_id: int) -> None:
        # Two replicas may receive one chat's consecutive updates (webhooks round-robin); its conversation
        # state must not be read by one while the other changes it. SQLite: one writer at a time already.
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAT_LOCK_SPACE + chat_id}
            )

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()


class SqlUnitOfWorkFactory:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.session_factory = session_factory
        self.clock = clock

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.session_factory, self.clock)
