"""What the fuzz tests share: a community with orders in every state, the people who press, what a press
or a command may look like, and the properties every handled update must keep.

The same scenario and checks run on the in-memory fakes (tests/unit/handlers/fuzz/) and on
SQLite and PostgreSQL (tests/integration/reliability/test_fuzz_sql.py); only "what the stored state is"
differs.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from bot.imports.community_file import load_community
from handlers import texts
from handlers.broadcasts import texts as broadcast_texts
from handlers.core import TABLES, Core
from handlers.messages import Incoming, Outcome
from handlers.verbs import SIGNATURES, CategoryKey, Number, OneOf, Verb
from nlp.types import SHIPPED_CATEGORIES
from tests.driver import (
    EXAMPLE_COMMUNITY,
    LEADER_WANG,
    MEMBER_LI,
    MEMBER_QIAN,
    NEWCOMER,
    POLICE_WU,
    RESIDENT_CHEN,
    RESIDENT_ZHANG,
    STAFF_LIU,
    ChatDriver,
    Sent,
)
from tests.fakes import FakeClock, FakeCommunity, FakeStore, FakeUnitOfWorkFactory, KeywordClassifier

STRANGER = 7777  # never wrote before: no resident, no person
ACTORS = (STAFF_LIU, POLICE_WU, LEADER_WANG, MEMBER_LI, MEMBER_QIAN, RESIDENT_ZHANG, RESIDENT_CHEN, NEWCOMER)
ANYONE = st.sampled_from((*ACTORS, STRANGER))

# What a refusal says: the core's error texts, the stale-button answers, the broadcast refusals.
REFUSALS = frozenset(
    {
        texts.STALE_BUTTON,
        texts.NOTHING_PENDING,
        texts.NOT_ALLOWED,
        texts.ORDER_NOT_FOUND,
        texts.STATE_CHANGED,
        broadcast_texts.refused(""),
        *broadcast_texts.REFUSALS.values(),
    }
)


async def build_scenario(driver: ChatDriver, run_checkins: Callable[[], Awaitable[object]]) -> list[str]:
    """Orders assigned, accepted, resolved and closed; a report waiting for its category, another for
    consent; a check-in question; a broadcast draft. Returns the data of every button people were shown."""
    await driver.text(RESIDENT_ZHANG, "5号楼楼道灯坏了", name="张阿姨")  # stays assigned
    for text in ("5号楼门口漏水了", "5号楼电梯灯不亮", "5号楼地下室漏水"):
        await driver.text(RESIDENT_ZHANG, text, name="张阿姨")
    await _press_anywhere(driver, "接单")  # accepted (the newest card first)
    for _ in range(2):
        member = await _press_anywhere(driver, "接单")
        await driver.press_button(member, "办结")
        await driver.text(member, "已修好，电话13812345678")
    await driver.press_button(RESIDENT_ZHANG, "满意")  # one closed, one still resolved
    await driver.text(RESIDENT_CHEN, "有个事情想反映一下", name="老陈")  # asks for the category
    await driver.text(NEWCOMER, "7号楼楼道灯坏了", name="新来的")  # asks for consent
    await driver.text(RESIDENT_ZHANG, "/checkin")
    await run_checkins()
    await driver.deliver_now()
    await driver.text(STAFF_LIU, "/broadcast 对象=全体 标题=停水\n明天上午停水")
    return sorted({b.data for sent in driver.sent for row in sent.reply.buttons for b in row})


async def _press_anywhere(driver: ChatDriver, label: str) -> int:
    """Press the newest button `label` in whichever chat has it (orders go to the least busy member)."""
    for sent in reversed(driver.sent):
        if any(b.text == label for row in sent.reply.buttons for b in row):
            await driver.press(sent.chat_id, sent.button(label).data, on=sent)
            return sent.chat_id
    raise AssertionError(f"nobody has a button {label!r}")


def _number(spec: Number) -> st.SearchStrategy[str]:
    near = st.integers(min_value=0, max_value=120).map(str)  # the ids the scenario has, and a few beyond
    return st.one_of(
        near,
        near,
        near,
        st.integers().map(str),
        st.sampled_from([str(spec.high), str(spec.high + 1), "9" * 30, "01", "-1", "½", "²", "١٢"]),
        st.text(max_size=4),
    )


def _words(spec: OneOf | CategoryKey) -> list[str]:
    """A choice's words; for a category key, shipped keys, a key no community has, and UNKNOWN."""
    return sorted(spec.words) if isinstance(spec, OneOf) else [*SHIPPED_CATEGORIES, "heating", "unknown"]


