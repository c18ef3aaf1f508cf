"""Buttons: every verb has one handler in its feature's folder; the codec is typed, bounded and never raises."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers import texts
from handlers.core import FEATURES, TABLES
from handlers.features import DuplicateRegistration, Feature, merge
from handlers.verbs import (
    MAX_BYTES,
    MAX_ID,
    SIGNATURES,
    Action,
    CategoryKey,
    Number,
    OneOf,
    Verb,
    decode,
    encode,
)
from handlers.workorders import member
from tests.driver import MEMBER_LI, ChatDriver
from tests.fakes import FakeUnitOfWorkFactory

HANDLERS = Path(__file__).resolve().parents[3] / "handlers"


class TestRegistrations:
    def test_every_verb_has_exactly_one_handler(self) -> None:
        registered = Counter(verb for feature in FEATURES for verb in feature.buttons)
        assert set(registered) == set(Verb)
        assert set(registered.values()) == {1}

    def test_every_registered_button_is_a_verb_with_a_signature(self) -> None:
        assert all(isinstance(verb, Verb) for verb in TABLES.buttons)
        assert set(SIGNATURES) == set(Verb)

    def test_each_handler_lives_in_the_folder_of_the_feature_that_registers_it(self) -> None:
        for feature in FEATURES:
            handlers = [*feature.buttons.values(), *feature.commands.values(), *feature.steps.values()]
            for handler in handlers:
                assert handler.__module__.split(".")[1] == feature.name

    def test_what_pressing_accept_does_is_found_in_the_workorders_folder(self) -> None:
        assert TABLES.owners["button ac"] == "workorders"
        assert TABLES.buttons[Verb.ACCEPT] is member.on_accept
        registry = (HANDLERS / "workorders" / "registry.py").read_text(encoding="utf-8")
        assert "Verb.ACCEPT: member.on_accept" in registry

    def test_conversation_steps_and_commands_are_registered_by_their_features(self) -> None:
        assert {TABLES.owners[f"step {s}"] for s in ("attach", "resolve_note")} == {"workorders"}
        assert TABLES.owners["step room"] == "community"
        assert TABLES.owners["command ledger"] == "care"
        assert TABLES.owners["command broadcast"] == "broadcasts"

    @pytest.mark.parametrize(
        "second",
        [
            Feature("other", buttons={Verb.ACCEPT: member.on_accept}),
            Feature("other", commands={"orders": lambda ctx, _: member.open_orders(ctx)}),
            Feature("other", steps={member.STEP_RESOLVE_NOTE: lambda ctx, text, _: member.open_orders(ctx)}),
        ],
    )
    def test_a_duplicate_registration_is_an_error(self, second: Feature) -> None:
        with pytest.raises(DuplicateRegistration, match="workorders and other"):
            merge([*FEATURES, second])


def _samples(spec: Number | OneOf | CategoryKey) -> list[int | str]:
    if isinstance(spec, OneOf):
        return sorted(spec.words)
    if isinstance(spec, CategoryKey):  # a shipped key, a community's own, the longest a key can be
        return ["repair", "heating", "a" + "b" * 31]
    return sorted({spec.low, spec.high, (spec.low + spec.high) // 2})


def _valid() -> list[tuple[Verb, tuple[int | str, ...]]]:
    return [
        (verb, args)
        for verb, signature in SIGNATURES.items()
        for args in itertools.product(*(_samples(spec) for spec in signature))
    ]


class TestCodec:
    @pytest.mark.parametrize(("verb", "args"), _valid())
    def test_round_trip(self, verb: Verb, args: tuple[int | str, ...]) -> None:
        data = encode(verb, *args)
        assert data.isascii()
        assert len(data.encode()) <= MAX_BYTES
        assert decode(data) == Action(verb, args)

    def test_wire_values_of_buttons_already_in_chats_still_decode(self) -> None:
        assert decode("ac:12") == Action(Verb.ACCEPT, (12,))
        assert decode("ra:7:u") == Action(Verb.RATE, (7, "u"))
        assert decode("dn:0") == Action(Verb.OPEN_NEW, (0,))
        assert decode("lg:y:0") == Action(Verb.LEDGER_CONSENT, ("y", 0))
        assert decode("rk:repair") == Action(Verb.REPORT_CATEGORY, ("repair",))
        assert decode("sb:flood") == Action(Verb.SUBSCRIPTION, ("flood",))

    def test_handlers_read_typed_arguments_by_name(self) -> None:
        action = decode("tt:12:34")
        assert action is not None
        assert (action.order_id, action.number("person_id")) == (12, 34)
        rating = decode("ra:7:s")
        assert rating is not None
        assert rating.word("rating") == "s"
        with pytest.raises(TypeError):
            rating.number("rating")
        with pytest.raises(KeyError):
            rating.number("person_id")

    @pytest.mark.parametrize(
        "data",
        [
            "ac:" + "9" * 30,  # far beyond any id
            f"ac:{MAX_ID + 1}",
            "ac:0",  # ids start at 1
            "ac:01",  # not canonical
            "ac:-1",
            "ac:+1",
            "ac: 1",
            "ac:1.0",
            "ac:abc",
            "rs:½",  # a digit to str.isdigit/isnumeric, not to us
            "cx:²",
            "ac:١٢",  # Arabic-Indic digits
            "\ud800",  # a lone surrogate: cannot even be encoded as UTF-8
            "ac:\ud800",
            "",
            ":",
            "ac",
            "ac:",
            "ac:" + "1" * 62,  # 65 bytes
            "ac:1" + " " * 61,
            "ac:1:2",  # an extra argument
            "ac:1:",
            "tt:1",  # a missing one
            "ra:1:x",  # not a rating
            "ra:1:S",
            "rk:unknown",  # not a category a resident can choose
            "rk:REPAIR",
            "cs:yes",
            "ad:x:1",
            "dn:1",
            "lg:y:1",
            "sb:weather",
            "zz:1",
            "AC:1",
            "ac\x00:1",
            "接单:1",
        ],
    )
    def test_malformed_data_is_refused_without_raising(self, data: str) -> None:
        assert decode(data) is None

    @pytest.mark.parametrize("data", [None, b"ac:1", 12, ["ac", "1"]])
    def test_what_is_not_text_is_refused(self, data: object) -> None:
        assert decode(data) is None

    @pytest.mark.parametrize(
        ("verb", "args"),
        [
            (Verb.ACCEPT, (0,)),
            (Verb.ACCEPT, (MAX_ID + 1,)),
            (Verb.ACCEPT, ("1",)),
            (Verb.ACCEPT, (True,)),
            (Verb.ACCEPT, (1, 2)),
            (Verb.ACCEPT, ()),
            (Verb.RATE, (1, "x")),
            (Verb.REPORT_CATEGORY, ("unknown",)),
            (Verb.REPORT_CATEGORY, ("Repair",)),
            (Verb.REPORT_CATEGORY, ("a" * 33,)),
        ],
    )
    def test_our_own_bad_button_fails_loudly_when_drawn(self, verb: Verb, args: tuple[object, ...]) -> None:
        with pytest.raises(ValueError, match=verb.name):
            encode(verb, *args)  # type: ignore[arg-type]

    @settings(max_examples=2000, database=None)  # no .hypothesis/ folder left in the checkout
    @given(st.text())
    def test_any_text_decodes_to_none_or_to_what_encodes_back(self, data: str) -> None:
        action = decode(data)
        assert action is None or encode(action.verb, *action.args) == data

    @settings(max_examples=2000, database=None)  # no .hypothesis/ folder left in the checkout
    @given(
        st.builds(
            ":".join,
            st.lists(
                st.one_of(
                    st.sampled_from([v.value for v in Verb]),
                    st.from_regex(r"[0-9]{0,20}", fullmatch=True),
                    st.sampled_from(["y", "n", "s", "b", "u", "c", "r", "a", "p", "x", "fine", "repair"]),
                    st.text(max_size=5),
                ),
                max_size=4,
            ),
        )
    )
    def test_button_shaped_text_decodes_to_none_or_to_what_encodes_back(self, data: str) -> None:
        action = decode(data)
        if action is not None:
            assert encode(action.verb, *action.args) == data
            assert len(data.encode()) <= MAX_BYTES


@pytest.mark.parametrize("data", ["ac:" + "9" * 30, "ac:abc", "rs:½", "cx:²", "\ud800", "", "ac:1:2", "tt:1"])
async def test_a_malformed_press_is_answered_as_a_stale_button(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, data: str
) -> None:
    outcome = await driver.press(MEMBER_LI, data)
    assert outcome.callback_answer == texts.STALE_BUTTON
    assert outcome.incident is None
    assert driver.sent == []  # nothing said in any chat
    assert uow_factory.store.conversations == {}
