"""A YAML document read with line numbers, so every problem can say where it is.

The node tree comes from bot/imports/safe_yaml.py (no aliases, no duplicate keys, bounded depth); the
Reader checks each value's type, length (the column it is stored in) and range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

import yaml

from bot.imports import limits, safe_yaml


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based; 0 when the problem is about the file as a whole
    where: str
    message: str

    def render(self, path: str) -> str:
        return f"{path}:{self.line}: {self.where}: {self.message}" if self.line else f"{path}: {self.message}"


class CommunityFileError(Exception):
    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(p.render(path) for p in problems))


class Node:
    """A YAML value with the line it started on."""

    def __init__(self, value: Any, line: int) -> None:
        self.value = value
        self.line = line


def wrap(node: yaml.Node) -> Node:
    """Line-numbered values from a node tree composed by safe_yaml (so keys are unique scalars)."""
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        return Node({str(k.value): wrap(v) for k, v in node.value}, line)
    if isinstance(node, yaml.SequenceNode):
        return Node([wrap(v) for v in node.value], line)
    return Node(safe_yaml.scalar(node), line)  # type: ignore[arg-type]


class Reader:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, node: Node | None, where: str, message: str) -> None:
        self.problems.append(Problem(node.line if node else 0, where, message))

    def mapping(self, node: Node | None, where: str) -> dict[str, Node]:
        if node is None:
            return {}
        if not isinstance(node.value, dict):
            self.fail(node, where, "should be a mapping (key: value)")
            return {}
        return node.value

    def sequence(self, node: Node | None, where: str) -> list[Node]:
        if node is None:
            return []
        if not isinstance(node.value, list):
            self.fail(node, where, "should be a list")
            return []
        return node.value

    def text(
        self, node: Node | None, where: str, *, required: bool = True, max_length: int | None = None
    ) -> str | None:
        """A text value, stripped; None (and a problem) when missing, not a text, too long or unprintable."""
        if node is None or node.value is None:
            if required:
                self.fail(node, where, "is required")
            return None
        if isinstance(node.value, (dict, list, bool)):
            self.fail(node, where, "should be a text")
            return None
        value = str(node.value).strip()
        if (char := limits.control_character(value)) is not None:
            self.fail(node, where, f"contains the control character U+{ord(char):04X}")
            return None
        if max_length is not None and len(value) > max_length:
            self.fail(node, where, f"is {len(value)} characters long (at most {max_length})")
            return None
        return value

    def unique_chat_id(
        self, seen: dict[int, int], chat_id: int, node: Node | None, where: str, line: int
    ) -> None:
        """Chat ids identify people and residents alike: one id, one person, across the whole file."""
        if chat_id in seen:
            self.fail(node, where, f"duplicate chat id {chat_id} (line {seen[chat_id]})")
        seen[chat_id] = line

    def integer(
        self,
        node: Node | None,
        where: str,
        *,
        required: bool = True,
        low: int | None = None,
        high: int | None = None,
    ) -> int | None:
        if node is None or node.value is None:
            if required:
                self.fail(node, where, "is required")
            return None
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            self.fail(node, where, f"should be a whole number, not {_short(node.value)}")
            return None
        if (low is not None and node.value < low) or (high is not None and node.value > high):
            self.fail(node, where, f"{_short(node.value)} is out of range ({low} to {high})")
            return None
        return node.value

    def chat_id(self, node: Node | None, where: str, *, required: bool = True) -> int | None:
        """A Telegram chat id: a whole number that fits the signed 64-bit column."""
        chat_id = self.integer(node, where, required=required)
        if chat_id is not None and not limits.chat_id_in_range(chat_id):
            self.fail(node, where, f"{_short(chat_id)} is not a Telegram chat id (too many digits)")
            return None
        return chat_id

    def coordinate(self, node: Node | None, where: str, bound: float) -> float | None:
        """Latitude (bound 90) or longitude (bound 180) in degrees; optional."""
        if node is None or node.value is None:
            return None
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not -bound <= value <= bound:
            self.fail(node, where, f"should be a number of degrees from -{bound:g} to {bound:g}")
            return None
        return float(value)

    def duration(self, node: Node | None, where: str) -> timedelta | None:
        """ "10m", "2h", "3d", "1d12h" (days are calendar days unless the SLA counts working time)."""
        raw = self.text(node, where, required=False)
        if raw is None:
            return None
        parsed = parse_duration(raw)
        if parsed is None:
            self.fail(node, where, f"{raw!r} is not a duration like 10m, 2h or 3d")
        return parsed

    def clock_time(self, node: Node | None, where: str) -> time | None:
        raw = self.text(node, where, required=False)
        if raw is None:
            return None
        parsed = parse_clock_time(raw)
        if parsed is None:
            self.fail(node, where, f"{raw!r} is not a time like 08:30")
        return parsed


def _short(value: object) -> str:
    """A value as the problem line quotes it: a 2,000-digit number stays one readable line."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}…({len(text)} characters)"


_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


def parse_duration(raw: str) -> timedelta | None:
    match = _DURATION.match(raw.strip().lower().replace(" ", ""))
    if match is None or not any(match.groups()):
        return None
    days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    try:
        return timedelta(days=days, hours=hours, minutes=minutes)
    except OverflowError:  # "99999999999d": not a duration anyone means
        return None


def parse_clock_time(raw: str) -> time | None:
    try:
        return time.fromisoformat(raw.strip())
    except ValueError:
        return None
