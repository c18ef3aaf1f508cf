"""Evaluate a predictor on a labelled CSV: per-label P/R/F1, accuracy, macro-F1, confusion, locations
(exact and per field), and the same headline figures per writing style when the file has a `style` column."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nlp.errors import NlpError
from nlp.types import Location

UNKNOWN = "unknown"
EMERGENCY = "emergency"  # the label whose recall and precision are shown per style
LOCATION_COLUMNS = ("compound", "building", "unit", "room")


@dataclass(frozen=True)
class LabelledRow:
    text: str
    label: str
    # None when the file has no location columns; else the expected location (possibly empty).
    location: Location | None = None
    style: str | None = None  # how it is written (voice_to_text, wechat, dialect...), when the file says


@dataclass(frozen=True)
class LabelScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class LocationScore:
    """Exact match of all four location fields.

    `located_*` counts rows whose expected location has any field; `unlocated_*` counts rows
    expecting no location, where the extractor must return nothing (it must not invent one).
    """

    located_total: int = 0
    located_exact: int = 0
    unlocated_total: int = 0
    unlocated_exact: int = 0
    misses: tuple[tuple[str, Location, Location], ...] = ()
    # Over rows expecting a location: how many got each field right (None == None counts as right).
    field_correct: tuple[tuple[str, int], ...] = ()

    def field_accuracy(self, name: str) -> float:
        """Share of rows with a location whose `name` field (compound, building, unit, room) is right."""
        return _ratio(dict(self.field_correct).get(name, 0), self.located_total)

    @property
    def located_accuracy(self) -> float:
        return _ratio(self.located_exact, self.located_total)

    @property
    def unlocated_accuracy(self) -> float:
        return _ratio(self.unlocated_exact, self.unlocated_total)

    @property
    def overall_accuracy(self) -> float:
        return _ratio(self.located_exact + self.unlocated_exact, self.located_total + self.unlocated_total)


@dataclass(frozen=True)
class StyleScore:
    """Headline figures over the rows of one writing style."""

    style: str
    total: int
    accuracy: float
    emergency_recall: float | None  # None: no emergency in this style
    emergency_precision: float | None  # None: nothing predicted as emergency
    location_exact: float | None  # None: no row of this style expects a location


@dataclass(frozen=True)
class Report:
    labels: tuple[str, ...]
    per_label: tuple[LabelScore, ...]
    accuracy: float
    macro_f1: float
    confusion: dict[tuple[str, str], int]
    misclassified: tuple[tuple[str, str, str], ...]  # (text, gold, predicted)
    total: int
    location: LocationScore | None = None
    unknown_count: int = field(default=0)
    styles: tuple[StyleScore, ...] = ()  # empty when the rows carry no style

    def score(self, label: str) -> LabelScore:
        return next(s for s in self.per_label if s.label == label)


def read_labelled_csv(path: Path) -> list[LabelledRow]:
    """Read `text,label[,compound,building,unit,room]` rows (UTF-8, header required).

    Raises:
        NlpError: unreadable file or missing columns.
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            columns = set(reader.fieldnames or ())
            if not {"text", "label"} <= columns:
                raise NlpError(
                    f"{path}: needs a header with 'text' and 'label' columns, got {sorted(columns)}"
                )
            has_location = any(c in columns for c in LOCATION_COLUMNS)
            has_style = "style" in columns
            rows = []
            for row in reader:
                location = None
                if has_location:
                    location = Location(*((row.get(c) or "").strip() or None for c in LOCATION_COLUMNS))
                style = (row.get("style") or "").strip() or None if has_style else None
                text, label = (row["text"] or "").strip(), (row["label"] or "").strip()
                rows.append(LabelledRow(text, label, location, style))
            return rows
    except OSError as exc:
        raise NlpError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except (csv.Error, UnicodeDecodeError) as exc:
        raise NlpError(f"{path}: not a UTF-8 CSV file ({exc})") from exc


