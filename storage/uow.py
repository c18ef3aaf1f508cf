"""The unit of work: one session, one transaction per use case. Repositories never commit."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.ports import Clock
from storage.broadcasts import SqlBroadcastRepository
from storage.care import SqlCheckinRepository, SqlLedgerRepository
from storage.community import SqlCommunityRepository
from storage.repositories import (
    SqlConversationRepository,
    SqlInboundLedger,
    SqlMessageLinkRepository,
    SqlOutbox,
    SqlResidentRepository,
    SqlWorkOrderRepository,
)


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
        return self

    async def __aexit__(self, *exc: object) -> None:
        # Anything not committed explicitly is rolled back (close() ends the transaction): a use case
        # commits once, at its end. Loaded rows stay readable, detached.
        await self.session.close()

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
