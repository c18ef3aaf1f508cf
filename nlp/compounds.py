"""Find the community's compound names in a message: as written, as heard, one character off, as initials.

Only a name of the community file is ever returned (canonical name, never an alias), so a compound is
never invented. Tolerant forms are tried only when no name is written exactly, and each must be
unambiguous (exactly one compound within reach):

- sound-alike: the same loose pinyin with at least one character in common (森园华府, 宾河花园, 阳光尚城,
  新泰小区, 安居院), the way voice input and southern accents write them;
- one character off: names of four or more characters with one wrong character, followed by a
  building or unit number ("森源花府3号楼");
- pinyin initials directly followed by a building number ("sy2号楼", "nt3栋").
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping, Sequence
from functools import cached_property

from nlp.normalise import fold
from nlp.numerals import NUMERAL_CHARS
from nlp.soundalike import initials, is_han, sound

_NUM = rf"(?:[0-9]{{1,3}}|[{NUMERAL_CHARS}幺]{{1,4}})"
_DASH = r"\s*[-—–~]\s*"
# A building or unit number right after a name ("阳光11号楼", "森源6-1-201").
_NUMBER = rf"(?:{_NUM}\s*(?:号楼|栋|幢|座|#|单元)|{_NUM}{_DASH}{_NUM})"
_NUMBERED = re.compile(rf"\s*{_NUMBER}")
_NUMBER_MARK = re.compile("号楼|[栋幢座#-]|单元")  # cheap necessary condition of _NUMBERED
# What may follow a short name or alias for it to count as a place ("兴泰小区", "南通那边", "太平洋地库").
_PLACE_AFTER = re.compile(
    rf"{_NUMBERED.pattern}|\s*(?:小区|这边|那边|那里|这里|里面|门口|附近|地下车库|地库|车库|大门|[东南西北]门"
    r"|物业|业主|[一二三四]期)"
)
# "我是兴泰的" / "住兴泰的": a short name, then 的 at the end of a clause.
_OF_PLACE = re.compile(r"的(?:[\s,.!?。]|$)")
_INTRODUCERS = "在住是到去从的了我你他她们家"
_SHORT_NAME = 3  # names this long or shorter are common words too (太平洋, 阳光, 南通)
_PLACE_SUFFIXES = ("苑", "府", "园", "城", "湾", "区", "小区")  # ...unless they end like a place name
_INITIALS = re.compile(rf"(?<![a-z])([a-z]{{2,4}})(?={_NUMBER})")
_LETTER = re.compile("[a-z]")


class CompoundNames:
    """The compounds of one community, ready to be found in normalised text.

    Args:
        compounds: canonical compound name -> aliases.
    """

    def __init__(self, compounds: Mapping[str, Sequence[str]] | None = None) -> None:
        names: list[tuple[str, str]] = []
        for canonical, aliases in (compounds or {}).items():
            for name in (canonical, *aliases):
                if name and name.strip():
                    names.append((fold(name.strip()), canonical))
        # Longest first so "宝山丽湾" is taken before its alias "丽湾" can match inside it; names of one length
        # in the community file's order (a set's order would follow the process's hash seed).
        self._names = sorted(dict.fromkeys(names), key=lambda nc: len(nc[0]), reverse=True)
        # Any name at all? One regex pass instead of a find per name, for most messages.
        self._any_name = (
            re.compile("|".join(re.escape(n) for n in sorted({n for n, _ in self._names}))) if names else None
        )
        # The names by their first character, in the order above: a message holds the first
        # characters of one or two names, so only those names are looked for.
        self._by_first: dict[str, list[tuple[int, str, str]]] = {}
        for rank, (name, canonical) in enumerate(self._names):
            self._by_first.setdefault(name[0], []).append((rank, name, canonical))

    def find(self, norm: str) -> str | None:
        """The canonical name of the compound `norm` mentions first, or None."""
        if not self._names:
            return None
        if self._any_name is not None and self._any_name.search(norm):
            exact = self._exact(norm)
            if exact is not None:
                return exact
        if norm.isascii():
            return self._by_initials(norm)
        return self._by_sound(norm) or self._one_off(norm) or self._by_initials(norm)

    def _exact(self, norm: str) -> str | None:
        best: tuple[int, str] | None = None
        taken: list[tuple[int, int]] = []
        present = [names for first, names in self._by_first.items() if first in norm]
        candidates = (
            present[0] if len(present) == 1 else sorted(entry for names in present for entry in names)
        )
        for _, name, canonical in candidates:
            start = norm.find(name)
            while start != -1:
                end = start + len(name)
                inside_longer = any(s <= start and end <= e for s, e in taken)
                if not inside_longer and _is_place(name, norm, start, end):
                    taken.append((start, end))
                    if best is None or start < best[0]:
                        best = (start, canonical)
                    break
                start = norm.find(name, start + 1)
        return best[1] if best else None

    @cached_property
    def _sounds(
        self,
    ) -> tuple[dict[str, tuple[str, ...]], dict[str, list[tuple[str, str]]], re.Pattern[str] | None]:
        """Loose sound of a name -> (name, canonical); its first two sounds -> sounds, longest first."""
        by_sound: dict[str, list[tuple[str, str]]] = {}
        for name, canonical in self._names:
            if len(name) >= 2 and is_han(name):
                by_sound.setdefault(sound(name, loose=True), []).append((name, canonical))
        openings: dict[str, list[str]] = {}
        for key in sorted(by_sound, key=len, reverse=True):
            openings.setdefault(key[:2], []).append(key)
        # Whether a name's first two sounds are heard at all: one C-level search (a pattern opening
        # with literals scans for their first characters), where most messages end.
        heard_any = re.compile("|".join(map(re.escape, sorted(openings)))) if openings else None
        return {piece: tuple(keys) for piece, keys in openings.items()}, by_sound, heard_any

    def _by_sound(self, norm: str) -> str | None:
        openings, by_sound, heard_any = self._sounds
        heard = sound(norm, loose=True)
        if heard_any is None or not heard_any.search(heard):
            return None
        shared = openings.keys() & set(map(operator.add, heard, heard[1:]))
        # Every place a name is heard, by position (longer names first at the same place).
        heard_at = sorted(
            (start, -len(key), key)
            for piece in shared
            for start in _positions(heard, piece)
            for key in openings[piece]
            if heard.startswith(key, start)
        )
        for start, _, key in heard_at:
            end = start + len(key)
            span = norm[start:end]
            if len(key) <= _SHORT_NAME and not _starts_word(norm, start):
                continue  # 公安局那边 is not 安居那边
            hits = {
                canonical
                for name, canonical in by_sound[key]
                if any(a == b for a, b in zip(span, name, strict=True)) and _is_place(name, norm, start, end)
            }
            if len(hits) == 1:
                return hits.pop()
        return None

    @cached_property
    def _shingles(self) -> dict[str, list[tuple[int, str, str]]]:
        """Two-character pieces of the long names -> (offset, name, canonical): a name with one wrong
        character keeps at least one of its pieces intact."""
        shingles: dict[str, list[tuple[int, str, str]]] = {}
        for name, canonical in self._names:
            if len(name) >= 4:
                for at in range(len(name) - 1):
                    shingles.setdefault(name[at : at + 2], []).append((at, name, canonical))
        return shingles

    def _one_off(self, norm: str) -> str | None:
        shingles = self._shingles
        if not shingles or not _NUMBER_MARK.search(norm):
            return None  # a name one character off must be followed by a building or unit number
        found: dict[int, set[str]] = {}
        for i in range(len(norm) - 1):
            for at, name, canonical in shingles.get(norm[i : i + 2], ()):
                start = i - at
                end = start + len(name)
                if start < 0 or end > len(norm):
                    continue
                differ = sum(1 for a, b in zip(norm[start:end], name, strict=True) if a != b)
                if differ == 1 and is_han(norm[start:end]) and _NUMBERED.match(norm, end):
                    found.setdefault(start, set()).add(canonical)
        for start in sorted(found):
            if len(found[start]) == 1:
                return found[start].pop()
        return None

    @cached_property
    def _initials(self) -> dict[str, set[str]]:
        table: dict[str, set[str]] = {}
        for name, canonical in self._names:
            letters = initials(name) if is_han(name) else ""
            if len(letters) >= 2:
                table.setdefault(letters, set()).add(canonical)
        return table

    def _by_initials(self, norm: str) -> str | None:
        if not _LETTER.search(norm):
            return None
        for m in _INITIALS.finditer(norm):
            canonicals = self._initials.get(m.group(1))
            if canonicals is not None and len(canonicals) == 1:
                return next(iter(canonicals))
        return None


def _positions(text: str, piece: str) -> list[int]:
    found = []
    at = text.find(piece)
    while at != -1:
        found.append(at)
        at = text.find(piece, at + 1)
    return found


def _starts_word(norm: str, start: int) -> bool:
    """Whether a name heard at `start` can begin there: at the start of a clause or after a word that
    introduces a place (在, 住, 是, 到...), not in the middle of another word."""
    return start == 0 or not norm[start - 1].isalnum() or norm[start - 1] in _INTRODUCERS


def _is_place(name: str, norm: str, start: int, end: int) -> bool:
    # Long names (兴泰小区, 森源华府) are unambiguous; short ones must be followed by place context.
    if len(name) > _SHORT_NAME or name.endswith(_PLACE_SUFFIXES):
        return True
    if _PLACE_AFTER.match(norm, end) is not None:
        return True
    # "我是兴泰的", "住兴泰的", or a clause of its own: "有没有 兴泰的".
    before = norm[start - 1] if start > 0 else " "
    return _OF_PLACE.match(norm, end) is not None and (before in "住是在" or not before.isalnum())
