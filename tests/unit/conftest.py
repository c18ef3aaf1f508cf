from __future__ import annotations

import itertools

import pytest

from bot.imports.community_file import load_community
from handlers.core import Core
from tests.driver import EXAMPLE_COMMUNITY, ChatDriver, Sent
from tests.fakes import FakeClock, FakeCommunity, FakeUnitOfWorkFactory, KeywordClassifier


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def uow_factory(clock: FakeClock) -> FakeUnitOfWorkFactory:
    factory = FakeUnitOfWorkFactory()
    await FakeCommunity(factory.store).apply(load_community(EXAMPLE_COMMUNITY), clock.now())
    return factory


@pytest.fixture
def driver(uow_factory: FakeUnitOfWorkFactory, clock: FakeClock) -> ChatDriver:
    store = uow_factory.store
    classifier = KeywordClassifier({c.name: list(c.aliases) for c in store.compounds.values()})
    core = Core(uow_factory, classifier, clock)
    message_ids = itertools.count(1)

    async def deliver() -> list[Sent]:
        # What a transport does after each update: send the outbox, link sent messages to their orders.
        sent = []
        for reply in store.outbox:
            if reply.edit_message_id is not None:
                sent.append(Sent(reply.edit_message_id, reply, None))
                continue
            message_id = next(message_ids)
            reply_to = None
            if reply.thread and reply.order_id is not None:
                reply_to = max(
                    (m for (c, m), o in store.links.items() if c == reply.chat_id and o == reply.order_id),
                    default=None,
                )
            if reply.order_id is not None:
                store.links[(reply.chat_id, message_id)] = reply.order_id
            sent.append(Sent(message_id, reply, reply_to))
        store.outbox.clear()
        return sent

    return ChatDriver(core, deliver)
