"""The vulnerable-resident ledger (台账): staff keep it; residents consent; the green channel uses it.

It is sensitive personal information: shown only to staff and to the resident's own grid members, and not
used (no green channel, nothing shown) until the resident's separate consent is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from handlers import texts as common_texts
from handlers import verbs
from handlers.care import texts
from handlers.care.model import Consent, LedgerEntry, Vulnerability, parse_kinds
from handlers.community.model import Person, Resident, Role
from handlers.community.registration import address_label
from handlers.context import Context
from handlers.errors import NotAuthorised
from handlers.messages import Button
from handlers.verbs import Action, Verb


def _staff(ctx: Context) -> Person:
    if ctx.person is None or not ctx.person.is_staff:
        raise NotAuthorised("not_staff")
    return ctx.person


async def show(ctx: Context, _args: str) -> None:
    """/ledger: staff see the whole ledger, grid members the residents of their own grid."""
    person = ctx.person
    if person is None or not (person.is_staff or person.has(Role.GRID_MEMBER, Role.GRID_LEADER)):
        raise NotAuthorised("not_allowed")
    grid_id = None if person.is_staff else person.grid_id
    if grid_id is None and not person.is_staff:
        raise NotAuthorised("no_grid")
    entries = await ctx.uow.ledger.entries(grid_id)
    if not entries:
        await ctx.answer(texts.LEDGER_EMPTY)
        return
    lines = [texts.LEDGER_HEADER]
    for entry, resident in entries:
        consent = texts.CONSENT_LABELS[entry.consent.value]
        checkin = "，平安问候" if resident.checkin else ""
        lines.append(
            f"• {resident.name}｜{await address_label(ctx, resident)}｜{entry.label}｜{consent}{checkin}"
        )
    await ctx.answer("\n".join(lines))


@dataclass(frozen=True)
class LedgerRow:
    """One line of a ledger import or a /ledger_add command."""

    chat_id: int
    kinds: frozenset[Vulnerability]
    paper_consent: bool
    checkin: bool = False
    note: str = ""


async def add(ctx: Context, args: str) -> None:
    """/ledger_add <chat id> <kinds> [paper]: register a resident; ask their consent unless on paper."""
    staff = _staff(ctx)
    parts = args.split()
    kinds = parse_kinds(parts[1]) if len(parts) >= 2 else None
    if len(parts) < 2 or not parts[0].isdigit() or kinds is None or parts[2:] not in ([], ["paper"]):
        await ctx.answer(texts.LEDGER_ADD_USAGE)
        return
    resident = await ctx.uow.residents.by_chat(int(parts[0]))
    if resident is None or resident.id is None:
        await ctx.answer(texts.LEDGER_UNKNOWN_RESIDENT)
        return
    await register(
        ctx, resident, LedgerRow(int(parts[0]), kinds, paper_consent=parts[2:] == ["paper"]), staff
    )
    await ctx.answer(texts.ledger_added(resident.name, parts[2:] == ["paper"]))


def ledger_entry(
    resident_id: int, row: LedgerRow, before: LedgerEntry | None, staff: Person | None, now: datetime
) -> LedgerEntry:
    """The entry `row` makes of the resident's entry `before`: consent on paper, kept, or still to ask."""
    consent = Consent.PAPER if row.paper_consent else Consent.PENDING
    if before is not None and before.active and not row.paper_consent:
        consent = before.consent  # already agreed: changing the kinds does not need asking again
    return LedgerEntry(
        resident_id=resident_id,
        kinds=row.kinds,
        consent=consent,
        registered_by=staff.id if staff else None,
        registered_at=now,
        consent_at=now if consent is Consent.PAPER else (before.consent_at if before else None),
        note=row.note,
    )


async def register(ctx: Context, resident: Resident, row: LedgerRow, staff: Person | None) -> None:
    """Put a resident in the ledger; without paper consent the resident is asked in chat."""
    assert resident.id is not None
    entry = ledger_entry(resident.id, row, await ctx.uow.ledger.get(resident.id), staff, ctx.clock.now())
    await ctx.uow.ledger.save(entry)
    if row.checkin and entry.consent is Consent.PAPER and not resident.checkin:
        resident.checkin = True
        await ctx.uow.residents.save(resident)
    if entry.consent is Consent.PENDING:
        await ask_consent(ctx, resident, entry)


async def ask_consent(ctx: Context, resident: Resident, entry: LedgerEntry) -> None:
    """Ask the resident whether the community may keep them in the ledger (their separate consent)."""
    buttons = (
        (
            Button(texts.BTN_AGREE_LEDGER, verbs.encode(Verb.LEDGER_CONSENT, "y", 0)),
            Button(texts.BTN_DECLINE_LEDGER, verbs.encode(Verb.LEDGER_CONSENT, "n", 0)),
        ),
    )
    await ctx.say(resident.chat_id, texts.ledger_consent_question(entry.label), buttons)


async def on_consent(ctx: Context, action: Action) -> None:
    """The resident answers whether the community may keep them in the ledger."""
    resident = ctx.resident
    if resident is None or resident.id is None:
        raise NotAuthorised("not_resident")
    entry = await ctx.uow.ledger.get(resident.id)
    if entry is None or entry.active:
        ctx.callback_answer = common_texts.STALE_BUTTON
        return
    staff = await ctx.uow.community.person(entry.registered_by) if entry.registered_by else None
    if action.word("choice") == "y":
        entry.consent, entry.consent_at = Consent.CHAT, ctx.clock.now()
        await ctx.uow.ledger.save(entry)
        await ctx.answer(texts.LEDGER_CONSENT_THANKS)
        if staff is not None:
            await ctx.say(staff.chat_id, texts.ledger_consent_given(resident.name))
    else:
        await ctx.uow.ledger.remove(resident.id)
        await ctx.answer(texts.LEDGER_CONSENT_DECLINED)
        if staff is not None:
            await ctx.say(staff.chat_id, texts.ledger_consent_refused(resident.name))


async def remove(ctx: Context, args: str) -> None:
    """/ledger_remove <chat id>."""
    _staff(ctx)
    resident = await ctx.uow.residents.by_chat(int(args)) if args.strip().isdigit() else None
    if resident is None or resident.id is None or await ctx.uow.ledger.get(resident.id) is None:
        await ctx.answer(texts.LEDGER_UNKNOWN_RESIDENT)
        return
    await ctx.uow.ledger.remove(resident.id)
    await ctx.answer(texts.ledger_removed(resident.name))
