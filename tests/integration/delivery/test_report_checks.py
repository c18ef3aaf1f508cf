"""A report's flood count, its "me too" candidates and the open orders routing counts come back from one
statement (issue 16), on SQLite and PostgreSQL, and say exactly what the separate questions say."""

from __future__ import annotations

import itertools
from datetime import timedelta

from bot.settings import DeliverySettings
from nlp.types import Category, Classifier
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import MEMBER_LI, MEMBER_ZHANG, RESIDENT_CHEN, RESIDENT_ZHANG
from tests.fakes import FakeClock
from tests.integration.conftest import Database, RecordingMessenger
from tests.integration.delivery.test_report_cost import counting, running_bot


def _counts_alone(statements: list[str]) -> list[str]:
    """The flood limit's count or the members' open orders asked on their own (the round trips the joined
    statement saves)."""
    return [
        s
        for s in statements
        if "work_orders" in s
        and "candidates" not in s
        and (s.lstrip().upper().startswith("SELECT COUNT(") or "GROUP BY work_orders.assignee_id" in s)
    ]


async def test_a_report_asks_its_flood_count_me_too_and_loads_in_one_statement(
    database: Database,
    uow_factory: SqlUnitOfWorkFactory,
    clock: FakeClock,
    messenger: RecordingMessenger,
    classifier: Classifier,
) -> None:
    driver, _ = running_bot(uow_factory, clock, messenger, classifier, DeliverySettings())
    await driver.text(RESIDENT_CHEN, "楼道灯坏了")  # the process's first report loads the community
    await driver.text(RESIDENT_ZHANG, "楼道灯坏了")  # 第一网格's first order: to one of its two members
    with counting(database.engine) as counted:
        await driver.text(RESIDENT_ZHANG, "垃圾堆了好几天没人清理")
    assert any("已为您生成工单" in s.text for s in driver.inbox(RESIDENT_ZHANG)), [
        s.text for s in driver.sent
    ]
    assert _counts_alone(counted.statements) == [], "\n".join(counted.statements)
    joined = [s for s in counted.statements if "load_0" in s and "opened" in s and "candidates" in s]
    assert len(joined) == 1, "\n".join(counted.statements)
    # ... and the order went to the member with fewer open orders: one each
    assert (len(driver.inbox(MEMBER_LI)), len(driver.inbox(MEMBER_ZHANG))) == (1, 1)


async def test_the_joined_statement_answers_as_the_two_questions_do(
    uow_factory: SqlUnitOfWorkFactory,
    clock: FakeClock,
    messenger: RecordingMessenger,
    classifier: Classifier,
) -> None:
    """Every resident, category, place (a building, a compound's public space, none) and set of people asked
    about: the same count, the same orders in the same order (with candidates or none), the same loads."""
    driver, _ = running_bot(uow_factory, clock, messenger, classifier, DeliverySettings())
    await driver.text(RESIDENT_CHEN, "楼道灯坏了")
    await driver.text(RESIDENT_CHEN, "垃圾堆了好几天没人清理")
    clock.advance(minutes=5)
    hour, since = clock.now() - timedelta(hours=1), clock.now() - timedelta(minutes=30)
    compared = 0
    async with uow_factory() as uow:
        residents = [await uow.residents.by_chat(chat) for chat in (RESIDENT_CHEN, RESIDENT_ZHANG)]
        orders = await uow.orders.for_resident(residents[0].id or 0) if residents[0] else []
        assert len(orders) == 2
        places = {(o.location.building_id, o.location.compound_id) for o in orders}
        places |= {(None, compound) for _, compound in places} | {(None, None)}
        people = [p.id for p in await uow.community.people()]
        handler = orders[0].assignee_id
        assert handler is not None
        assert all(o.assignee_id == handler for o in orders)  # 第二网格's only member
        others = [p for p in people if p != handler]
        people_asked = [(), others[:1], [handler], [*others[:3], handler, handler]]
        for resident in residents:
            assert resident is not None
            assert resident.id is not None
            for category in (Category.REPAIR, Category.SANITATION, Category.PARKING):
                for (building, compound), asked in itertools.product(sorted(places, key=str), people_asked):
                    checks = await uow.orders.report_checks(
                        resident.id, hour, category, building, compound, since, asked
                    )
                    opened, similar = checks.opened, checks.similar
                    alone = (
                        await uow.orders.similar_open(category, building, compound, since) if compound else []
                    )
                    assert opened == await uow.orders.opened_by(resident.id, hour)
                    counted = await uow.orders.open_count_by_assignee(list(asked))
                    assert checks.loads == {person: counted.get(person, 0) for person in asked}
                    assert checks.loads.get(handler, 2) == 2
                    assert [o.id for o in similar] == [o.id for o in alone]
                    assert [(o.number, o.resident_chat_id, o.location.compound_name) for o in similar] == [
                        (o.number, o.resident_chat_id, o.location.compound_name) for o in alone
                    ]
                    compared += 1
    # Chen's two orders counted, and found as candidates at their own building and category.
    assert compared >= 2 * 3 * 3 * 4
    async with uow_factory() as uow:
        chen = residents[0]
        assert chen is not None
        assert chen.id is not None
        repair = next(o for o in orders if o.category is Category.REPAIR)
        assert repair.assignee_id is not None
        checks = await uow.orders.report_checks(
            chen.id,
            hour,
            Category.REPAIR,
            repair.location.building_id,
            repair.location.compound_id,
            since,
            [repair.assignee_id],
        )
        assert (checks.opened, [o.id for o in checks.similar], checks.loads) == (
            2,
            [repair.id],
            {repair.assignee_id: 2},
        )
        checks = await uow.orders.report_checks(
            chen.id, clock.now(), Category.PARKING, repair.location.building_id, None, since
        )
        assert (checks.opened, checks.similar, checks.loads) == (0, [], {})
