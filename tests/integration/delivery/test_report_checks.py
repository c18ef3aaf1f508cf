"""A report's flood count and its "me too" candidates come back from one statement (issue 16), on SQLite and
PostgreSQL, and say exactly what the two separate questions say."""

from __future__ import annotations

from datetime import timedelta

from bot.settings import DeliverySettings
from nlp.types import Category, Classifier
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import RESIDENT_CHEN, RESIDENT_ZHANG
from tests.fakes import FakeClock
from tests.integration.conftest import Database, RecordingMessenger
from tests.integration.delivery.test_report_cost import counting, running_bot


def _flood_counts_alone(statements: list[str]) -> list[str]:
    """The flood limit's count asked on its own (the round trip the joined statement saves)."""
    return [s for s in statements if s.lstrip().upper().startswith("SELECT COUNT(") and "work_orders" in s]


async def test_a_report_asks_its_flood_count_and_me_too_in_one_statement(
    database: Database,
    uow_factory: SqlUnitOfWorkFactory,
    clock: FakeClock,
    messenger: RecordingMessenger,
    classifier: Classifier,
) -> None:
    driver, _ = running_bot(uow_factory, clock, messenger, classifier, DeliverySettings())
    await driver.text(RESIDENT_CHEN, "楼道灯坏了")  # the process's first report loads the community
    with counting(database.engine) as counted:
        await driver.text(RESIDENT_ZHANG, "垃圾堆了好几天没人清理")
    assert any("已为您生成工单" in s.text for s in driver.inbox(RESIDENT_ZHANG)), [
        s.text for s in driver.sent
    ]
    assert _flood_counts_alone(counted.statements) == [], "\n".join(counted.statements)
    joined = [s for s in counted.statements if "opened_count" in s and "candidates" in s]
    assert len(joined) == 1, "\n".join(counted.statements)


async def test_the_joined_statement_answers_as_the_two_questions_do(
    uow_factory: SqlUnitOfWorkFactory,
    clock: FakeClock,
    messenger: RecordingMessenger,
    classifier: Classifier,
) -> None:
    """Every resident, category and place (a building, a compound's public space, none): the same count and
    the same orders, in the same order, whether there are candidates or not."""
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
        for resident in residents:
            assert resident is not None
            assert resident.id is not None
            for category in (Category.REPAIR, Category.SANITATION, Category.PARKING):
                for building, compound in sorted(places, key=str):
                    opened, similar = await uow.orders.report_checks(
                        resident.id, hour, category, building, compound, since
                    )
                    alone = await uow.orders.similar_open(category, building, compound, since)
                    assert opened == await uow.orders.opened_by(resident.id, hour)
                    assert [o.id for o in similar] == [o.id for o in alone]
                    assert [(o.number, o.resident_chat_id, o.location.compound_name) for o in similar] == [
                        (o.number, o.resident_chat_id, o.location.compound_name) for o in alone
                    ]
                    compared += 1
    # Chen's two orders counted, and found as candidates at their own building and category.
    assert compared >= 2 * 3 * 3
    async with uow_factory() as uow:
        chen = residents[0]
        assert chen is not None
        assert chen.id is not None
        repair = next(o for o in orders if o.category is Category.REPAIR)
        opened, similar = await uow.orders.report_checks(
            chen.id, hour, Category.REPAIR, repair.location.building_id, repair.location.compound_id, since
        )
        assert (opened, [o.id for o in similar]) == (2, [repair.id])
        opened, similar = await uow.orders.report_checks(
            chen.id, clock.now(), Category.PARKING, repair.location.building_id, None, since
        )
        assert (opened, similar) == (0, [])
