"""Read a ledger spreadsheet saved as CSV (UTF-8, UTF-8 with BOM, or GBK as Excel on Chinese Windows saves it).

Every row is checked as the database would check it (lengths of bot/imports/limits.py, 64-bit chat ids), so
`gridbot ledger import --dry-run` finds every problem, each as one "line N: ..." string.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from bot.imports import limits
from bot.imports.encoding import UnreadableFile, read_document
from handlers.care.ledger import LedgerRow, parse_kinds
from handlers.care.ledger_import import ImportRow
from handlers.care.model import Vulnerability

COLUMNS = ("chat_id", "name", "kinds", "consent", "checkin", "compound", "building", "unit", "room", "note")
REQUIRED = ("chat_id", "name", "kinds", "consent")
_YES = {"yes", "y", "true", "1", "是"}
_NO = {"no", "n", "false", "0", "否", ""}
_CHAT_ID = re.compile(r"^[0-9]+$")  # ASCII only: int() would also take "١٢" or "²"
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
# The longest text each column may hold: the column's size in the database.
_LENGTHS = {
    "name": limits.RESIDENT_NAME,
    "compound": limits.COMPOUND_NAME,
    "building": limits.BUILDING_NUMBER,
    "unit": limits.UNIT,
    "room": limits.ROOM,
    "note": limits.MAX_NOTE,
}


class LedgerFileError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _chat_id_problem(raw: str) -> str | None:
    if not _CHAT_ID.match(raw):
        hint = " (format the column as text in Excel)" if "E+" in raw.upper() else ""
        return f"chat_id {raw[:30]!r} should be a number{hint}"
    if len(raw) > 19 or not 0 < int(raw) <= limits.CHAT_ID_MAX:  # 19 digits first: int() refuses 4,300
        return f"chat_id {raw[:30]} is not a Telegram chat id"
    return None


def _length_problems(cell: dict[str, str]) -> list[str]:
    return [
        f"{column} is {len(cell[column])} characters long (at most {longest})"
        for column, longest in _LENGTHS.items()
        if len(cell[column]) > longest
    ]


def _control_characters(text: str) -> list[str]:
    """One problem per line holding a character no cell should (a NUL, say), found in one pass."""
    lines: dict[int, str] = {}
    for found in limits.CONTROL.finditer(text):
        lines.setdefault(text.count("\n", 0, found.start()) + 1, found.group())
    return [f"line {line}: contains the control character U+{ord(c):04X}" for line, c in lines.items()]


def _header(reader: Any) -> dict[str, int]:
    try:
        header = [name.strip() for name in next(reader, [])]
    except csv.Error as error:
        raise LedgerFileError([f"line 1: not a CSV header ({error})"]) from error
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise LedgerFileError(
            [f"line 1: missing column(s) {', '.join(missing)} (columns: {', '.join(COLUMNS)})"]
        )
    twice = sorted({c for c in header if c and header.count(c) > 1})
    if twice:
        raise LedgerFileError([f"line 1: column(s) {', '.join(twice)} appear more than once"])
    return {name: i for i, name in enumerate(header) if name in COLUMNS}


def parse_ledger(text: str) -> list[ImportRow]:
    """Every row checked; raise LedgerFileError listing every problem as "line N: ...", or return the rows."""
    text = text.removeprefix("\ufeff")  # a BOM left by a caller reading as plain UTF-8
    reader = csv.reader(io.StringIO(text))
    positions = _header(reader)
    rows: list[ImportRow] = []
    problems = _control_characters(text)
    seen: dict[int, int] = {}
    kinds_of: dict[str, frozenset[Vulnerability] | None] = {}  # a ledger has a handful of distinct cells
    while True:
        try:
            record = next(reader, None)
        except csv.Error as error:  # an unclosed quote, a cell past the csv field limit
            problems.append(f"line {reader.line_num}: not readable as CSV ({error})")
            break
        if record is None:
            break
        if not record:
            continue  # a blank line
        line = reader.line_num
        cell = {c: record[i].strip() if i < len(record) else "" for c, i in positions.items()}
        for column in COLUMNS:
            cell.setdefault(column, "")
        chat = cell["chat_id"].translate(_FULL_WIDTH_DIGITS)
        if cell["kinds"] not in kinds_of:
            kinds_of[cell["kinds"]] = parse_kinds(cell["kinds"])
        kinds = kinds_of[cell["kinds"]]
        consent = cell["consent"].lower()
        checkin = cell["checkin"].lower()
        here: list[str] = []
        if (chat_problem := _chat_id_problem(chat)) is not None:
            here.append(chat_problem)
        elif int(chat) in seen:
            here.append(f"chat_id {chat} is already on line {seen[int(chat)]}")
        if not cell["name"]:
            here.append("name is empty")
        here += _length_problems(cell)
        if kinds is None:
            here.append(f"kinds {cell['kinds'][:30]!r}: use 独居老人、孕产妇、残疾人、慢性病患者、困难家庭")
        if consent not in ("paper", "ask"):
            here.append("consent should be paper (signed form) or ask (the bot asks the resident)")
        if checkin not in _YES | _NO:
            here.append("checkin should be yes or no")
        if bool(cell["compound"]) != bool(cell["building"]):
            here.append("give both compound and building, or neither")
        if here or kinds is None:
            problems += [f"line {line}: {problem}" for problem in here]
            continue
        seen[int(chat)] = line
        rows.append(
            ImportRow(
                line=line,
                chat_id=int(chat),
                name=cell["name"],
                row=LedgerRow(int(chat), kinds, consent == "paper", checkin in _YES, cell["note"]),
                compound=cell["compound"] or None,
                building=cell["building"].removesuffix("号楼") or None,
                unit=cell["unit"] or None,
                room=cell["room"] or None,
            )
        )
    if problems:
        raise LedgerFileError(sorted(problems, key=_line_of))
    return rows


def _line_of(problem: str) -> int:
    number = problem.removeprefix("line ").partition(":")[0]
    return int(number) if number.isdigit() else 0


def load_ledger(path: Path) -> list[ImportRow]:
    """Read (UTF-8 or GBK, see bot/imports/encoding.py) and validate a ledger CSV."""
    try:
        document = read_document(path)
    except UnreadableFile as error:
        where = f"line {error.line}: " if error.line else ""
        raise LedgerFileError([f"{where}{error.message}"]) from error
    return parse_ledger(document.text)
