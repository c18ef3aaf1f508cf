"""The classifier's contract: what the rest of gridbot may rely on."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class Category(StrEnum):
    """Kinds of resident problem, in order of precedence for ties."""

    EMERGENCY = "emergency"
    SAFETY_HAZARD = "safety_hazard"
    FRAUD = "fraud"
    WAGE_ARREARS = "wage_arrears"
    REPAIR = "repair"
    SANITATION = "sanitation"
    ORDER_DISPUTE = "order_dispute"
    PARKING = "parking"
    UTILITY_PAYMENT = "utility_payment"
    EMPLOYMENT = "employment"
    POLICY = "policy"
    ASSISTANCE = "assistance"
    OTHER = "other"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        """The Chinese name residents and staff see."""
        return CATEGORY_LABELS[self]


CATEGORY_LABELS: dict[Category, str] = {
    Category.EMERGENCY: "紧急求助",
    Category.SAFETY_HAZARD: "安全隐患",
    Category.FRAUD: "反诈",
    Category.WAGE_ARREARS: "欠薪维权",
    Category.REPAIR: "维修报修",
    Category.SANITATION: "环境卫生",
    Category.ORDER_DISPUTE: "邻里纠纷",
    Category.PARKING: "车辆停放",
    Category.UTILITY_PAYMENT: "生活缴费",
    Category.EMPLOYMENT: "就业务工",
    Category.POLICY: "政策咨询",
    Category.ASSISTANCE: "困难帮扶",
    Category.OTHER: "其他",
    Category.UNKNOWN: "待确认",
}

# Categories a resident can pick from when the classifier is unsure (precedence order, no UNKNOWN).
CHOOSABLE_CATEGORIES: tuple[Category, ...] = tuple(c for c in Category if c is not Category.UNKNOWN)


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"

    @property
    def label(self) -> str:
        return {"urgent": "紧急", "high": "优先", "normal": "一般"}[self.value]


class EmergencyLevel(StrEnum):
    """How sure the classifier is that a message reports an emergency happening now.

    CERTAIN: strong direct evidence in an affirmative, present clause (advice and everyone alerted).
    POSSIBLE: weak, indirect or ambiguous evidence (a sound-alike hit, one weak keyword, an emoji
    alone): advice at once, the resident is asked, only the grid member is alerted.
    NONE: no emergency evidence left after negation, resolution and hypotheticals.
    """

    NONE = "none"
    POSSIBLE = "possible"
    CERTAIN = "certain"


@dataclass(frozen=True)
class Location:
    """Where a message says the problem is. Every part is optional; digits are ASCII ("12", not "十二")."""

    compound: str | None = None  # canonical compound name, never an alias
    building: str | None = None
    unit: str | None = None
    room: str | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.compound or self.building or self.unit or self.room)


@dataclass(frozen=True)
class ModelVote:
    """The learned second opinion (nlp/learned) on one message, kept beside the rules' result."""

    category: Category
    probability: float  # of `category`, normalised over all categories
    alternatives: tuple[tuple[Category, float], ...] = ()  # the runners-up, best first
    emergency_probability: float = 0.0  # the emergency-versus-rest model's own probability
    decided: bool = False  # this vote, not the rules, chose Classification.category
    raised: bool = False  # this vote raised emergency_level to POSSIBLE
    rules_category: Category = Category.UNKNOWN  # what the rules alone said


@dataclass(frozen=True)
class Classification:
    category: Category
    priority: Priority
    location: Location = field(default_factory=Location)
    keywords: tuple[str, ...] = ()
    confidence: float = 0.0
    # For UNKNOWN: the categories that were too close to call, best first (offer them as buttons);
    # otherwise just the chosen category. Empty when nothing matched.
    candidates: tuple[Category, ...] = ()
    # How sure the rules are that this is an emergency happening now (independent of `category`,
    # so a POSSIBLE emergency can still be shown as another category or unknown).
    emergency_level: EmergencyLevel = EmergencyLevel.NONE
    # The learned model's vote when it was asked (the rules unsure, or an emergency it may see); else None.
    model: ModelVote | None = None


class Classifier(Protocol):
    def classify(self, text: str) -> Classification:
        """Classify one resident message."""
        ...
