"""Button callback data: which button was pressed, in at most 64 ASCII bytes, and never trusted.

Each verb declares its arguments' types and bounds (like aiogram's `CallbackData` fields), so a tampered,
foreign or outdated button is a failed parse here, answered with the stale-button text, and never an
exception deep in a handler. The data only says which button was pressed: every press is re-authorised
against the stored state. The short wire values are those of buttons already sitting in people's chats;
changing one turns those buttons stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from handlers.broadcasts.model import Topic
from nlp.types import Category

MAX_BYTES = 64  # Telegram's limit for callback_data
MAX_ID = 2**53  # every stored id is below it (and it stays exact in JSON consumers)


class Verb(StrEnum):
    """What a button does; the value is what travels in the callback data."""

    CONSENT = "cs"  # the privacy notice: y / n
    REGISTER = "rg"  # register an address now: y / n
    ADDRESS = "ad"  # address step: c|b|u|r (compound, building, unit, skip the room), id
    REPORT_COMPOUND = "rc"  # pending report: compound id
    REPORT_BUILDING = "rb"  # pending report: building id (0 = unsure)
    REPORT_CATEGORY = "rk"  # pending report: category key
    ACCEPT = "ac"  # 接单
    TRANSFER_MENU = "tr"  # show whom the order can be transferred to
    TRANSFER_TO = "tt"  # transfer the order to a person
    RETURN = "rt"  # return the order to dispatch
    RESOLVE = "rs"  # resolve the order (asks for a note)
    RATE = "ra"  # rate the order: s|b|u
    CANCEL = "cx"  # the resident withdraws the order
    DISPATCH = "dp"  # staff dispatch the order to a person
    JOIN_SIMILAR = "dj"  # "me too": join a similar open order
    OPEN_NEW = "dn"  # open a new order anyway
    SUPERVISE = "sv"  # staff supervise (督办) an order
    CHECKIN_ANSWER = "ci"  # check-in answer: checkin id, fine|help
    CHECKIN_CONFIRM = "cm"  # a grid member confirms the resident is safe: checkin id
    LEDGER_CONSENT = "lg"  # the resident's ledger consent: y|n, 0
    CLAIM = "cl"  # claim an order from the grid's group chat
    BROADCAST_CONTROL = "bc"  # staff: a|p|r|x (approve, pause, resume, cancel), broadcast id
    ALERT = "al"  # staff confirm or drop an emergency alert draft: y|n, broadcast id
    SUBSCRIPTION = "sb"  # a resident toggles a broadcast topic
    EMERGENCY_CHECK = "ec"  # a possible emergency: is it happening now? order id, y|n
    DELETE_DATA = "dd"  # a resident confirms (y) or calls off (n) deleting their data
    REPLY_FOLLOWER = "rf"  # the handler answers a "me too" follower's words: order id, resident id
    ORDERS_PAGE = "op"  # /orders: the next page, after this order id
    HANDOVER = "ho"  # /leave and /back: d|l|k|b (to the deputy, to the grid leader, keep them, take back)
    RECATEGORISE_MENU = "km"  # 改类别 on a handler's card: offer the categories
    RECATEGORISE_TO = "kt"  # change the order's category: order id, category key
    FOLLOWUP = "fu"  # 回访: order id, o|s|b|u (open the call card; the resident's answer)
    FOLLOWUP_PAGE = "fp"  # /huifang: the next page, after this order id
    NOTICE_REVIEW = "nr"  # the grid leader (or staff) approves (y) or sends back (n) a grid notice


@dataclass(frozen=True)
class Number:
    """A whole number within [low, high], written in canonical decimal (no sign, no leading zero)."""

    name: str
    low: int = 1
    high: int = MAX_ID

    def parse(self, raw: str) -> int | None:
        if not raw or len(raw) > len(str(self.high)) or not all("0" <= ch <= "9" for ch in raw):
            return None
        if len(raw) > 1 and raw[0] == "0":
            return None
        value = int(raw)
        return value if self.low <= value <= self.high else None

    def accepts(self, value: object) -> bool:
        return type(value) is int and self.low <= value <= self.high


@dataclass(frozen=True)
class OneOf:
    """One word out of a fixed set."""

    name: str
    words: frozenset[str]

    def parse(self, raw: str) -> str | None:
        return raw if raw in self.words else None

    def accepts(self, value: object) -> bool:
        return isinstance(value, str) and value in self.words


def one_of(name: str, *words: str) -> OneOf:
    return OneOf(name, frozenset(str(w) for w in words))  # plain strings, also from a StrEnum


@dataclass(frozen=True)
class CategoryKey:
    """A category key in its valid shape (nlp/types.py Category), never UNKNOWN; whether this community
    knows it is the handler's question, since a community's rules file adds categories."""

    name: str

    def parse(self, raw: str) -> str | None:
        try:
            key = Category(raw)
        except ValueError:
            return None
        return None if key is Category.UNKNOWN else key.value

    def accepts(self, value: object) -> bool:
        return isinstance(value, str) and self.parse(value) == value


Arg = Number | OneOf | CategoryKey

_YES_NO = ("y", "n")
SIGNATURES: dict[Verb, tuple[Arg, ...]] = {
    Verb.CONSENT: (one_of("choice", *_YES_NO),),
    Verb.REGISTER: (one_of("choice", *_YES_NO),),
    Verb.ADDRESS: (one_of("step", "c", "b", "u", "r"), Number("id", 0)),
    Verb.REPORT_COMPOUND: (Number("compound_id"),),
    Verb.REPORT_BUILDING: (Number("building_id", 0),),
    Verb.REPORT_CATEGORY: (CategoryKey("category"),),
    Verb.ACCEPT: (Number("order_id"),),
    Verb.TRANSFER_MENU: (Number("order_id"),),
    Verb.TRANSFER_TO: (Number("order_id"), Number("person_id")),
    Verb.RETURN: (Number("order_id"),),
    Verb.RESOLVE: (Number("order_id"),),
    Verb.RATE: (Number("order_id"), one_of("rating", "s", "b", "u")),
    Verb.CANCEL: (Number("order_id"),),
    Verb.DISPATCH: (Number("order_id"), Number("person_id")),
    Verb.JOIN_SIMILAR: (Number("order_id"),),
    Verb.OPEN_NEW: (Number("unused", 0, 0),),
    Verb.SUPERVISE: (Number("order_id"),),
    Verb.CHECKIN_ANSWER: (Number("checkin_id"), one_of("answer", "fine", "help")),
    Verb.CHECKIN_CONFIRM: (Number("checkin_id"),),
    Verb.LEDGER_CONSENT: (one_of("choice", *_YES_NO), Number("unused", 0, 0)),
    Verb.CLAIM: (Number("order_id"),),
    Verb.BROADCAST_CONTROL: (one_of("command", "a", "p", "r", "x"), Number("broadcast_id")),
    Verb.ALERT: (one_of("choice", *_YES_NO), Number("broadcast_id")),
    Verb.SUBSCRIPTION: (one_of("topic", *Topic),),
    Verb.EMERGENCY_CHECK: (Number("order_id"), one_of("choice", *_YES_NO)),
    Verb.DELETE_DATA: (one_of("choice", *_YES_NO),),
    Verb.REPLY_FOLLOWER: (Number("order_id"), Number("resident_id")),
    Verb.ORDERS_PAGE: (Number("after", 0),),
    Verb.HANDOVER: (one_of("choice", "d", "l", "k", "b"),),
    Verb.RECATEGORISE_MENU: (Number("order_id"),),
    Verb.RECATEGORISE_TO: (Number("order_id"), CategoryKey("category")),
    Verb.FOLLOWUP: (Number("order_id"), one_of("result", "o", "s", "b", "u")),
    Verb.FOLLOWUP_PAGE: (Number("after", 0),),
    Verb.NOTICE_REVIEW: (one_of("choice", *_YES_NO), Number("broadcast_id")),
}
_BY_WIRE = {verb.value: verb for verb in Verb}


@dataclass(frozen=True)
class Action:
    """A decoded press: the verb and its arguments, each already of its declared type and bounds."""

    verb: Verb
    args: tuple[int | str, ...]

    def _arg(self, name: str) -> int | str:
        for spec, value in zip(SIGNATURES[self.verb], self.args, strict=True):
            if spec.name == name:
                return value
        raise KeyError(f"{self.verb.name} has no argument {name!r}")

    def number(self, name: str) -> int:
        """The whole-number argument `name` (an id, say)."""
        value = self._arg(name)
        if not isinstance(value, int):
            raise TypeError(f"{self.verb.name}.{name} is not a number")
        return value

    def word(self, name: str) -> str:
        """The word argument `name` (a choice, a rating, a category key)."""
        value = self._arg(name)
        if not isinstance(value, str):
            raise TypeError(f"{self.verb.name}.{name} is not a word")
        return value

    @property
    def order_id(self) -> int:
        """The work order a work-order button is about."""
        return self.number("order_id")


def encode(verb: Verb, *args: int | str) -> str:
    """The callback data of a button; a wrong argument is our bug, so it raises ValueError."""
    signature = SIGNATURES[verb]
    if len(args) != len(signature) or not all(s.accepts(a) for s, a in zip(signature, args, strict=True)):
        raise ValueError(f"bad arguments for button {verb.name}")
    data = ":".join([verb.value, *(str(a) for a in args)])
    if len(data) > MAX_BYTES:  # ASCII by construction: one byte per character
        raise ValueError(f"callback data of {verb.name} too long")
    return data


def decode(data: object) -> Action | None:
    """Parse callback data; None for anything else (a tampered, foreign or outdated button). Never raises."""
    if not isinstance(data, str) or not data or len(data) > MAX_BYTES or not data.isascii():
        return None
    wire, *raw = data.split(":")
    verb = _BY_WIRE.get(wire)
    if verb is None:
        return None
    signature = SIGNATURES[verb]
    if len(raw) != len(signature):
        return None
    args = tuple(spec.parse(text) for spec, text in zip(signature, raw, strict=True))
    if any(value is None for value in args):
        return None
    return Action(verb, tuple(a for a in args if a is not None))
