"""What Telegram allows, PostgreSQL (and SQLite's UTF-8) must take: a NUL in a message, a lone surrogate, a
display name of 64 + 1 + 64 characters at consent. Each ends as a stored report, not an incident. And the
reports-per-hour limit, counted in the database."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from handlers import texts
from handlers.context import Limits
from handlers.core import Core
from handlers.edge import NAME_LIMIT
from handlers.workorders import texts as order_texts
from nlp.types import Classifier
from storage.models import ResidentRow, WorkOrderRow
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import NEWCOMER, RESIDENT_ZHANG, ChatDriver
from tests.fakes import FakeClock
from tests.integration.conftest import RecordingMessenger, build_driver

LONG_NAME = "王" * 64 + " " + "明" * 64


async def _orders(uow_factory: SqlUnitOfWorkFactory) -> list[WorkOrderRow]:
    async with uow_factory() as uow:
        return list((await uow.session.scalars(select(WorkOrderRow))).all())


async def test_a_nul_byte_in_a_message(driver: ChatDriver, uow_factory: SqlUnitOfWorkFactory) -> None:
    outcome = await driver.text(RESIDENT_ZHANG, "兴泰5号楼楼道\x00灯坏了")
    assert outcome.incident is None
    (order,) = await _orders(uow_factory)
    assert order.text == "兴泰5号楼楼道灯坏了"


async def test_a_lone_surrogate_in_a_message(driver: ChatDriver, uow_factory: SqlUnitOfWorkFactory) -> None:
    outcome = await driver.text(RESIDENT_ZHANG, "兴泰5号楼楼道灯坏了\ud83d")
    assert outcome.incident is None
    (order,) = await _orders(uow_factory)
    assert order.text == "兴泰5号楼楼道灯坏了\ufffd"


async def test_a_129_character_display_name_at_consent(
    driver: ChatDriver, uow_factory: SqlUnitOfWorkFactory
) -> None:
    await driver.text(NEWCOMER, "/start", name=LONG_NAME)
    outcome = await driver.press_button(NEWCOMER, texts.BTN_AGREE)
    assert outcome.incident is None
    await driver.text(NEWCOMER, "兴泰5号楼楼道灯坏了", name=LONG_NAME)  # and they can report
    async with uow_factory() as uow:
        resident = await uow.session.scalar(select(ResidentRow).where(ResidentRow.chat_id == NEWCOMER))
    assert resident is not None
    assert resident.name == "王" * NAME_LIMIT
    assert len(await _orders(uow_factory)) == 1


async def test_reports_per_hour_are_counted_in_the_database(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, messenger: RecordingMessenger, classifier: Classifier
) -> None:
    """Two replicas (two cores) see the same count: the limit holds across them."""
    one, two = (build_driver(uow_factory, clock, messenger, classifier) for _ in range(2))
    for core in (one, two):
        core.core = Core(uow_factory, classifier, clock, limits=Limits(reports_per_hour=2))
    two.ids = itertools.count(500_000)  # other message ids: not mistaken for redeliveries
    await one.text(RESIDENT_ZHANG, "兴泰5号楼楼道灯坏了")
    await two.text(RESIDENT_ZHANG, "兴泰5号楼门口垃圾没人收")
    await one.text(RESIDENT_ZHANG, "兴泰5号楼电梯坏了")
    assert len(await _orders(uow_factory)) == 2
    assert one.last(RESIDENT_ZHANG).text == order_texts.too_many_reports(2)
    clock.advance(minutes=61)
    await two.text(RESIDENT_ZHANG, "兴泰5号楼电梯坏了")
    assert len(await _orders(uow_factory)) == 3
