"""Writing tables as xlsx (xlsxwriter) and CSV; formula-looking text is escaped in both (cells.py).

A workbook written to a path uses xlsxwriter's constant_memory mode (each row is flushed to a temporary file
once the next begins), so an export of the whole history needs little memory; written to a stream (chat, the
desk) it is built in memory. Times are shown in the community's zone.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import datetime, tzinfo
from pathlib import Path
from typing import IO, Any

import xlsxwriter

from handlers.statistics.cells import escape_formula, looks_like_formula
from handlers.statistics.sheets import Cell, Pct, Sheet


class XlsxWriter:
    """Sheets added one after another, rows in order (constant_memory's rule)."""

    def __init__(self, target: Path | IO[bytes], zone: tzinfo) -> None:
        to_file = isinstance(target, Path)
        options: dict[str, Any] = {
            "constant_memory": to_file,
            "in_memory": not to_file,
            # Never turn text into formulas or numbers behind our back: every string cell is written as text.
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        }
        self._book = xlsxwriter.Workbook(str(target) if to_file else target, options)
        self._zone = zone
        self._header = self._book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        self._time = self._book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self._percent = self._book.add_format({"num_format": "0.0%"})
        self._quoted = self._book.add_format({"quote_prefix": True})
        self._sheet: Any = None
        self._row = 0

    def sheet(self, name: str, header: list[str], widths: Iterable[int] = ()) -> None:
        self._sheet = self._book.add_worksheet(name)
        for column, width in enumerate(widths):
            self._sheet.set_column(column, column, width)
        for column, title in enumerate(header):
            self._sheet.write_string(0, column, title, self._header)
        self._sheet.freeze_panes(1, 0)
        self._row = 1

    def row(self, cells: Iterable[Cell]) -> None:
        for column, cell in enumerate(cells):
            self._write(column, cell)
        self._row += 1

    def _write(self, column: int, cell: Cell) -> None:
        sheet, row = self._sheet, self._row
        if cell is None:
            return
        if isinstance(cell, Pct):
            sheet.write_number(row, column, cell.value, self._percent)
        elif isinstance(cell, datetime):
            local = cell.astimezone(self._zone).replace(tzinfo=None)
            sheet.write_datetime(row, column, local, self._time)
        elif isinstance(cell, bool):
            sheet.write_string(row, column, "是" if cell else "")
        elif isinstance(cell, int | float):
            sheet.write_number(row, column, cell)
        elif looks_like_formula(cell):
            sheet.write_string(row, column, cell, self._quoted)
        else:
            sheet.write_string(row, column, cell)

    def close(self) -> None:
        self._book.close()


def write_workbook(sheets: Iterable[Sheet], target: Path | IO[bytes], zone: tzinfo) -> None:
    writer = XlsxWriter(target, zone)
    for sheet in sheets:
        writer.sheet(sheet.name, sheet.header, sheet.widths)
        for row in sheet.rows:
            writer.row(row)
    writer.close()


def csv_text(cell: Cell, zone: tzinfo) -> str:
    if cell is None:
        return ""
    if isinstance(cell, Pct):
        return f"{cell.value * 100:.1f}%"
    if isinstance(cell, datetime):
        return cell.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if isinstance(cell, int | float):
        return str(cell)
    return escape_formula(cell)


class CsvWriter:
    """CSV for Excel and WPS: UTF-8 with a byte-order mark (the caller opens the file with
    encoding="utf-8-sig", newline=""), one header line, formula-looking text escaped."""

    def __init__(self, stream: IO[str], header: list[str], zone: tzinfo) -> None:
        self._csv = csv.writer(stream)
        self._zone = zone
        self._csv.writerow([escape_formula(h) for h in header])

    def row(self, cells: Iterable[Cell]) -> None:
        self._csv.writerow([csv_text(c, self._zone) for c in cells])
