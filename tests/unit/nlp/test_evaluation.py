"""The evaluation report: per writing style, and location per field besides exact match."""

from __future__ import annotations

from pathlib import Path

from nlp import Location
from nlp.quality.evaluation import Report, evaluate, read_labelled_csv
from nlp.quality.report import format_report

CSV = """text,label,compound,building,unit,room,style
着火了,emergency,,,,,voice
漏水 3号楼,repair,,3,,,voice
漏水 5号楼2单元,repair,兴泰小区,5,2,,wechat
谢谢,other,,,,,wechat
"""


def _report(tmp_path: Path) -> Report:
    path = tmp_path / "set.csv"
    path.write_text(CSV, encoding="utf-8")
    rows = read_labelled_csv(path)
    guesses = {"着火了": "emergency", "漏水 3号楼": "emergency", "漏水 5号楼2单元": "repair", "谢谢": "other"}
    places = {"漏水 3号楼": Location(None, "3"), "漏水 5号楼2单元": Location(None, "5", "2")}
    return evaluate(rows, guesses.__getitem__, locate=lambda t: places.get(t, Location()))


def test_rows_keep_their_style(tmp_path: Path) -> None:
    path = tmp_path / "set.csv"
    path.write_text(CSV, encoding="utf-8")
    assert [r.style for r in read_labelled_csv(path)] == ["voice", "voice", "wechat", "wechat"]


def test_figures_per_style(tmp_path: Path) -> None:
    report = _report(tmp_path)
    voice, wechat = report.styles
    assert (voice.style, voice.total, voice.accuracy) == ("voice", 2, 0.5)
    assert voice.emergency_recall == 1.0
    assert voice.emergency_precision == 0.5  # the leak was taken for an emergency
    assert voice.location_exact == 1.0
    assert (wechat.style, wechat.accuracy, wechat.emergency_recall) == ("wechat", 1.0, None)
    assert wechat.location_exact == 0.0  # the compound was missed


def test_location_per_field(tmp_path: Path) -> None:
    location = _report(tmp_path).location
    assert location is not None
    assert location.located_total == 2
    assert location.field_accuracy("compound") == 0.5
    assert location.field_accuracy("building") == 1.0
    assert location.field_accuracy("unit") == 1.0
    assert location.field_accuracy("room") == 1.0


def test_report_shows_styles_and_fields(tmp_path: Path) -> None:
    text = format_report(_report(tmp_path))
    assert "location per field (rows with a location): compound 0.500   building 1.000" in text
    assert any(line.startswith("voice") and "0.500" in line for line in text.splitlines())


def test_no_style_column_no_style_table(tmp_path: Path) -> None:
    path = tmp_path / "set.csv"
    path.write_text("text,label\n着火了,emergency\n", encoding="utf-8")
    report = evaluate(read_labelled_csv(path), lambda _: "emergency")
    assert report.styles == ()
    assert "style" not in format_report(report)
