"""In-memory implementations of the core's ports: real behaviour, no database."""

from tests.fakes.broadcasts import FakeBroadcasts
from tests.fakes.care import FakeCheckins, FakeLedger
from tests.fakes.community import FakeCommunity, FakeResidents
from tests.fakes.store import FakeBroadcastState, FakeClock, FakeStore, KeywordClassifier
from tests.fakes.uow import FakeUnitOfWork, FakeUnitOfWorkFactory
from tests.fakes.workorders import FakeConversations, FakeInbound, FakeLinks, FakeOrders, FakeOutbox

__all__ = [
    "FakeClock",
    "KeywordClassifier",
    "FakeStore",
    "FakeCommunity",
    "FakeResidents",
    "FakeOrders",
    "FakeLinks",
    "FakeConversations",
    "FakeInbound",
    "FakeOutbox",
    "FakeLedger",
    "FakeCheckins",
    "FakeUnitOfWork",
    "FakeUnitOfWorkFactory",
    "FakeBroadcastState",
    "FakeBroadcasts",
]
