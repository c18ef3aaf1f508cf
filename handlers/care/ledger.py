"""The vulnerable-resident ledger (台账): staff keep it; residents consent; the green channel uses it.

It is sensitive personal information: shown only to staff and to the resident's own grid members, and not
used (no green channel, nothing shown) until the resident's separate consent is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers import texts as common_texts
from handlers import verbs as callbacks
from handlers.care import texts
from handlers.care.model import Consent, LedgerEntry, Vulnerability, parse_kinds
from handlers.community.model import Person, Resident, Role
from handlers.community.registration import address_label
from handlers.context import Context
from handlers.errors import DomainError, NotAuthorised
from handlers.messages import Button
from handlers.verbs import Action


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


async def register(ctx: Context, resident: Resident, row: LedgerRow, staff: Person | None) -> None:
    """Put a resident in the ledger; without paper consent the resident is asked in chat."""
    assert resident.id is not None
    now = ctx.clock.now()
    entry = await ctx.uow.ledger.get(resident.id)
    consent = Consent.PAPER if row.paper_consent else Consent.PENDING
    if entry is not None and entry.active and not row.paper_consent:
        consent = entry.consent  # already agreed: changing the kinds does not need asking again
    entry = LedgerEntry(
        resident_id=resident.id,
        kinds=row.kinds,
        consent=consent,
        registered_by=staff.id if staff else None,
        registered_at=now,
        consent_at=now if consent is Consent.PAPER else (entry.consent_at if entry else None),
        note=row.note,
    )
    await ctx.uow.ledger.save(entry)
    if row.checkin and consent is Consent.PAPER and not resident.checkin:
        resident.checkin = True
        await ctx.uow.residents.save(resident)
    if consent is Consent.PENDING:
        buttons = (
            (
                Button(texts.BTN_AGREE_LEDGER, callbacks.encode("lg", "y", 0)),
                Button(texts.BTN_DECLINE_LEDGER, callbacks.encode("lg", "n", 0)),
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
    if action.args[0] == "y":
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


@dataclass(frozen=True)
class ImportRow:
    """One resident of a ledger spreadsheet, already validated by the caller (bot/ledger_file.py)."""

    line: int
    chat_id: int
    name: str
    row: LedgerRow
    compound: str | None = None
    building: str | None = None
    unit: str | None = None
    room: str | None = None


class LedgerImportError(DomainError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("ledger_import", "; ".join(problems))
        self.problems = problems


async def import_rows(ctx: Context, rows: list[ImportRow]) -> int:
    """Register every row; residents unknown to the bot are created (with paper consent only).

    All or nothing: any problem against the stored community (unknown building, a newcomer without paper
    consent) raises LedgerImportError, and the transaction is rolled back.
    """
    problems: list[str] = []
    now = ctx.clock.now()
    for item in rows:
        resident = await ctx.uow.residents.by_chat(item.chat_id)
        building_id = None
        if item.compound and item.building:
            compound = await ctx.uow.community.compound_by_name(item.compound)
            building = await ctx.uow.community.find_building(compound.id, item.building) if compound else None
            if building is None:
                problems.append(f"{item.line}: unknown building {item.compound} {item.building}号楼")
                continue
            building_id = building.id
        if resident is None:
            if not item.row.paper_consent:
                problems.append(
                    f"{item.line}: resident {item.chat_id} has never used the bot: needs consent=paper"
                )
                continue
            resident = Resident(id=None, chat_id=item.chat_id, name=item.name, consented_at=now)
        if building_id is not None:
            resident.building_id, resident.unit, resident.room = building_id, item.unit, item.room
        resident = await ctx.uow.residents.save(resident)
        await register(ctx, resident, item.row, None)
    if problems:
        raise LedgerImportError(problems)
    return len(rows)
