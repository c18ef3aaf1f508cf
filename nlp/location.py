"""Extract compound, building, unit and room from a message. Digits come out as ASCII strings."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from nlp.normalise import normalise
from nlp.numerals import NUMERAL_CHARS, to_digits
from nlp.types import Location

_NUM = rf"(?:[0-9]{{1,3}}|[{NUMERAL_CHARS}]{{1,4}})"
# "5楼" is left out on purpose: residents mostly mean the floor ("卡在7楼"), not the building.
_BUILDING = re.compile(rf"(?<![0-9])({_NUM})\s*(?:号楼|栋|幢|座|#楼|#)")
_UNIT = re.compile(rf"(?<![0-9])({_NUM})\s*单元")
_DASH = r"\s*[-—–~]\s*"
_COMPACT = re.compile(rf"(?<![0-9-])([0-9]{{1,3}}){_DASH}([0-9]{{1,2}}){_DASH}([0-9]{{3,4}})(?![0-9])")
_ROOM_DIGITS = r"([0-9]{3,4}|[零〇一二三四五六七八九]{3,4})"
# A room right after a building or unit ("2单元501", "3号楼502的") or marked by 室/房 anywhere.
_ROOM_AFTER = re.compile(rf"\s*-?\s*{_ROOM_DIGITS}(?![0-9])")
_ROOM_MARKED = re.compile(rf"(?<![0-9]){_ROOM_DIGITS}\s*(?:室|房)")
# What may follow a short compound name or alias for it to count as a place ("阳光11号楼", "兴泰小区").
_PLACE_AFTER = re.compile(
    rf"\s*(?:{_NUM}\s*(?:号楼|栋|幢|座|#|单元)|[0-9]{{1,3}}{_DASH}[0-9]|小区|这边|那边|那里|这里|里面|门口|附近)"
)
# Cheap necessary conditions: a pattern cannot match text lacking every one of its marker strings,
# so the full regex (lookbehinds tried at every position) only runs when a marker is present.
_BUILDING_MARK = re.compile("号楼|[栋幢座#]")
_DASH_MARK = re.compile("[-—–~]")
_ROOM_MARK = re.compile("[室房]")
_SHORT_NAME = 3  # names this long or shorter are common words too (太平洋, 阳光, 南通)
_PLACE_SUFFIXES = ("苑", "府", "园", "城", "湾", "区", "小区")  # ...unless they end like a place name


class LocationExtractor:
    """Find where a message says the problem is.

    Args:
        compounds: canonical compound name -> aliases. Only these can be returned as a compound.
    """

    def __init__(self, compounds: Mapping[str, Sequence[str]] | None = None) -> None:
        names: list[tuple[str, str]] = []
        for canonical, aliases in (compounds or {}).items():
            for name in (canonical, *aliases):
                if name and name.strip():
                    names.append((normalise(name.strip()), canonical))
        # Longest first so "宝山丽湾" is taken before its alias "丽湾" can match inside it.
        self._names = sorted(set(names), key=lambda nc: len(nc[0]), reverse=True)
        # Any name at all? One regex pass instead of a find per name, for most messages.
        self._any_name = (
            re.compile("|".join(re.escape(n) for n in sorted({n for n, _ in self._names}))) if names else None
        )

    def extract(self, text: str) -> Location:
        """Return the location mentioned in `text` (empty Location when none)."""
        return self.extract_normalised(normalise(text))

    def extract_normalised(self, norm: str) -> Location:
        """`extract` for text already passed through `normalise`."""
        compound = self._compound(norm) if self._any_name and self._any_name.search(norm) else None
        compact = _COMPACT.search(norm) if _DASH_MARK.search(norm) else None
        if compact:
            b, u, r = compact.group(1), compact.group(2), compact.group(3)
            return Location(compound, _digits(b), _digits(u), _digits(r))
        building_m = _BUILDING.search(norm) if _BUILDING_MARK.search(norm) else None
        unit_m = _UNIT.search(norm) if "单元" in norm else None
        room: str | None = None
        for anchor in (unit_m, building_m):
            if anchor is not None:
                after = _ROOM_AFTER.match(norm, anchor.end())
                if after:
                    room = _digits(after.group(1))
                    break
        if room is None and _ROOM_MARK.search(norm):
            marked = _ROOM_MARKED.search(norm)
            if marked:
                room = _digits(marked.group(1))
        return Location(
            compound=compound,
            building=_digits(building_m.group(1)) if building_m else None,
            unit=_digits(unit_m.group(1)) if unit_m else None,
            room=room,
        )

    def _compound(self, norm: str) -> str | None:
        best: tuple[int, str] | None = None
        taken: list[tuple[int, int]] = []
        for name, canonical in self._names:
            start = norm.find(name)
            while start != -1:
                end = start + len(name)
                inside_longer = any(s <= start and end <= e for s, e in taken)
                if not inside_longer and self._is_place(name, norm, end):
                    taken.append((start, end))
                    if best is None or start < best[0]:
                        best = (start, canonical)
                    break
                start = norm.find(name, start + 1)
        return best[1] if best else None

    @staticmethod
    def _is_place(name: str, norm: str, end: int) -> bool:
        # Long names (兴泰小区, 森源华府) are unambiguous; short ones must be followed by place context.
        if len(name) > _SHORT_NAME or name.endswith(_PLACE_SUFFIXES):
            return True
        return _PLACE_AFTER.match(norm, end) is not None


def _digits(value: str) -> str | None:
    digits = to_digits(value)
    if digits is None:
        return None
    if len(digits) >= 3:
        return digits  # room numbers keep their zeros ("0501" stays as written)
    return digits.lstrip("0") or "0"