def _word(spec: OneOf | CategoryKey) -> st.SearchStrategy[str]:
    words = st.sampled_from(_words(spec))
    return st.one_of(words, words, words, st.text(max_size=4))


def _arguments(verb: Verb) -> st.SearchStrategy[str]:
    parts = [_number(s) if isinstance(s, Number) else _word(s) for s in SIGNATURES[verb]]
    return st.tuples(*parts).map(lambda args: ":".join((verb.value, *args)))


def callback_data(shown: list[str]) -> st.SearchStrategy[str]:
    """Every verb with arbitrary arguments (mostly well-formed, so presses get past the codec), the
    buttons people were really shown, and any text at all."""
    typed = st.sampled_from(list(Verb)).flatmap(_arguments)
    return st.one_of(
        typed,
        typed,
        typed,
        st.sampled_from(shown),
        st.text(max_size=70),
        st.text(alphabet=st.characters(codec="ascii"), max_size=70),
    )


def sweep(verb: Verb) -> list[str]:
    """The data of `verb` with each of its words and a few ids: the lowest, two that exist, one far beyond."""
    choices = [sorted(_ids(spec)) if isinstance(spec, Number) else _words(spec) for spec in SIGNATURES[verb]]
    return [":".join((verb.value, *map(str, args))) for args in itertools.product(*choices)]


def _ids(spec: Number) -> set[int]:
    return {n for n in (spec.low, 2, 50, 10**6) if spec.low <= n <= spec.high}


_FREE = st.text(max_size=40)
_OPTION = st.tuples(
    st.sampled_from(["对象", "标题", "时间", "周期", "季节", "截止", "话题", "x"]),
    st.one_of(st.sampled_from(["全体", "兴泰小区", "台账:独居老人", "2026-12-01T09:00"]), _FREE),
).map("=".join)


def command_text() -> st.SearchStrategy[str]:
    """A registered command (or none) with arguments: free text, numbers, options, several lines."""
    name = st.one_of(st.sampled_from(sorted(TABLES.commands)), st.text(max_size=8))
    args = st.one_of(
        _FREE,
        st.integers().map(str),
        st.lists(st.one_of(_OPTION, st.integers(min_value=0, max_value=60).map(str), _FREE), max_size=4).map(
            " ".join
        ),
        st.tuples(st.lists(_OPTION, max_size=3).map(" ".join), _FREE).map("\n".join),
    )
    return st.tuples(name, st.sampled_from(["", "@gridbot"]), args).map(lambda p: f"/{p[0]}{p[1]} {p[2]}")


# Reports that open orders (with the rules and with the fakes' keywords), spoiled the ways Telegram allows.
_REPORTS = (
    "5号楼楼道灯坏了",
    "兴泰小区5号楼门口漏水",
    "7号楼着火了",
    "森源华府6号楼垃圾没人收",
    "501",
    "已修好",
)
_SPOILERS = ("\x00", "\ud800", "\udfff", "\x00\x00", "\U0001f525", "\u202e")


def message_text() -> st.SearchStrategy[str]:
    """Any text, and reports that would open an order with a NUL or a lone surrogate somewhere in them."""
    spoiled = st.tuples(st.sampled_from(_REPORTS), st.sampled_from(_SPOILERS), st.integers(0, 12)).map(
        lambda p: p[0][: p[2]] + p[1] + p[0][p[2] :]
    )
    return st.one_of(st.text(max_size=200), spoiled, spoiled)


