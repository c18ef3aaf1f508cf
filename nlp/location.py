"""Extract compound, building, unit and room from a message. Digits come out as ASCII strings."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache

from nlp.compounds import CompoundNames
from nlp.normalise import normalise
from nlp.numerals import NUMERAL_CHARS, to_digits
from nlp.types import Location

_NUM = rf"(?:[0-9]{{1,3}}|[{NUMERAL_CHARS}]{{1,4}})"
_DIGIT_BY_DIGIT = "零〇一二三四五六七八九"
# "5楼" is left out on purpose: residents mostly mean the floor ("卡在7楼"), not the building.
_BUILDING = re.compile(rf"(?<![0-9])({_NUM})\s*(?:号楼|栋|幢|座|#楼|#)")
_UNIT = re.compile(rf"(?<![0-9])({_NUM})\s*单元")
_DASH = r"\s*[-—–~]\s*"
_ROOM_DIGITS = rf"([0-9]{{3,4}}|[{_DIGIT_BY_DIGIT}]{{3,4}})"
# "6-1-201" or, read aloud, "六杠一杠二零一" (the normaliser made 杠 a dash).
_COMPACT = re.compile(
    rf"(?<![0-9-])([0-9]{{1,3}}|[{NUMERAL_CHARS}]{{1,3}}){_DASH}([0-9]{{1,2}}|[{NUMERAL_CHARS}]{{1,2}})"
    rf"{_DASH}{_ROOM_DIGITS}(?![0-9])"
)
# After a building: "2-501" is unit 2, room 501 ("5#2-501", "3栋2-1102").
_UNIT_ROOM = re.compile(rf"\s*([0-9]{{1,2}}|[{NUMERAL_CHARS}]{{1,2}}){_DASH}{_ROOM_DIGITS}(?![0-9])")
# A room right after a building or unit ("2单元501", "3号楼502的") or marked anywhere ("302室", "302那家").
_ROOM_AFTER = re.compile(rf"\s*-?\s*{_ROOM_DIGITS}(?![0-9])")
_ROOM_MARKED = re.compile(rf"(?<![0-9-]){_ROOM_DIGITS}\s*(?:室|房|那家|那户|住户)")
# Cheap necessary conditions: a pattern cannot match text lacking every one of its marker strings,
# so the full regex (lookbehinds tried at every position) only runs when a marker is present.
_BUILDING_MARK = re.compile("号楼|[栋幢座#]")
_DASH_MARK = re.compile("[-—–~]")
_ROOM_MARK = re.compile("[室房]|那家|那户|住户")


class LocationExtractor:
    """Find where a message says the problem is.

    Args:
        compounds: canonical compound name -> aliases. Only these can be returned as a compound.
    """

    def __init__(self, compounds: Mapping[str, Sequence[str]] | None = None) -> None:
        self.compounds = CompoundNames(compounds)

    def extract(self, text: str) -> Location:
        """Return the location mentioned in `text` (empty Location when none)."""
        return self.extract_normalised(normalise(text))

    def extract_normalised(self, norm: str) -> Location:
        """`extract` for text already passed through `normalise`."""
        compound = self.compounds.find(norm)
        compact = _COMPACT.search(norm) if _DASH_MARK.search(norm) else None
        if compact:
            b, u, r = compact.group(1), compact.group(2), compact.group(3)
            return Location(compound, _digits(b), _digits(u), _digits(r))
        building_m = _BUILDING.search(norm) if _BUILDING_MARK.search(norm) else None
        unit_m = _UNIT.search(norm) if "单元" in norm else None
        unit = _digits(unit_m.group(1)) if unit_m else None
        room: str | None = None
        if building_m is not None and unit_m is None:
            unit_room = _UNIT_ROOM.match(norm, building_m.end())
            if unit_room:
                unit, room = _digits(unit_room.group(1)), _digits(unit_room.group(2))
        for anchor in (unit_m, building_m):
            if anchor is not None and room is None:
                after = _ROOM_AFTER.match(norm, anchor.end())
                if after:
                    room = _digits(after.group(1))
        if room is None and _ROOM_MARK.search(norm):
            marked = _ROOM_MARKED.search(norm)
            if marked:
                room = _digits(marked.group(1))
        if building_m is None and unit is None and room is None:
            return _place_only(compound)
        return Location(
            compound=compound,
            building=_digits(building_m.group(1)) if building_m else None,
            unit=unit,
            room=room,
        )


@cache
def _place_only(compound: str | None) -> Location:
    """One shared Location per compound (and one for none): half the messages name no building, unit or
    room, and a frozen dataclass costs a microsecond to build (Location is immutable, so sharing is safe)."""
    return Location(compound)


def _digits(value: str) -> str | None:
    digits = to_digits(value)
    if digits is None:
        return None
    if len(digits) >= 3:
        return digits  # room numbers keep their zeros ("0501" stays as written)
    return digits.lstrip("0") or "0"
