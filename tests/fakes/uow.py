"""The in-memory unit of work: a copy of the store per transaction, published on commit."""

from __future__ import annotations

from tests.fakes.broadcasts import FakeBroadcasts
from tests.fakes.care import FakeCheckins, FakeLedger
from tests.fakes.community import FakeCommunity, FakeResidents
from tests.fakes.labels import FakeLabels
from tests.fakes.privacy import FakePersonalData
from tests.fakes.statistics import FakeStatistics
from tests.fakes.store import FakeStore
from tests.fakes.workorders import FakeConversations, FakeInbound, FakeLinks, FakeOrders, FakeOutbox


class FakeUnitOfWork:
    """Works on a copy of the store; commit publishes it, anything else is thrown away (a rollback)."""

    def __init__(self, shared: FakeStore) -> None:
        self._shared = shared
        self.committed = False
        self.serialized: list[int] = []

    def _open(self) -> None:
        self._work = self._shared.snapshot()
        self.community = FakeCommunity(self._work)
        self.residents = FakeResidents(self._work)
        self.orders = FakeOrders(self._work)
        self.links = FakeLinks(self._work)
        self.conversations = FakeConversations(self._work)
        self.inbound = FakeInbound(self._work)
        self.outbox = FakeOutbox(self._work)
        self.ledger = FakeLedger(self._work)
        self.checkins = FakeCheckins(self._work)
        self.broadcasts = FakeBroadcasts(self._work)
        self.privacy = FakePersonalData(self._work)
        self.statistics = FakeStatistics()
        self.labels = FakeLabels(self._work)

    async def __aenter__(self) -> FakeUnitOfWork:
        self._open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass

    async def serialize_chat(self, chat_id: int) -> None:
        self.serialized.append(chat_id)

    async def commit(self) -> None:
        self._shared.__dict__.update(self._work.snapshot().__dict__)
        self.committed = True

    async def rollback(self) -> None:
        self._open()


class FakeUnitOfWorkFactory:
    def __init__(self, store: FakeStore | None = None) -> None:
        self.store = store or FakeStore()
        self.opened: list[FakeUnitOfWork] = []

    def __call__(self) -> FakeUnitOfWork:
        uow = FakeUnitOfWork(self.store)
        self.opened.append(uow)
        return uow
