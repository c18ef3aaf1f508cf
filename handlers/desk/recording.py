"""代录: staff record a report for a resident who phoned or came to the counter.

The report is classified and routed exactly like a chat report (`opening.open_order`). The resident is the
one who uses the bot with that phone number, if any (they then follow the order in chat); otherwise a
resident without a chat is kept for the caller, under a chat id no Telegram chat can have, and messages
meant for them are shown to the staff member to pass on instead of being sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from handlers.community.model import Resident
from handlers.context import Context
from handlers.desk import texts
from handlers.desk.login import may_use_desk
from handlers.errors import DomainError, NotAuthorised
from handlers.labels.recording import correction_source, record_label
from handlers.workorders.model import EventKind, WorkOrder
from handlers.workorders.opening import PendingReport, open_order
from handlers.workorders.reporting import has_words
from nlp.types import Category

# Telegram ids have at most 52 significant bits: chats at or below this are never real ones.
OFFLINE_CHATS_BELOW = -(2**53)
_PHONE = re.compile(r"\d{7,15}")
CHANNELS = ("phone", "counter")


class RecordingRefused(DomainError):
    """The form is incomplete; `message` says what to fill in."""

    def __init__(self, message: str) -> None:
        super().__init__("incomplete", message)
        self.message = message


def is_offline_chat(chat_id: int) -> bool:
    """A resident recorded at the desk who does not use the bot: nothing can be sent there."""
    return chat_id <= OFFLINE_CHATS_BELOW


def offline_chat_for(phone: str) -> int:
    """One chat id per phone number (the same caller again is the same resident), below every real id."""
    return OFFLINE_CHATS_BELOW - int(phone)


def normalise_phone(raw: str) -> str:
    digits = re.sub(r"[\s\-()（）+]", "", raw)
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


@runtime_checkable
class DeskRecords(Protocol):
    async def resident_by_phone(self, phone: str) -> Resident | None: ...
    async def mark_offline(self, chat_id: int, now: datetime) -> None: ...
    async def add_recorded(
        self, order_id: int, recorded_by: int, at: datetime, channel: str, address: str
    ) -> None: ...


@dataclass(frozen=True)
class PhonedReport:
    name: str
    phone: str
    text: str
    channel: str = "phone"
    address: str = ""  # as the caller said it; compound/building below when staff picked them
    compound_id: int | None = None
    building_id: int | None = None
    unit: str | None = None
    room: str | None = None
    category: Category | None = None  # staff's choice; None: let the classifier decide


def _check(report: PhonedReport) -> str:
    if not has_words(report.text):
        raise RecordingRefused(texts.RECORD_NO_TEXT)
    if not report.name.strip():
        raise RecordingRefused(texts.RECORD_NO_NAME)
    phone = normalise_phone(report.phone)
    if not _PHONE.fullmatch(phone):
        raise RecordingRefused(texts.RECORD_BAD_PHONE)
    return phone


async def record_report(ctx: Context, report: PhonedReport) -> WorkOrder:
    """Open a work order for a phoned-in or walk-in report, marked as recorded by the acting person."""
    person = ctx.person
    if person is None or not may_use_desk(person):
        raise NotAuthorised("not_a_member")
    records = getattr(ctx.uow, "desk", None)
    if not isinstance(records, DeskRecords):
        raise NotAuthorised("no_desk_storage")
    phone = _check(report)
    now = ctx.clock.now()
    text = report.text.strip()
    heard = " ".join(p for p in (report.address.strip(), text) if p)
    result = ctx.classifier.classify(heard)
    category = report.category or result.category
    if category is Category.UNKNOWN:
        raise RecordingRefused(texts.RECORD_ASK_CATEGORY)
    pending = PendingReport(
        text=text,
        category=category.value,
        priority=result.priority.value,
        keywords=list(result.keywords),
        confidence=result.confidence if report.category is None else 1.0,
        unit=report.unit or result.location.unit,
        room=report.room or result.location.room,
    )
    await _locate(ctx, pending, report, result.location.compound, result.location.building)
    resident = await records.resident_by_phone(phone)
    if resident is None:
        resident = Resident(
            id=None, chat_id=offline_chat_for(phone), name=report.name.strip()[:64], phone=phone
        )
        resident = await ctx.uow.residents.save(resident)
        await records.mark_offline(resident.chat_id, now)
    order = await open_order(ctx, resident, pending)
    assert order.id is not None
    if report.category is not None and report.category is not result.category:
        # Staff heard the call and filed it otherwise than the classifier would: a labelled example.
        await record_label(ctx, order, correction_source(person), report.category, heard)
    channel = report.channel if report.channel in CHANNELS else "phone"
    order.record(
        EventKind.NOTED, ctx.actor, now, texts.RECORD_NOTE.format(channel=texts.CHANNEL_LABELS[channel])
    )
    await ctx.uow.orders.save(order)
    await records.add_recorded(order.id, person.id, now, channel, report.address.strip()[:200])
    return order


async def _locate(
    ctx: Context,
    pending: PendingReport,
    report: PhonedReport,
    compound_name: str | None,
    building: str | None,
) -> None:
    """Staff's picks first, then what the address and text name; an emergency never waits for a place."""
    community = ctx.uow.community
    if report.building_id is not None:
        found = await community.building(report.building_id)
        if found is not None:
            pending.compound_id, pending.building_id = found.compound_id, found.id
            return
    if report.compound_id is not None:
        pending.compound_id = report.compound_id
    elif compound_name:
        compound = await community.compound_by_name(compound_name)
        pending.compound_id = compound.id if compound else None
    if pending.compound_id is None and report.address:
        # The address as typed names the compound more often than the free text does.
        for candidate in await community.compounds():
            if any(name and name in report.address for name in (candidate.name, *candidate.aliases)):
                pending.compound_id = candidate.id
                break
    if pending.compound_id is not None and building:
        found = await community.find_building(pending.compound_id, building)
        pending.building_id = found.id if found else None
        pending.building_number = None if found else building
    if pending.compound_id is None and pending.category != Category.EMERGENCY.value:
        raise RecordingRefused(texts.RECORD_ASK_COMPOUND)
