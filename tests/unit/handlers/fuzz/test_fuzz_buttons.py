"""Every button, pressed by anyone with any data: nothing escapes handling or fails, every press is
answered, and a refused press changes nothing. On the in-memory fakes: a sweep of every verb by everyone,
then Hypothesis; a smaller run on SQL is tests/integration/reliability/test_fuzz_sql.py."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.messages import Incoming
from handlers.verbs import Verb
from tests.unit.handlers.fuzz.fuzzing import (
    ACTORS,
    ANYONE,
    STRANGER,
    FakeWorld,
    Tally,
    callback_data,
    fake_base,
    sweep,
)

SEQUENCES = 400  # Hypothesis examples, each a sequence of 1-4 presses on one copy of the scenario
BASE, SHOWN = fake_base()
TALLY = Tally()
_ids = itertools.count(1)


def _press(chat: int, data: str) -> Incoming:
    return Incoming(chat, chat, callback_data=data, dedupe_key=f"cb:{next(_ids)}")


def test_the_scenario_has_buttons_of_many_kinds_and_orders_in_every_state() -> None:
    assert len({data.split(":")[0] for data in SHOWN}) >= 8, SHOWN
    states = {order.state.value for order in BASE.orders.values()}
    assert {"assigned", "accepted", "resolved", "closed"} <= states


@pytest.mark.parametrize("verb", list(Verb))
async def test_every_verb_pressed_by_everyone_with_each_word_and_a_few_ids(verb: Verb) -> None:
    for chat in (*ACTORS, STRANGER):
        for data in sweep(verb):
            await FakeWorld(BASE.snapshot()).check(_press(chat, data), TALLY, "swept")


@settings(
    max_examples=SEQUENCES,
    database=None,  # no .hypothesis/ folder in the checkout
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(st.tuples(ANYONE, callback_data(SHOWN)), min_size=1, max_size=4))
async def test_any_press_is_answered_and_a_refused_one_changes_nothing(
    presses: list[tuple[int, str]],
) -> None:
    world = FakeWorld(BASE.snapshot())
    for chat, data in presses:
        await world.check(_press(chat, data), TALLY, "random")


def test_report_cases_tried(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs after the properties above (file order) and says how many presses they tried."""
    if not TALLY.counts:
        pytest.skip("the fuzz tests above did not run")
    swept, random = TALLY.counts.get("swept", 0), TALLY.counts.get("random", 0)
    with capsys.disabled():
        print(f"\nfuzz: {swept + random} button presses on the fakes ({swept} swept, {random} random)")
    assert swept == sum(len(sweep(verb)) for verb in Verb) * (len(ACTORS) + 1)
    assert random >= SEQUENCES