def evaluate(
    rows: Sequence[LabelledRow],
    predict: Callable[[str], str | None],
    locate: Callable[[str], Location] | None = None,
    labels: Iterable[str] | None = None,
) -> Report:
    """Score `predict` (None or "unknown" = no decision, always wrong) against the gold labels.

    Macro-F1 averages over the gold label set (or `labels`), so abstaining costs recall.
    """
    gold = [r.label for r in rows]
    predicted = [predict(r.text) or UNKNOWN for r in rows]
    label_set = tuple(labels) if labels is not None else tuple(dict.fromkeys(sorted(set(gold))))
    confusion = Counter(zip(gold, predicted, strict=True))
    per_label = []
    for label in label_set:
        tp = confusion[(label, label)]
        pred_n = sum(1 for p in predicted if p == label)
        gold_n = sum(1 for g in gold if g == label)
        precision, recall = _ratio(tp, pred_n), _ratio(tp, gold_n)
        f1 = _ratio(2 * precision * recall, precision + recall)
        per_label.append(LabelScore(label, precision, recall, f1, gold_n))
    correct = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p)
    misclassified = tuple((r.text, g, p) for r, g, p in zip(rows, gold, predicted, strict=True) if g != p)
    located = [locate(r.text) if r.location is not None else None for r in rows] if locate else None
    location = _locations(rows, located) if located is not None else None
    return Report(
        labels=label_set,
        per_label=tuple(per_label),
        accuracy=_ratio(correct, len(rows)),
        macro_f1=_ratio(sum(s.f1 for s in per_label), len(per_label)),
        confusion=dict(confusion),
        misclassified=misclassified,
        total=len(rows),
        location=location,
        unknown_count=sum(1 for p in predicted if p == UNKNOWN),
        styles=_styles(rows, predicted, located),
    )


def _locations(rows: Sequence[LabelledRow], located: Sequence[Location | None]) -> LocationScore | None:
    checked = [(r, got) for r, got in zip(rows, located, strict=True) if r.location is not None]
    if not checked:
        return None
    counts = Counter[str]()
    fields = Counter[str]()
    misses = []
    for row, got in checked:
        assert row.location is not None  # narrowed above; keeps mypy happy
        assert got is not None
        kind = "unlocated" if row.location.is_empty else "located"
        counts[f"{kind}_total"] += 1
        if kind == "located":
            for name in LOCATION_COLUMNS:
                fields[name] += getattr(got, name) == getattr(row.location, name)
        if got == row.location:
            counts[f"{kind}_exact"] += 1
        else:
            misses.append((row.text, row.location, got))
    field_correct = tuple((name, fields[name]) for name in LOCATION_COLUMNS)
    return LocationScore(misses=tuple(misses), field_correct=field_correct, **counts)


def _styles(
    rows: Sequence[LabelledRow], predicted: Sequence[str], located: Sequence[Location | None] | None
) -> tuple[StyleScore, ...]:
    by_style: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        if row.style is not None:
            by_style.setdefault(row.style, []).append(i)
    scores = []
    for style, members in sorted(by_style.items()):
        gold = [rows[i].label for i in members]
        guess = [predicted[i] for i in members]
        hits = sum(1 for g, p in zip(gold, guess, strict=True) if g == p == EMERGENCY)
        gold_em = gold.count(EMERGENCY)
        guess_em = guess.count(EMERGENCY)
        wanted = [(i, rows[i].location) for i in members]
        expected = [(i, loc) for i, loc in wanted if loc is not None and not loc.is_empty]
        exact = sum(1 for i, loc in expected if located is not None and located[i] == loc)
        scores.append(
            StyleScore(
                style=style,
                total=len(members),
                accuracy=_ratio(sum(1 for g, p in zip(gold, guess, strict=True) if g == p), len(members)),
                emergency_recall=_ratio(hits, gold_em) if gold_em else None,
                emergency_precision=_ratio(hits, guess_em) if guess_em else None,
                location_exact=_ratio(exact, len(expected)) if expected and located is not None else None,
            )
        )
    return tuple(scores)


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0
