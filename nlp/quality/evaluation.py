"""Evaluate a predictor on a labelled CSV: per-label P/R/F1, accuracy, macro-F1, confusion, locations."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nlp.errors import NlpError
from nlp.types import Location

UNKNOWN = "unknown"
LOCATION_COLUMNS = ("compound", "building", "unit", "room")


@dataclass(frozen=True)
class LabelledRow:
    text: str
    label: str
    # None when the file has no location columns; else the expected location (possibly empty).
    location: Location | None = None


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
            rows = []
            for row in reader:
                location = None
                if has_location:
                    location = Location(*((row.get(c) or "").strip() or None for c in LOCATION_COLUMNS))
                rows.append(LabelledRow((row["text"] or "").strip(), (row["label"] or "").strip(), location))
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
    location = _locations(rows, locate) if locate is not None else None
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
    )


def _locations(rows: Sequence[LabelledRow], locate: Callable[[str], Location]) -> LocationScore | None:
    checked = [r for r in rows if r.location is not None]
    if not checked:
        return None
    counts = Counter[str]()
    misses = []
    for row in checked:
        assert row.location is not None  # narrowed above; keeps mypy happy
        got = locate(row.text)
        kind = "unlocated" if row.location.is_empty else "located"
        counts[f"{kind}_total"] += 1
        if got == row.location:
            counts[f"{kind}_exact"] += 1
        else:
            misses.append((row.text, row.location, got))
    return LocationScore(misses=tuple(misses), **counts)


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0
