"""A community's own categories, end to end on SQLite and PostgreSQL: its rules file adds 供暖 (high, routed to
the building's grid member, 8h to resolve in its community file) and 宠物, and renames 其他 as 其他事项; a
resident's 暖气不热 opens a 供暖 order that the card, /stats, the report and the monthly workbook all name."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest

from bot.imports.community_file import parse_community
from handlers.labels import texts as label_texts
from handlers.statistics.exports import write_monthly_workbook
from handlers.statistics.report import build_report
from handlers.statistics.rollup import roll_up
from handlers.workorders.model import WorkOrder
from nlp import load_classifier
from nlp.categories import Catalog, categories_of
from nlp.types import Category, Priority
from storage.database import make_session_factory
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import EXAMPLE_COMMUNITY, MEMBER_LI, MEMBER_ZHANG, RESIDENT_ZHANG, STAFF_LIU, ChatDriver
from tests.fakes import FakeClock
from tests.integration.conftest import Database, RecordingMessenger, build_driver

RULES = Path(__file__).resolve().parents[3] / "deploy/examples/rules_community.yaml"
HEATING = Category("heating")
# The example community, on the wall clock (so 8h is 8h), with the new category's time limit and route.
ADDITIONS = """
  heating: {accept: 30m, resolve: 8h}
"""


def _community_text() -> str:
    text = EXAMPLE_COMMUNITY.read_text(encoding="utf-8")
    text = text.replace("  working_time: true ", "  working_time: false ")
    text = text.replace("  wage_arrears: staff\n", "  wage_arrears: staff\n  heating: grid_member\n")
    return text.replace(
        "  policy: {accept: 4h, resolve: 3d}\n", "  policy: {accept: 4h, resolve: 3d}\n" + ADDITIONS
    )


@pytest.fixture
async def community(database: Database, clock: FakeClock) -> tuple[SqlUnitOfWorkFactory, ChatDriver, Catalog]:
    classifier = load_classifier(RULES)
    categories = categories_of(classifier)
    spec = parse_community(_community_text(), "community.yaml", categories)
    factory = SqlUnitOfWorkFactory(make_session_factory(database.engine), clock)
    async with factory() as uow:
        await uow.community.apply(spec, clock.now())
        await uow.commit()
    return factory, build_driver(factory, clock, RecordingMessenger(), classifier), categories


async def _only_order(factory: SqlUnitOfWorkFactory) -> WorkOrder:
    """The one order 张阿姨 has opened."""
    async with factory() as uow:
        resident = await uow.residents.by_chat(RESIDENT_ZHANG)
        assert resident is not None
        assert resident.id is not None
        (order,) = await uow.orders.for_resident(resident.id)
    return order


async def test_a_heating_report_is_a_heating_order_everywhere(
    community: tuple[SqlUnitOfWorkFactory, ChatDriver, Catalog], clock: FakeClock, tmp_path: Path
) -> None:
    factory, driver, categories = community
    await driver.text(RESIDENT_ZHANG, "暖气不热，家里好冷")
    order = await _only_order(factory)
    assert order.category is HEATING
    assert order.priority is Priority.HIGH
    assert order.resolve_due_at == clock.now() + timedelta(hours=8)  # the community file's, not high's 1d
    assert order.accept_due_at == clock.now() + timedelta(minutes=30)
    cards = [s for s in driver.sent if s.chat_id in (MEMBER_LI, MEMBER_ZHANG) and order.number in s.text]
    assert cards  # routed to the building's grid member
    assert "类别：供暖" in cards[0].text
    assert any("供暖" in text for text in driver.texts(RESIDENT_ZHANG))

    await driver.text(STAFF_LIU, "/stats")
    assert "供暖 1" in driver.last(STAFF_LIU).text

    clock.advance(days=1)
    await roll_up(factory, clock, max_days=None)
    month = f"{order.created_at.year}-{order.created_at.month:02d}"
    first = order.created_at.date().replace(day=1)
    async with factory() as uow:
        report = await build_report(uow, first, clock.now().date(), clock.now(), categories=categories)
        path = tmp_path / "month.xlsx"
        await write_monthly_workbook(uow, month, clock.now(), path, categories=categories)
    assert [(s.key, s.name, s.counters.new) for s in report.by_category] == [("heating", "供暖", 1)]
    sheet = openpyxl.load_workbook(path)["按类别"]
    assert ("供暖", 1) in {(row[0], row[1]) for row in sheet.iter_rows(min_row=2, values_only=True)}


async def test_an_unsure_report_offers_the_community_s_categories_by_its_names(
    community: tuple[SqlUnitOfWorkFactory, ChatDriver, Catalog],
) -> None:
    factory, driver, _ = community
    await driver.text(RESIDENT_ZHANG, "想问一下小区什么时候开始供暖")
    asked = driver.last(RESIDENT_ZHANG)
    labels = [b.text for row in asked.reply.buttons for b in row]
    assert {"供暖", "宠物", "其他事项"} <= set(labels)
    assert "其他" not in labels
    assert labels[0] == "其他事项"  # what the classifier found closest comes first
    assert labels[-2:] == ["供暖", "宠物"]  # then every category, the community's own after the shipped ones
    assert len(labels) == len(set(labels)) == 15
    await driver.press_button(RESIDENT_ZHANG, "供暖")
    order = await _only_order(factory)
    assert order.category is HEATING
    assert order.category_chosen_by_resident
    assert order.priority is Priority.HIGH  # the category's own priority, chosen or classified


async def test_the_grid_member_moves_it_to_another_of_the_community_s_categories(
    community: tuple[SqlUnitOfWorkFactory, ChatDriver, Catalog],
) -> None:
    factory, driver, _ = community
    await driver.text(RESIDENT_ZHANG, "暖气不热，家里好冷")
    order = await _only_order(factory)
    card = next(
        s for s in reversed(driver.sent) if s.chat_id in (MEMBER_LI, MEMBER_ZHANG) and order.number in s.text
    )
    await driver.press(card.chat_id, card.button(label_texts.BTN_RECATEGORISE).data, on=card)
    offered = [b.text for row in driver.last(card.chat_id).reply.buttons for b in row]
    assert {"宠物", "其他事项"} <= set(offered)
    assert "供暖" not in offered  # what it is now
    await driver.press_button(card.chat_id, "宠物")
    moved = await _only_order(factory)
    assert moved.category is Category("pets")
    assert moved.priority is Priority.HIGH  # a correction never lowers it
    assert "宠物" in driver.last(card.chat_id).text
