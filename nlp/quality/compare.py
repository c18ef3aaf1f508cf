"""Rules alone, the learned model alone and the two combined, side by side on one labelled set.

Emergencies are counted three ways, because they are handled three ways:
- by category (the figure the issue targets compare with),
- flagged: the category, or a possible/certain emergency level (the resident gets the advice and is asked),
- all-staff alarms: a certain level when the message is not an emergency wakes every member of staff for
  nothing, so it is counted per 1,000 messages. The model alone is never certain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nlp.quality.evaluation import LabelledRow, evaluate
from nlp.types import Category, Classification, EmergencyLevel

EMERGENCY = Category.EMERGENCY.value


@dataclass(frozen=True)
class SystemFigures:
    name: str
    accuracy: float
    macro_f1: float
    unknown: int
    emergency_recall: float
    emergency_precision: float
    flagged_recall: float
    flagged_precision: float
    false_all_staff_per_1000: float
    false_possible_per_1000: float


@dataclass(frozen=True)
class Verdict:
    """One system's answer on one message."""

    label: str | None
    level: EmergencyLevel


def _figures(
    name: str, rows: Sequence[LabelledRow], verdicts: Sequence[Verdict], labels: Sequence[str]
) -> SystemFigures:
    answers = iter(verdicts)  # evaluate() asks for the rows' labels in order
    report = evaluate(rows, lambda _text: next(answers).label, labels=labels)
    emergency = report.score(EMERGENCY) if EMERGENCY in report.labels else None
    gold = [r.label == EMERGENCY for r in rows]
    flagged = [v.label == EMERGENCY or v.level is not EmergencyLevel.NONE for v in verdicts]
    hits = sum(1 for g, f in zip(gold, flagged, strict=True) if g and f)
    per_1000 = 1000.0 / len(rows) if rows else 0.0

    def false(level: EmergencyLevel) -> float:
        return per_1000 * sum(1 for g, v in zip(gold, verdicts, strict=True) if v.level is level and not g)

    return SystemFigures(
        name=name,
        accuracy=report.accuracy,
        macro_f1=report.macro_f1,
        unknown=report.unknown_count,
        emergency_recall=emergency.recall if emergency else 0.0,
        emergency_precision=emergency.precision if emergency else 0.0,
        flagged_recall=hits / sum(gold) if any(gold) else 0.0,
        flagged_precision=hits / sum(flagged) if any(flagged) else 0.0,
        false_all_staff_per_1000=false(EmergencyLevel.CERTAIN),
        false_possible_per_1000=false(EmergencyLevel.POSSIBLE),
    )


@dataclass(frozen=True)
class Comparison:
    systems: tuple[SystemFigures, ...]  # rules alone, model alone, combined
    # Writing style -> (rows, accuracy of each system in the order above); empty without a style column.
    styles: dict[str, tuple[int, tuple[float, ...]]]


def compare(
    rows: Sequence[LabelledRow],
    rules: Callable[[str], Classification],
    combined: Callable[[str], Classification],
    labels: Sequence[str],
) -> Comparison:
    """Score the rules, the model's own vote and the combination on `rows`.

    Args:
        rules: the classifier without its second opinion.
        combined: the classifier with it, asked to vote on every message (its `model` is never None).
        labels: the categories averaged by macro-F1.
    """
    verdicts: tuple[list[Verdict], list[Verdict], list[Verdict]] = ([], [], [])
    for row in rows:
        r = rules(row.text)
        c = combined(row.text)
        vote = c.model
        if vote is None:
            alone = Verdict(None, EmergencyLevel.NONE)
        else:
            # On its own the model can only ever ask (possible), never wake everyone (certain).
            raised = vote.category is Category.EMERGENCY or vote.raised
            alone = Verdict(vote.category.value, EmergencyLevel.POSSIBLE if raised else EmergencyLevel.NONE)
        for found, verdict in zip(verdicts, (_verdict(r), alone, _verdict(c)), strict=True):
            found.append(verdict)
    names = ("rules alone", "model alone", "combined")
    systems = tuple(_figures(n, rows, v, labels) for n, v in zip(names, verdicts, strict=True))
    styles: dict[str, tuple[int, tuple[float, ...]]] = {}
    for style in sorted({r.style for r in rows if r.style}):
        picked = [i for i, r in enumerate(rows) if r.style == style]
        right = [sum(1 for i in picked if v[i].label == rows[i].label) / len(picked) for v in verdicts]
        styles[style] = (len(picked), tuple(right))
    return Comparison(systems, styles)


def _verdict(result: Classification) -> Verdict:
    return Verdict(
        None if result.category is Category.UNKNOWN else result.category.value, result.emergency_level
    )


def format_comparison(comparison: Comparison, note: str = "") -> str:
    """A table with one row per system, then the accuracy of each per writing style."""
    head = (
        f"{'':<13}{'accuracy':>9}{'macro-F1':>9}{'unknown':>8}{'emerg R':>8}{'emerg P':>8}"
        f"{'flag R':>8}{'flag P':>8}{'all-staff/1k':>13}{'possible/1k':>12}"
    )
    lines = ["rules alone / learned model alone / combined", head]
    for f in comparison.systems:
        lines.append(
            f"{f.name:<13}{f.accuracy:>9.3f}{f.macro_f1:>9.3f}{f.unknown:>8d}{f.emergency_recall:>8.3f}"
            f"{f.emergency_precision:>8.3f}{f.flagged_recall:>8.3f}{f.flagged_precision:>8.3f}"
            f"{f.false_all_staff_per_1000:>13.1f}{f.false_possible_per_1000:>12.1f}"
        )
    lines.append(
        "emerg R/P: by category; flag R/P: category or a possible/certain emergency level; all-staff/1k: "
        "certain emergencies per 1,000 messages whose gold label is not emergency; possible/1k: the same "
        "for possible ones"
    )
    if comparison.styles:
        lines.append(f"accuracy per style{'':<8}{'rows':>6}{'rules':>8}{'model':>8}{'combined':>10}")
        for style, (n, (r, m, c)) in comparison.styles.items():
            lines.append(f"  {style:<24}{n:>6d}{r:>8.3f}{m:>8.3f}{c:>10.3f}")
    if note:
        lines.append(note)
    return "\n".join(lines)
