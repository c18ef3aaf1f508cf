"""One contract for the storage adapters, run on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from sqlalchemy import func, select, update

from bot.imports.community_file import load_community
from handlers.community.model import Resident, Role
from handlers.messages import Button, Reply
from handlers.ports import Conversation
from handlers.workorders.model import Actor, OrderLocation, WorkOrder
from nlp.types import Category, Priority
from storage.models import PersonRow, ResidentRow
from storage.queues.outbox import SqlOutboxQueue
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import EXAMPLE_COMMUNITY, MEMBER_LI, RESIDENT_ZHANG
from tests.fakes import FakeClock


async def test_community_structure_round_trips(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        compounds = await uow.community.compounds()
        assert [c.name for c in compounds][:3] == ["森源华府", "滨河花园", "阳光上城"]
        xingtai = await uow.community.compound_by_name("兴泰")  # by alias
        assert xingtai is not None
        assert xingtai.name == "兴泰小区"
        building = await uow.community.find_building(xingtai.id, "5")
        assert building is not None
        assert building.units == 2
        assert building.label == "兴泰小区5号楼"
        grid = await uow.community.grid_for_building(building.id)
        assert grid is not None
        assert grid.name == "第一网格"
        members = await uow.community.people(role=Role.GRID_MEMBER, grid_id=grid.id)
        assert [p.name for p in members] == ["李娜", "张伟"]
        leader = await uow.community.person(grid.leader_id or 0)
        assert leader is not None
        assert leader.name == "王建国"
        assert await uow.community.category_roles(Category.FRAUD) == (Role.POLICE_LIAISON, Role.STAFF)
        assert await uow.community.category_roles(Category.REPAIR) == ()
        settings = await uow.community.settings()
        assert settings.working_time
        assert settings.sla["urgent"].accept.total_seconds() == 600
        zhang = await uow.community.person_by_chat(2003)
        li = await uow.community.person_by_chat(MEMBER_LI)
        assert zhang is not None
        assert li is not None
        assert zhang.deputy_id == li.id
        assert zhang.duty is not None
        assert zhang.duty.weekdays == frozenset(range(6))
        assert li.has(Role.GRID_MEMBER)
        assert [b.number for b in await uow.community.buildings(xingtai.id)][:3] == ["1", "2", "3"]


async def test_reimport_keeps_ids_and_deactivates_people_who_left(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    spec = load_community(EXAMPLE_COMMUNITY)
    async with uow_factory() as uow:
        before = {p.chat_id: p.id for p in await uow.community.people()}
    without_li = replace(spec, people=tuple(p for p in spec.people if p.chat_id != MEMBER_LI))
    async with uow_factory() as uow:
        await uow.community.apply(without_li, clock.now())
        await uow.commit()
    async with uow_factory() as uow:
        after = {p.chat_id: p.id for p in await uow.community.people()}
        assert MEMBER_LI not in after
        assert all(before[chat] == pid for chat, pid in after.items())
        assert await uow.community.person_by_chat(MEMBER_LI) is None
        count = await uow.session.scalar(select(func.count()).select_from(PersonRow))
        assert count == len(spec.people)  # kept for history, inactive


async def test_order_numbers_are_unique_under_concurrency(uow_factory: SqlUnitOfWorkFactory) -> None:
    async def take() -> int:
        async with uow_factory() as uow:
            value = await uow.orders.next_number("20261129")
            await uow.commit()
            return value

    values = await asyncio.gather(*(take() for _ in range(20)))
    assert sorted(values) == list(range(1, 21))
    async with uow_factory() as uow:
        assert await uow.orders.next_number("20261130") == 1


async def test_work_order_and_its_history_round_trip(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    async with uow_factory() as uow:
        resident = await uow.residents.by_chat(RESIDENT_ZHANG)
        li = await uow.community.person_by_chat(MEMBER_LI)
        assert resident is not None
        assert resident.id is not None
        assert li is not None
        order = WorkOrder(
            id=None,
            number="GD20261129-0001",
            resident_id=resident.id,
            resident_chat_id=resident.chat_id,
            text="楼道灯坏了" * 2000,
            category=Category.REPAIR,
            priority=Priority.NORMAL,
            location=OrderLocation(building_id=resident.building_id, unit="2", room="501"),
            created_at=clock.now(),
            keywords=("灯", "坏"),
            confidence=0.8,
        )
        order.open(Actor("resident", resident.id), clock.now())
        order.assign(li.id, Actor.system(), clock.now())
        order = await uow.orders.add(order)
        await uow.commit()
    async with uow_factory() as uow:
        assert order.id is not None
        loaded = await uow.orders.get(order.id)
        assert loaded is not None
        assert loaded.text == order.text
        assert loaded.assignee_id == li.id
        assert loaded.resident_chat_id == RESIDENT_ZHANG
        assert loaded.keywords == ("灯", "坏")
        loaded.accept(Actor("person", li.id), clock.now())
        await uow.orders.save(loaded)
        await uow.commit()
    async with uow_factory() as uow:
        assert [e.kind.value for e in await uow.orders.history(order.id)] == [
            "created",
            "assigned",
            "accepted",
        ]
        assert await uow.orders.open_count_by_assignee([li.id]) == {li.id: 1}
        assert [o.number for o in await uow.orders.for_resident(resident.id)] == [order.number]


async def test_uncommitted_work_is_rolled_back(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.residents.save(Resident(id=None, chat_id=12345, name="临时"))
    async with uow_factory() as uow:
        assert await uow.residents.by_chat(12345) is None


async def test_saving_a_resident_writes_only_what_changed(uow_factory: SqlUnitOfWorkFactory) -> None:
    """A resident's save writes the columns the use case changed, not the whole row as it was read: a
    change made meanwhile by someone else (the desk moving her to another building) is not undone."""
    async with uow_factory() as uow:
        resident = await uow.residents.by_chat(RESIDENT_ZHANG)
        assert resident is not None
        assert resident.building_id is not None
        moved = resident.building_id + 1
        residents = ResidentRow.__table__
        await uow.session.execute(
            update(residents).where(residents.c.id == resident.id).values(building_id=moved)
        )
        resident.phone = "13800000000"
        await uow.residents.save(resident)
        await uow.commit()
    async with uow_factory() as uow:
        saved = await uow.residents.by_chat(RESIDENT_ZHANG)
    assert saved is not None
    assert (saved.phone, saved.building_id) == ("13800000000", moved)


async def test_inbound_ledger_says_first_time_once(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.inbound.first_time("m:1:1")
        assert not await uow.inbound.first_time("m:1:1")
        await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.inbound.first_time("m:1:1")
        assert await uow.inbound.first_time("m:1:2")


async def test_conversations_and_links(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.conversations.set(1, Conversation("report", {"pending": {"text": "漏水", "unit": None}}))
        await uow.commit()
    async with uow_factory() as uow:
        conversation = await uow.conversations.get(1)
        assert conversation == Conversation("report", {"pending": {"text": "漏水", "unit": None}})
        await uow.conversations.clear(1)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.conversations.get(1) is None
        assert await uow.links.order_for(5, 10) is None


async def test_outbox_claims_are_disjoint_and_outcomes_recorded(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    async with uow_factory() as uow:
        for n in range(30):
            await uow.outbox.put(Reply(chat_id=n, text=f"消息{n}", buttons=((Button("好", "ok:1"),),)))
        await uow.commit()
    queue = SqlOutboxQueue(uow_factory.session_factory, clock)
    first, second = await asyncio.gather(queue.claim(limit=20), queue.claim(limit=20))
    ids = [q.id for q in first + second]
    assert len(ids) == len(set(ids)) == 30
    assert first[0].reply.buttons == ((Button("好", "ok:1"),),)
    await queue.mark_sent(first[0], message_id=77)
    await queue.mark_failed(first[1], "boom", retry=True)
    await queue.mark_failed(first[2], "blocked", retry=False)
    assert await queue.pending_count() == 28  # 30, less one sent and one failed for good
    retried = await queue.claim()
    assert [q.id for q in retried] == [first[1].id]
    assert retried[0].attempts == 2


async def test_migrations_match_the_models(database) -> None:  # type: ignore[no-untyped-def]
    """Whoever adds a table or column also writes its migration: autogenerate finds nothing left to do."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from storage.models import Base
    from storage.models.workorders import MIGRATION_ONLY_INDEXES, POSTGRESQL_ONLY_INDEXES

    def wanted(item, name, kind, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
        if kind == "index" and name in MIGRATION_ONLY_INDEXES:
            return False
        if kind == "index" and name in POSTGRESQL_ONLY_INDEXES:
            return database.kind == "postgresql"
        return True

    def diff(connection):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(connection, opts={"include_object": wanted})
        return compare_metadata(context, Base.metadata)

    async with database.engine.connect() as connection:
        assert await connection.run_sync(diff) == []


async def test_one_update_per_chat_at_a_time(database, uow_factory: SqlUnitOfWorkFactory) -> None:  # type: ignore[no-untyped-def]
    """While one transaction holds a chat, another waits for it; other chats are not held up."""
    if database.kind != "postgresql":
        return  # SQLite has one writer at a time: the whole database serialises
    order: list[str] = []
    first_holds = asyncio.Event()
    release_first = asyncio.Event()

    async def first() -> None:
        async with uow_factory() as uow:
            await uow.serialize_chat(42)
            first_holds.set()
            await release_first.wait()
            order.append("first done")
            await uow.commit()

    async def second(chat: int) -> None:
        await first_holds.wait()
        async with uow_factory() as uow:
            await uow.serialize_chat(chat)
            order.append(f"second got {chat}")
            await uow.commit()

    task = asyncio.create_task(first())
    other = asyncio.create_task(second(43))
    same = asyncio.create_task(second(42))
    await other
    await asyncio.sleep(0.2)
    assert order == ["second got 43"]  # chat 42 is still held
    release_first.set()
    await asyncio.gather(task, same)
    assert order == ["second got 43", "first done", "second got 42"]


async def test_desk_pages_go_newest_first_and_search_by_name_or_words(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    """The desk's keyset pages follow (created_at, id), also when ids do not follow time (an import)."""
    from datetime import timedelta

    from handlers.desk.queries import OrderFilter, Scope
    from storage.repositories.desk_orders import SqlDeskOrderQueries
    from tests.integration.desk.orders import add_orders

    texts = ["楼道灯坏了", "垃圾没人收", "水管漏水了", "门禁坏了", "路灯不亮"]
    ages = [3, 1, 4, 0, 2]  # days ago: ids are not in time order
    await add_orders(
        uow_factory,
        [(words, clock.now() - timedelta(days=age)) for words, age in zip(texts, ages, strict=True)],
    )
    everyone = Scope(person_id=0, everything=True)
    async with uow_factory() as uow:
        resident = await uow.residents.by_chat(RESIDENT_ZHANG)
        assert resident is not None
        queries = SqlDeskOrderQueries(uow.session)
        seen: list[str] = []
        before = None
        while True:
            page = await queries.page(everyone, OrderFilter(), clock.now(), before, limit=2)
            seen += [line.summary for line in page.lines]
            if page.next_before is None:
                break
            before = page.next_before
        assert seen == ["门禁坏了", "垃圾没人收", "路灯不亮", "楼道灯坏了", "水管漏水了"]
        by_words = await queries.page(everyone, OrderFilter(search="漏水了"), clock.now())
        assert [line.summary for line in by_words.lines] == ["水管漏水了"]
        by_name = await queries.page(everyone, OrderFilter(search=resident.name), clock.now())
        assert len(by_name.lines) == 5
        # written into the SQL: escaped, never a wildcard, never a bind parameter
        for odd in ("%", "_", "x' OR '1'='1", "x'", "%_", ":a", "\\'"):
            assert (await queries.page(everyone, OrderFilter(search=odd), clock.now())).lines == []
        # two characters: on PostgreSQL also asked of the text's bigrams (migration 0020), same answers
        for word, found in (("坏了", ["门禁坏了", "楼道灯坏了"]), ("灯坏", ["楼道灯坏了"]), ("燃气", [])):
            page = await queries.page(everyone, OrderFilter(search=word), clock.now())
            assert [line.summary for line in page.lines] == found, word


async def test_run_as_commits_everything_once_or_nothing(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    """`Core.run_as` (the desk's way in): the job and `before_commit` in one transaction; a refusal undoes both."""
    import pytest

    from handlers.context import Context
    from handlers.core import Core
    from handlers.errors import NotAuthorised
    from tests.fakes import KeywordClassifier

    core = Core(uow_factory, KeywordClassifier({}), clock)
    async with uow_factory() as uow:
        li = await uow.community.person_by_chat(MEMBER_LI)
    assert li is not None
    noted: list[int] = []

    async def leave(ctx: Context) -> int:
        await ctx.uow.community.set_leave(li.id, True)
        return li.id

    async def note(uow: object, value: int) -> None:
        noted.append(value)

    async def refuse(_uow: object, _value: int) -> None:
        raise NotAuthorised("not_allowed")

    with pytest.raises(NotAuthorised):
        await core.run_as(li.id, leave, chat_id=-1, before_commit=refuse)
    async with uow_factory() as uow:
        assert (await uow.community.person(li.id)).on_leave is False  # type: ignore[union-attr]
    assert await core.run_as(li.id, leave, chat_id=-1, before_commit=note) == li.id
    assert noted == [li.id]
    async with uow_factory() as uow:
        assert (await uow.community.person(li.id)).on_leave is True  # type: ignore[union-attr]
    with pytest.raises(NotAuthorised) as gone:
        await core.run_as(10**9, leave, chat_id=-1)
    assert gone.value.code == "inactive"
