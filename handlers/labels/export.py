"""The labelled examples as the CLI hands them out: a CSV for people, (text, label) pairs for training.

Residents wrote these texts: the CSV masks phone numbers in them (`mask_phones`) and makes any cell a
spreadsheet would run as a formula plain text (`safe_row`). Training and keyword suggestions read the
stored texts with phones masked too (a number is no keyword, and a model file should hold none).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

from handlers.community.privacy import mask_phones
from handlers.exports import safe_row
from handlers.labels.model import ClassificationLabel
from handlers.ports import UnitOfWork

COLUMNS = ("text", "label", "source", "created_at")
_PAGE = 1000


async def stored_labels(uow: UnitOfWork) -> list[ClassificationLabel]:
    """Every stored label, oldest first (read a page at a time)."""
    found: list[ClassificationLabel] = []
    after = 0
    while page := await uow.labels.page(after, _PAGE):
        found.extend(page)
        after = page[-1].id or after
    return found


def write_csv(labels: Iterable[ClassificationLabel], stream: TextIO) -> int:
    """Write `text,label,source,created_at` rows (every label, oldest first); return how many."""
    writer = csv.writer(stream)
    writer.writerow(COLUMNS)
    count = 0
    for label in labels:
        row = (
            mask_phones(label.text),
            label.category.value,
            label.source.value,
            label.created_at.isoformat(),
        )
        writer.writerow(safe_row(row))
        count += 1
    return count


def examples(labels: Iterable[ClassificationLabel]) -> list[tuple[str, str]]:
    """(text, label) to learn from: one per text, the latest label winning (a correction overrides the
    resident's first choice, a second correction the first), phone numbers masked."""
    latest: dict[str, str] = {}
    for label in sorted(labels, key=lambda lb: (lb.created_at, lb.id or 0)):
        text = mask_phones(label.text.strip())
        if text:
            latest.pop(text, None)  # keep the order of the latest decision
            latest[text] = label.category.value
    return list(latest.items())
