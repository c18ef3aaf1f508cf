"""The fuzzers' smaller run on a real database (tests/unit/handlers/fuzz/ run the big one on the
fakes): buttons, commands and any text, from anyone, through the real classifier and storage. Nothing
escapes or fails, everything is answered, and a refused update leaves every table as it was."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.messages import Incoming
from storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from tests.driver import ChatDriver
from tests.integration.conftest import Database
from tests.integration.reliability.tables import dump
from tests.unit.handlers.fuzz.fuzzing import (
    ANYONE,
    Tally,
    build_scenario,
    callback_data,
    command_text,
    judge,
    message_text,
)

EXAMPLES = 60  # per database; each example is one update on the same, growing database
TALLY = Tally()
_ids = itertools.count(1)
# Every update adds its dedupe key and its answers; the scheduler's and sender's own tables are not ours.
_NOT_STATE = ("inbound_seen", "outbox", "telegram_updates")


class CountingFactory(SqlUnitOfWorkFactory):
    """Counts the units of work opened: a refused update opens a second one to answer alone."""

    opened = 0

    def __call__(self) -> SqlUnitOfWork:
        self.opened += 1
        return super().__call__()


@pytest.fixture
async def world(
    database: Database, uow_factory: SqlUnitOfWorkFactory, driver: ChatDriver
) -> tuple[Database, CountingFactory, ChatDriver, list[str]]:
    shown = await build_scenario(driver, driver.core.run_checkins)
    counting = CountingFactory(uow_factory.session_factory, uow_factory.clock)
    driver.core._uow_factory = counting  # the same core, now counted
    return database, counting, driver, shown


async def _check(world: tuple[Database, CountingFactory, ChatDriver, list[str]], incoming: Incoming) -> None:
    database, counting, driver, _ = world
    before: dict[str, Any] = await dump(database.engine, skip=_NOT_STATE)
    opened = counting.opened
    outcome = await driver.core.handle(incoming)
    TALLY.add(database.kind)
    what = f"{incoming.callback_data or incoming.text!r} by {incoming.sender_id}"
    assert outcome.incident is None, f"{what} failed unexpectedly"
    verdict = judge(incoming, outcome, counting.opened - opened)
    assert verdict.answered, f"{what} was not answered"
    if verdict.refused:
        assert await dump(database.engine, skip=_NOT_STATE) == before, (
            f"{what} was refused but changed tables"
        )


@settings(
    max_examples=EXAMPLES,
    database=None,
    deadline=None,
    # One database for all examples, on purpose: the state grows as the updates pile up.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_any_update_on_a_real_database(
    world: tuple[Database, CountingFactory, ChatDriver, list[str]], data: st.DataObject
) -> None:
    chat = data.draw(ANYONE)
    if data.draw(st.booleans()):
        press = data.draw(callback_data(world[3]))
        await _check(world, Incoming(chat, chat, callback_data=press, dedupe_key=f"cb:{next(_ids)}"))
        return
    text = data.draw(st.one_of(command_text(), message_text()))
    name = data.draw(st.one_of(st.just(""), st.text(max_size=129)))
    message_id = next(_ids)
    await _check(
        world, Incoming(chat, chat, name, message_id=message_id, text=text, dedupe_key=f"m:{message_id}")
    )


def test_report_cases_tried(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs after the property above (file order) and says how many updates it tried per database."""
    if not TALLY.counts:
        pytest.skip("the fuzz test above did not run")
    with capsys.disabled():
        print(f"\nfuzz on real databases: {TALLY.counts}")
