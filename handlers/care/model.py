"""Vulnerable residents (台账) and their daily check-in (平安问候): the domain types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class Vulnerability(StrEnum):
    ELDERLY_ALONE = "elderly_alone"
    PREGNANT = "pregnant"
    DISABLED = "disabled"
    CHRONIC = "chronic"
    HARDSHIP = "hardship"

    @property
    def label(self) -> str:
        return {
            "elderly_alone": "独居老人",
            "pregnant": "孕产妇",
            "disabled": "残疾人",
            "chronic": "慢性病患者",
            "hardship": "困难家庭",
        }[self.value]


class Consent(StrEnum):
    PENDING = "pending"  # asked in chat, no answer yet: nothing sensitive is used
    CHAT = "chat"  # the resident agreed in chat
    PAPER = "paper"  # signed at the community office, recorded by staff


@dataclass
class LedgerEntry:
    """Sensitive personal information: seen only by staff and the resident's own grid members."""

    resident_id: int
    kinds: frozenset[Vulnerability]
    consent: Consent
    registered_by: int | None  # person id of the staff member
    registered_at: datetime
    consent_at: datetime | None = None
    note: str = ""

    @property
    def active(self) -> bool:
        return self.consent is not Consent.PENDING

    @property
    def label(self) -> str:
        return "、".join(k.label for k in sorted(self.kinds, key=list(Vulnerability).index))


class CheckinAnswer(StrEnum):
    FINE = "fine"
    HELP = "help"
    CONFIRMED_BY_MEMBER = "confirmed"  # the grid member checked in person or by phone


@dataclass
class Checkin:
    id: int | None
    resident_id: int
    day: date
    asked_at: datetime
    answered_at: datetime | None = None
    answer: CheckinAnswer | None = None
    alerted_at: datetime | None = None  # grid member told: no answer
    escalated_at: datetime | None = None  # grid leader / staff told: still no answer
    alerted_people: list[int] = field(default_factory=list)


_BY_LABEL = (
    {v.label: v for v in Vulnerability}
    | {v.value: v for v in Vulnerability}
    | {"独居": Vulnerability.ELDERLY_ALONE}
)


def parse_kinds(raw: str) -> frozenset[Vulnerability] | None:
    """ "elderly_alone,disabled" or "独居老人、残疾人"; None when any part is unknown."""
    parts = [p.strip() for p in raw.replace("、", ",").replace("，", ",").split(",") if p.strip()]
    kinds = [_BY_LABEL.get(p) for p in parts]
    if not kinds or any(k is None for k in kinds):
        return None
    return frozenset(k for k in kinds if k is not None)
