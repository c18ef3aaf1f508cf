"""Button callback data: short (Telegram allows 64 bytes) and never trusted.

The data only says which button was pressed; every press is re-authorised against the stored state.
"""

from __future__ import annotations

from dataclasses import dataclass

# verb -> number of arguments
_VERBS: dict[str, int] = {
    "cs": 1,  # consent: y / n
    "rg": 1,  # register address now: y / n
    "ad": 2,  # address step: c|b|u|r, id
    "rc": 1,  # pending report: compound id
    "rb": 1,  # pending report: building id (0 = unsure)
    "rk": 1,  # pending report: category key
    "ac": 1,  # accept order
    "tr": 1,  # transfer menu
    "tt": 2,  # transfer order to person
    "rt": 1,  # return order to dispatch
    "rs": 1,  # resolve order (asks for a note)
    "ra": 2,  # rate order: s|b|u
    "cx": 1,  # cancel order
    "dp": 2,  # dispatch order to person (staff)
    "dj": 1,  # join a similar open order ("me too")
    "dn": 1,  # open a new order anyway
    "sv": 1,  # supervise (督办) an order (staff)
    "ci": 2,  # check-in answer: checkin id, fine|help
    "cm": 1,  # grid member confirms a resident is safe: checkin id
    "lg": 2,  # ledger consent by the resident: y|n, 0
    "cl": 1,  # claim an order from the grid group chat
    "bc": 2,  # broadcast control (staff): a|p|r|x (approve, pause, resume, cancel), broadcast id
    "al": 2,  # emergency alert draft (staff): y|n, broadcast id
    "sb": 1,  # subscriptions: toggle topic
}
MAX_BYTES = 64


@dataclass(frozen=True)
class Action:
    verb: str
    args: tuple[str, ...]

    def int_arg(self, index: int) -> int:
        return int(self.args[index])


def encode(verb: str, *args: object) -> str:
    if _VERBS.get(verb) != len(args):
        raise ValueError(f"bad callback {verb} {args}")
    data = ":".join([verb, *(str(a) for a in args)])
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data too long: {data}")
    return data


def decode(data: str) -> Action | None:
    """Parse callback data; None for anything malformed (a tampered or foreign button)."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    verb, *args = data.split(":")
    if _VERBS.get(verb) != len(args):
        return None
    if any(not a or len(a) > 32 or not all(ch.isalnum() or ch == "_" for ch in a) for a in args):
        return None
    return Action(verb, tuple(args))
