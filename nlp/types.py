"""The classifier's contract: what the rest of gridbot may rely on."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, Protocol

_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}")  # fits work_orders.category (String(32)) and a button's data


class Category(str):
    """A kind of resident problem: a validated key such as "repair" or a community's own "heating".

    The 13 shipped keys (and UNKNOWN) are class attributes and never change, so stored orders keep their
    meaning; a community's rules file adds more (nlp/categories.py holds the labels, priorities and order).
    Instances are interned, so `category is Category.EMERGENCY` holds for any "emergency" made here.
    """

    __slots__ = ()
    _interned: ClassVar[dict[str, Category]] = {}

    EMERGENCY: ClassVar[Category]
    SAFETY_HAZARD: ClassVar[Category]
    FRAUD: ClassVar[Category]
    WAGE_ARREARS: ClassVar[Category]
    REPAIR: ClassVar[Category]
    SANITATION: ClassVar[Category]
    ORDER_DISPUTE: ClassVar[Category]
    PARKING: ClassVar[Category]
    UTILITY_PAYMENT: ClassVar[Category]
    EMPLOYMENT: ClassVar[Category]
    POLICY: ClassVar[Category]
    ASSISTANCE: ClassVar[Category]
    OTHER: ClassVar[Category]
    UNKNOWN: ClassVar[Category]

    def __new__(cls, key: str) -> Category:
        known = cls._interned.get(key)
        if known is not None:
            return known
        if not isinstance(key, str) or _KEY.fullmatch(key) is None:
            raise ValueError(f"{key!r} is not a category key (lower-case letters, digits and _, at most 32)")
        made = super().__new__(cls, key)
        return cls._interned.setdefault(str(key), made)

    @property
    def value(self) -> str:
        """The key as a plain string (what is stored)."""
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"Category({str.__str__(self)!r})"

    def __copy__(self) -> Category:
        return self

    def __deepcopy__(self, memo: object) -> Category:
        return self

    def __reduce__(self) -> tuple[type[Category], tuple[str]]:
        return (Category, (str.__str__(self),))


# The shipped categories in order of precedence for ties, with the Chinese names residents and staff see.
# A community's rules file may relabel them (`label:`); their keys stay as they are.
CATEGORY_LABELS: dict[str, str] = {
    "emergency": "紧急求助",
    "safety_hazard": "安全隐患",
    "fraud": "反诈",
    "wage_arrears": "欠薪维权",
    "repair": "维修报修",
    "sanitation": "环境卫生",
    "order_dispute": "邻里纠纷",
    "parking": "车辆停放",
    "utility_payment": "生活缴费",
    "employment": "就业务工",
    "policy": "政策咨询",
    "assistance": "困难帮扶",
    "other": "其他",
    "unknown": "待确认",
}
for _key in CATEGORY_LABELS:
    setattr(Category, _key.upper(), Category(_key))

# The 13 shipped keys a resident can pick from (precedence order, no UNKNOWN).
SHIPPED_CATEGORIES: tuple[Category, ...] = tuple(Category(k) for k in CATEGORY_LABELS if k != "unknown")


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


@dataclass(frozen=True, init=False)
class ModelVote:
    """The learned second opinion (nlp/learned) on one message, kept beside the rules' result."""

    category: Category
    probability: float  # of `category`, normalised over all categories
    alternatives: tuple[tuple[Category, float], ...] = ()  # the runners-up, best first
    emergency_probability: float = 0.0  # the emergency-versus-rest model's own probability
    decided: bool = False  # this vote, not the rules, chose Classification.category
    raised: bool = False  # this vote raised emergency_level to POSSIBLE
    demoted: bool = False  # this vote turned the rules' emergency into `category`, kept POSSIBLE
    rules_category: Category = Category.UNKNOWN  # what the rules alone said

    # Written out (init=False) to fill the fields in one dict update: the generated __init__ of a frozen
    # dataclass calls object.__setattr__ once per field, 2.5 times the cost, on every message
    # `gridbot classify` reads. A test checks the parameters against the fields.
    def __init__(
        self,
        category: Category,
        probability: float,
        alternatives: tuple[tuple[Category, float], ...] = (),
        emergency_probability: float = 0.0,
        decided: bool = False,
        raised: bool = False,
        demoted: bool = False,
        rules_category: Category = Category.UNKNOWN,
    ) -> None:
        self.__dict__.update(
            category=category,
            probability=probability,
            alternatives=alternatives,
            emergency_probability=emergency_probability,
            decided=decided,
            raised=raised,
            demoted=demoted,
            rules_category=rules_category,
        )


_NOWHERE = Location()  # immutable: one can be every Classification's default


@dataclass(frozen=True, init=False)
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

    # Written out for the reason ModelVote's is: one or two Classifications are built per message.
    def __init__(
        self,
        category: Category,
        priority: Priority,
        location: Location = _NOWHERE,
        keywords: tuple[str, ...] = (),
        confidence: float = 0.0,
        candidates: tuple[Category, ...] = (),
        emergency_level: EmergencyLevel = EmergencyLevel.NONE,
        model: ModelVote | None = None,
    ) -> None:
        self.__dict__.update(
            category=category,
            priority=priority,
            location=location,
            keywords=keywords,
            confidence=confidence,
            candidates=candidates,
            emergency_level=emergency_level,
            model=model,
        )


class Classifier(Protocol):
    def classify(self, text: str) -> Classification:
        """Classify one resident message."""
        ...
