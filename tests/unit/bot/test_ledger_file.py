"""Ledger spreadsheets: every bad row reported with its line, or all rows valid."""

from __future__ import annotations

import pytest

from bot.imports.ledger_file import LedgerFileError, parse_ledger
from handlers.care.model import Vulnerability

HEADER = "chat_id,name,kinds,consent,checkin,compound,building,unit,room,note\n"


def test_valid_rows_with_a_bom_and_chinese_kinds() -> None:
    rows = parse_ledger(
        "\ufeff"
        + HEADER
        + "9001,张阿姨,独居老人、残疾人,paper,是,兴泰小区,5号楼,2,501,\n9002,老陈,chronic,ask,no,,,,,\n"
    )
    first, second = rows
    assert first.row.kinds == frozenset({Vulnerability.ELDERLY_ALONE, Vulnerability.DISABLED})
    assert first.row.paper_consent
    assert first.row.checkin
    assert first.building == "5"
    assert not second.row.paper_consent
    assert second.compound is None


def test_every_problem_is_listed_with_its_line() -> None:
    text = (
        HEADER
        + "abc,张阿姨,独居老人,paper,yes,,,,,\n9002,,外星人,maybe,sometimes,兴泰小区,,,,\n9003,刘奶奶,孕产妇,ask,no,,,,,\n9003,重复,孕产妇,ask,no,,,,,\n"
    )
    with pytest.raises(LedgerFileError) as caught:
        parse_ledger(text)
    problems = caught.value.problems
    assert "line 2: chat_id 'abc' should be a number" in problems
    assert sum(p.startswith("line 3:") for p in problems) == 5
    assert "line 5: chat_id 9003 is already on line 4" in problems


def test_missing_columns() -> None:
    with pytest.raises(LedgerFileError, match="missing column"):
        parse_ledger("chat_id,name\n1,x\n")
