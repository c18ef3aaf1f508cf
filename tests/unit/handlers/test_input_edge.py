"""Untrusted input at the edge: text made storable, button data checked against what exists (ids, a
building's units), and a resident's reports limited per hour (never an emergency)."""

from __future__ import annotations

import itertools

import pytest

from handlers import texts
from handlers.context import Limits
from handlers.core import Core
from handlers.edge import NAME_LIMIT, clean, clean_text
from handlers.messages import Incoming
from handlers.workorders import texts as order_texts
from nlp.types import Category
from tests.driver import (
    MEMBER_LI,
    NEWCOMER,
    POLICE_WU,
    RESIDENT_ZHANG,
    STAFF_LIU,
    ChatDriver,
)
from tests.fakes import FakeClock, FakeUnitOfWorkFactory, KeywordClassifier
from tests.unit.handlers.fuzz.fuzzing import fake_state

LONG_NAME = "王" * 64 + " " + "明" * 64  # Telegram: first name 64 + last name 64


class TestCleaning:
    def test_nul_is_dropped_and_a_lone_surrogate_replaced(self) -> None:
        assert clean_text("灯\x00坏了\ud800") == "灯坏了\ufffd"
        assert clean_text("🔥着火了") == "🔥着火了"  # a real pair of surrogates is one character in Python

    def test_the_update_is_cleaned_in_every_field_people_type(self) -> None:
        dirty = Incoming(1, 1, sender_name=LONG_NAME + "\x00", text="a\x00b", callback_data="ac:1\x00")
        cleaned = clean(dirty)
        assert (cleaned.text, cleaned.callback_data) == ("ab", "ac:1")
        assert cleaned.sender_name == "王" * NAME_LIMIT

    def test_a_clean_update_is_passed_on_as_it_is(self) -> None:
        update = Incoming(1, 1, sender_name="张阿姨", text="楼道灯坏了")
        assert clean(update) is update

    async def test_the_core_stores_what_was_typed_without_nul_or_lone_surrogates(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await driver.text(RESIDENT_ZHANG, "楼道\x00灯坏了\udc00")
        (order,) = uow_factory.store.orders.values()
        assert order.text == "楼道灯坏了\ufffd"

    async def test_a_display_name_of_129_characters_is_fitted_at_consent(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        await driver.text(NEWCOMER, "/start", name=LONG_NAME)
        await driver.press_button(NEWCOMER, texts.BTN_AGREE)
        (resident,) = [r for r in uow_factory.store.residents.values() if r.chat_id == NEWCOMER]
        assert resident.name == "王" * NAME_LIMIT


class TestAddressButtons:
    async def _at_the_unit_step(self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory) -> int:
        await driver.text(RESIDENT_ZHANG, "/address")
        await driver.press_button(RESIDENT_ZHANG, "兴泰小区")
        await driver.press_button(RESIDENT_ZHANG, "5号楼")
        building = next(b for b in uow_factory.store.buildings.values() if b.label.endswith("兴泰小区5号楼"))
        return building.units

    async def test_a_unit_the_building_does_not_have_is_refused(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        units = await self._at_the_unit_step(driver, uow_factory)
        before = fake_state(uow_factory.store)
        for unit in (units + 1, 99999, 0):
            outcome = await driver.press(RESIDENT_ZHANG, f"ad:u:{unit}")
            assert outcome.callback_answer == texts.STALE_BUTTON
            assert not outcome.replies
        assert fake_state(uow_factory.store) == before

    async def test_a_unit_it_has_is_taken(
        self, driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        units = await self._at_the_unit_step(driver, uow_factory)
        await driver.press(RESIDENT_ZHANG, f"ad:u:{units}")
        (resident,) = [r for r in uow_factory.store.residents.values() if r.chat_id == RESIDENT_ZHANG]
        assert resident.unit == str(units)
        assert driver.last(RESIDENT_ZHANG).text == texts.ASK_ROOM

    async def test_skipping_a_room_nobody_asked_for_is_refused(self, driver: ChatDriver) -> None:
        outcome = await driver.press(RESIDENT_ZHANG, "ad:r:0")
        assert outcome.callback_answer == texts.STALE_BUTTON
        assert not outcome.replies


# Buttons naming something that does not exist (id 10**6), pressed by whoever could press the real one.
MISSING = [
    (MEMBER_LI, "ac:1000000"),
    (MEMBER_LI, "tr:1000000"),
    (MEMBER_LI, "tt:1000000:1"),
    (MEMBER_LI, "rt:1000000"),
    (MEMBER_LI, "rs:1000000"),
    (MEMBER_LI, "cl:1000000"),
    (STAFF_LIU, "dp:1000000:1"),
    (STAFF_LIU, "sv:1000000"),
    (STAFF_LIU, "bc:a:1000000"),
    (STAFF_LIU, "al:y:1000000"),
    (RESIDENT_ZHANG, "ra:1000000:s"),
    (RESIDENT_ZHANG, "cx:1000000"),
    (RESIDENT_ZHANG, "ci:1000000:fine"),
    (MEMBER_LI, "cm:1000000"),
    (RESIDENT_ZHANG, "rc:1000000"),
    (RESIDENT_ZHANG, "rb:1000000"),
    (RESIDENT_ZHANG, "dj:1000000"),
    (RESIDENT_ZHANG, "ad:c:1000000"),
    (RESIDENT_ZHANG, "ad:b:1000000"),
    (POLICE_WU, "ac:1000000"),
]


@pytest.mark.parametrize(("chat", "data"), MISSING)
async def test_a_button_naming_what_does_not_exist_is_refused_and_changes_nothing(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, chat: int, data: str
) -> None:
    await driver.text(RESIDENT_ZHANG, "兴泰5号楼楼道灯坏了")
    before = fake_state(uow_factory.store)
    outcome = await driver.press(chat, data)
    assert outcome.incident is None
    assert outcome.callback_answer is not None or outcome.replies
    assert fake_state(uow_factory.store) == before


class TestReportsPerHour:
    @pytest.fixture
    def limited(self, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock, driver: ChatDriver) -> ChatDriver:
        """The same chats, with a core allowing three reports an hour."""
        store = uow_factory.store
        classifier = KeywordClassifier({c.name: list(c.aliases) for c in store.compounds.values()})
        return ChatDriver(
            Core(uow_factory, classifier, clock, limits=Limits(reports_per_hour=3)), driver.deliver
        )

    async def test_the_fourth_report_in_an_hour_is_declined_politely(
        self, limited: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
    ) -> None:
        for place in ("5号楼楼道灯坏了", "5号楼电梯灯坏了", "5号楼门口漏水", "5号楼地下室漏水"):
            await limited.text(RESIDENT_ZHANG, place)
        assert len(uow_factory.store.orders) == 3
        assert limited.last(RESIDENT_ZHANG).text == order_texts.too_many_reports(3)
        clock.advance(minutes=61)
        await limited.text(RESIDENT_ZHANG, "5号楼地下室漏水")
        assert len(uow_factory.store.orders) == 4

    async def test_an_emergency_is_never_limited(
        self, limited: ChatDriver, uow_factory: FakeUnitOfWorkFactory
    ) -> None:
        for place in ("5号楼楼道灯坏了", "5号楼电梯灯坏了", "5号楼门口漏水"):
            await limited.text(RESIDENT_ZHANG, place)
        await limited.text(RESIDENT_ZHANG, "5号楼着火了")
        assert len(uow_factory.store.orders) == 4
        assert any(o.category is Category.EMERGENCY for o in uow_factory.store.orders.values())

    async def test_the_limit_counts_stored_orders_so_every_replica_agrees(
        self, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock, driver: ChatDriver
    ) -> None:
        store = uow_factory.store
        classifier = KeywordClassifier({c.name: list(c.aliases) for c in store.compounds.values()})
        one, two = (
            ChatDriver(
                Core(uow_factory, classifier, clock, limits=Limits(reports_per_hour=2)),
                driver.deliver,
                ids=itertools.count(start),  # distinct message ids: no update is taken for a redelivery
            )
            for start in (500_000, 600_000)
        )
        await one.text(RESIDENT_ZHANG, "5号楼楼道灯坏了")
        await two.text(RESIDENT_ZHANG, "5号楼门口漏水")
        outcome = await one.text(RESIDENT_ZHANG, "5号楼地下室漏水")
        assert not outcome.duplicate
        assert len(store.orders) == 2
