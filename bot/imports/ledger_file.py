"""Read a ledger spreadsheet (CSV, UTF-8 as exported by Excel or WPS) into validated import rows."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from handlers.care.ledger import ImportRow, LedgerRow, parse_kinds

COLUMNS = ("chat_id", "name", "kinds", "consent", "checkin", "compound", "building", "unit", "room", "note")
REQUIRED = ("chat_id", "name", "kinds", "consent")
_YES = {"yes", "y", "true", "1", "是"}
_NO = {"no", "n", "false", "0", "否", ""}


class LedgerFileError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def parse_ledger(text: str) -> list[ImportRow]:
    """Every row checked; raise LedgerFileError listing every problem as "line N: ...", or return the rows."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))  # Excel writes a BOM
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise LedgerFileError(
            [f"line 1: missing column(s) {', '.join(missing)} (columns: {', '.join(COLUMNS)})"]
        )
    rows: list[ImportRow] = []
    problems: list[str] = []
    seen: dict[int, int] = {}
    for record in reader:
        line = reader.line_num
        cell = {k: (v or "").strip() for k, v in record.items() if k}
        chat = cell.get("chat_id", "")
        kinds = parse_kinds(cell.get("kinds", ""))
        consent = cell.get("consent", "").lower()
        checkin = cell.get("checkin", "").lower()
        here: list[str] = []
        if not chat.isdigit():
            here.append(f"line {line}: chat_id {chat!r} should be a number")
        elif int(chat) in seen:
            here.append(f"line {line}: chat_id {chat} is already on line {seen[int(chat)]}")
        if not cell.get("name"):
            here.append(f"line {line}: name is empty")
        if kinds is None:
            here.append(
                f"line {line}: kinds {cell.get('kinds')!r}: use 独居老人、孕产妇、残疾人、慢性病患者、困难家庭"
            )
        if consent not in ("paper", "ask"):
            here.append(
                f"line {line}: consent should be paper (signed form) or ask (the bot asks the resident)"
            )
        if checkin not in _YES | _NO:
            here.append(f"line {line}: checkin should be yes or no")
        if bool(cell.get("compound")) != bool(cell.get("building")):
            here.append(f"line {line}: give both compound and building, or neither")
        if here:
            problems.extend(here)
            continue
        assert kinds is not None
        seen[int(chat)] = line
        rows.append(
            ImportRow(
                line=line,
                chat_id=int(chat),
                name=cell["name"],
                row=LedgerRow(int(chat), kinds, consent == "paper", checkin in _YES, cell.get("note", "")),
                compound=cell.get("compound") or None,
                building=(cell.get("building") or "").removesuffix("号楼") or None,
                unit=cell.get("unit") or None,
                room=cell.get("room") or None,
            )
        )
    if problems:
        raise LedgerFileError(problems)
    return rows


def load_ledger(path: Path) -> list[ImportRow]:
    try:
        return parse_ledger(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise LedgerFileError([f"cannot read {path}: {error}"]) from error
