"""Every command with random arguments, and any text at all (NUL, lone surrogates, endless names), from
anyone: nothing escapes handling or fails, every message is answered, a refused one changes nothing."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.core import TABLES
from handlers.messages import Incoming
from tests.unit.handlers.fuzz.fuzzing import (
    ACTORS,
    ANYONE,
    STRANGER,
    FakeWorld,
    Tally,
    command_text,
    fake_base,
    message_text,
)

SEQUENCES = 300
BASE, SHOWN = fake_base()
TALLY = Tally()
_ids = itertools.count(1)
# Names as Telegram allows them (64 + 1 + 64 characters) and as nobody should send them.
NAMES = st.one_of(st.just(""), st.text(max_size=129), st.just("名" * 129), st.just("\x00\ud800"))


def _message(chat: int, text: str, name: str = "") -> Incoming:
    message_id = next(_ids)
    return Incoming(chat, chat, name, message_id=message_id, text=text, dedupe_key=f"m:{chat}:{message_id}")


@pytest.mark.parametrize("command", sorted(TABLES.commands))
async def test_every_command_by_everyone_with_no_arguments_and_some(command: str) -> None:
    for chat in (*ACTORS, STRANGER):
        for args in ("", "1", "2 独居老人", "abc", "9" * 30, "对象=全体 标题=x\n文字"):
            message = _message(chat, f"/{command} {args}".strip())
            await FakeWorld(BASE.snapshot()).check(message, TALLY, "swept")


@settings(
    max_examples=SEQUENCES,
    database=None,  # no .hypothesis/ folder in the checkout
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(st.tuples(ANYONE, st.one_of(command_text(), message_text()), NAMES), min_size=1, max_size=4))
async def test_any_message_is_answered_and_a_refused_one_changes_nothing(
    messages: list[tuple[int, str, str]],
) -> None:
    world = FakeWorld(BASE.snapshot())
    for chat, text, name in messages:
        await world.check(_message(chat, text, name), TALLY, "random")


def test_report_cases_tried(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs after the properties above (file order) and says how many messages they tried."""
    if not TALLY.counts:
        pytest.skip("the fuzz tests above did not run")
    swept, random = TALLY.counts.get("swept", 0), TALLY.counts.get("random", 0)
    with capsys.disabled():
        print(f"\nfuzz: {swept + random} commands and messages on the fakes ({swept} swept, {random} random)")
    assert random >= SEQUENCES