@dataclass
class Tally:
    """How many updates the fuzzers tried, by kind (printed at the end of each test)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1


@dataclass(frozen=True)
class Judged:
    refused: bool
    answered: bool


def judge(incoming: Incoming, outcome: Outcome, transactions: int) -> Judged:
    """Was the update answered, and was it a refusal (after which nothing may have changed)?

    `transactions` is how many units of work handling it opened: two means the first was undone (a
    refusal or a failure) and the update answered alone.
    """
    if incoming.callback_data is not None:
        answered = outcome.callback_answer is not None or bool(outcome.replies)
    else:
        answered = bool(outcome.replies)
    said = {outcome.callback_answer, *(r.text for r in outcome.replies)}
    only_refusals = said - {None} <= REFUSALS and bool(said - {None})
    return Judged(refused=transactions >= 2 or only_refusals, answered=answered)


def without(state: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k not in keys}


# ----------------------------------------------------------------------------- the world on the fakes

# The community's structure: frozen values, replaced (never changed in place) by the fakes.
_STRUCTURE = frozenset({"compounds", "buildings", "building_grid", "grids", "people", "routes", "settings"})


class QuickStore(FakeStore):
    """The fakes' store with a cheaper copy: each handled update copies it twice, and thousands are fuzzed."""

    def snapshot(self) -> QuickStore:
        copied = copy.copy(self)
        for name, value in vars(self).items():
            setattr(copied, name, copy.copy(value) if name in _STRUCTURE else copy.deepcopy(value))
        return copied


def fake_state(store: FakeStore) -> dict[str, Any]:
    """Everything stored, as comparable values (the broadcast state is a plain object).

    No copy is needed: a fake unit of work works on its own copy and a commit replaces the store's
    attributes with new objects, so what this returns is never changed afterwards.
    """
    state = dict(vars(store))
    broadcasts = state.pop("broadcast_state", None)
    if broadcasts is not None:
        state["broadcast_state"] = dict(vars(broadcasts))
    return without(state, "inbound", "outbox")  # every update adds its key; answers are replies


class FakeWorld:
    """A core on its own copy of the store, with a driver that delivers what it queues."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.factory = FakeUnitOfWorkFactory(store)
        classifier = KeywordClassifier({c.name: list(c.aliases) for c in store.compounds.values()})
        self.core = Core(self.factory, classifier, FakeClock())
        message_ids = itertools.count(1)

        async def deliver() -> list[Sent]:
            sent = [Sent(next(message_ids), reply, None) for reply in store.outbox]
            for item in sent:
                if item.reply.order_id is not None:
                    store.links[(item.chat_id, item.message_id)] = item.reply.order_id
            store.outbox.clear()
            return sent

        self.driver = ChatDriver(self.core, deliver)

    async def check(self, incoming: Incoming, tally: Tally, kind: str) -> None:
        """Handle `incoming`: nothing escapes, nothing fails, it is answered, a refusal changes nothing."""
        before = fake_state(self.store)
        opened = len(self.factory.opened)
        outcome = await self.core.handle(incoming)  # nothing may escape
        tally.add(kind)
        what = f"{incoming.callback_data or incoming.text!r} by {incoming.sender_id}"
        assert outcome.incident is None, f"{what} failed unexpectedly"
        verdict = judge(incoming, outcome, len(self.factory.opened) - opened)
        assert verdict.answered, f"{what} was not answered"
        if verdict.refused:
            assert fake_state(self.store) == before, f"{what} was refused but changed the stored state"


async def _scenario() -> tuple[QuickStore, list[str]]:
    store = QuickStore()
    await FakeCommunity(store).apply(load_community(EXAMPLE_COMMUNITY), FakeClock().now())
    world = FakeWorld(store)
    shown = await build_scenario(world.driver, world.core.run_checkins)
    return store, shown


@functools.cache
def fake_base() -> tuple[QuickStore, list[str]]:
    """The scenario on the fakes, built once (about a second); each example works on a snapshot of it."""
    return asyncio.run(_scenario())
