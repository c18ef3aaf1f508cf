"""Render an evaluation Report as plain text for `gridbot rules eval`."""

from __future__ import annotations

from nlp.quality.evaluation import UNKNOWN, Report
from nlp.types import Location


def format_report(report: Report, max_misclassified: int | None = None) -> str:
    """Per-label table, totals, confusion matrix (rows gold, columns predicted), misclassified lines."""
    lines = [f"{'label':<18}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}"]
    for s in report.per_label:
        lines.append(f"{s.label:<18}{s.precision:>10.3f}{s.recall:>8.3f}{s.f1:>8.3f}{s.support:>9d}")
    lines.append("")
    lines.append(f"accuracy  {report.accuracy:.3f}   macro-F1  {report.macro_f1:.3f}   rows  {report.total}")
    lines.append(f"unknown (no decision)  {report.unknown_count}")
    if report.location is not None:
        loc = report.location
        lines.append(
            f"location exact match: with location {loc.located_exact}/{loc.located_total} "
            f"({loc.located_accuracy:.3f}); without location {loc.unlocated_exact}/{loc.unlocated_total} "
            f"({loc.unlocated_accuracy:.3f}); all {loc.overall_accuracy:.3f}"
        )
        if loc.located_total:
            fields = "   ".join(f"{name} {loc.field_accuracy(name):.3f}" for name, _ in loc.field_correct)
            lines.append(f"location per field (rows with a location): {fields}")
    if report.styles:
        lines.append("")
        lines.append(
            f"{'style':<22}{'rows':>6}{'accuracy':>10}{'em.recall':>11}{'em.prec':>9}{'location':>10}"
        )
        for st in report.styles:
            figures = _opt(st.emergency_recall, 11) + _opt(st.emergency_precision, 9)
            figures += _opt(st.location_exact, 10)
            lines.append(f"{st.style:<22}{st.total:>6d}{st.accuracy:>10.3f}{figures}")
    lines.append("")
    lines.append("confusion matrix (rows: gold, columns: predicted; labels abbreviated to 6 chars)")
    columns = [*report.labels, UNKNOWN]
    lines.append(" " * 18 + "".join(f"{c[:6]:>8}" for c in columns))
    for gold in report.labels:
        cells = "".join(f"{report.confusion.get((gold, p), 0):>8d}" for p in columns)
        lines.append(f"{gold:<18}{cells}")
    lines.append("")
    shown = report.misclassified if max_misclassified is None else report.misclassified[:max_misclassified]
    lines.append(f"misclassified ({len(report.misclassified)}):")
    lines.extend(f"  [{gold} -> {pred}] {text}" for text, gold, pred in shown)
    if report.location is not None and report.location.misses:
        lines.append("")
        lines.append(f"location misses ({len(report.location.misses)}):")
        lines.extend(
            f"  expected {_fmt(exp)} got {_fmt(got)}: {text}" for text, exp, got in report.location.misses
        )
    return "\n".join(lines)


def _opt(value: float | None, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.3f}"


def _fmt(loc: Location) -> str:
    return "/".join(part or "-" for part in (loc.compound, loc.building, loc.unit, loc.room))
