"""Labelled examples for the classifier (issue 11 item 6, the learning loop). Standard library only.

Every time a person tells the classifier what a message really was — a resident picking the category after
`unknown`, a grid member or staff correcting an order's category — the text is kept with the chosen
category, who chose it and when, and what the classifier said about the text at that moment. `gridbot nlp
labels export`, `gridbot rules suggest --from-db` and `gridbot nlp train --with-db` read them back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from nlp.types import Category


class LabelSource(StrEnum):
    """Who told the classifier what the message was."""

    RESIDENT_CHOICE = "resident_choice"  # the reporter picked a category after `unknown`
    MEMBER_CORRECTION = "member_correction"  # a handler (grid member, grid leader) changed the category
    STAFF_CORRECTION = "staff_correction"  # community staff changed (or, recording a call, chose) it


@dataclass(frozen=True)
class ClassificationLabel:
    """One labelled example.

    `text` is the message as the classifier was given it; `resident_id` is whose words they are (the
    order's reporter), so erasing that resident's data removes the example. `actor_kind`/`actor_id` is who
    chose the label ("resident" or "person"). The classifier's view is stored as it was when the label was
    recorded: its category and confidence, and the learned model's vote ("" and 0.0 when not asked).
    """

    id: int | None
    text: str
    category: Category
    source: LabelSource
    actor_kind: str
    actor_id: int | None
    created_at: datetime
    order_id: int | None = None
    resident_id: int | None = None
    classifier_category: Category = Category.UNKNOWN
    classifier_confidence: float = 0.0
    model_category: str = ""
    model_probability: float = 0.0
