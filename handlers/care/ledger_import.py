"""Import a ledger spreadsheet (台账) in one transaction, all or nothing, in a few statements.

A district's ledger can hold 100k residents. Asking the database once per row (is the resident known? which
building? is there an entry?) took over two minutes for that; here every lookup is made once for the whole
file and residents and entries are written in batches, the same rules as /ledger_add applied to each row
(handlers/care/ledger.py `ledger_entry`).
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.care.ledger import LedgerRow, ask_consent, ledger_entry
from handlers.care.model import Consent, LedgerEntry
from handlers.community.model import Resident
from handlers.context import Context
from handlers.errors import DomainError


@dataclass(frozen=True)
class ImportRow:
    """One resident of a ledger spreadsheet, already validated by the caller (bot/imports/ledger_file.py)."""

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


async def _building_ids(ctx: Context, rows: list[ImportRow]) -> dict[tuple[str, str], int | None]:
    """Each (compound or alias, building number) the file names, resolved once against the community."""
    found: dict[tuple[str, str], int | None] = {}
    for item in rows:
        if not (item.compound and item.building) or (item.compound, item.building) in found:
            continue
        compound = await ctx.uow.community.compound_by_name(item.compound)
        building = await ctx.uow.community.find_building(compound.id, item.building) if compound else None
        found[(item.compound, item.building)] = building.id if building else None
    return found


async def import_rows(ctx: Context, rows: list[ImportRow]) -> int:
    """Register every row; residents unknown to the bot are created (with paper consent only).

    All or nothing: any problem against the stored community (unknown building, a newcomer without paper
    consent) raises LedgerImportError before anything is written, and the transaction is rolled back.
    """
    problems: list[str] = []
    now = ctx.clock.now()
    buildings = await _building_ids(ctx, rows)
    known = await ctx.uow.residents.by_chats([item.chat_id for item in rows])
    before = await ctx.uow.ledger.get_many([r.id for r in known.values() if r.id is not None])
    planned: dict[int, tuple[Resident, LedgerEntry]] = {}  # by chat id
    for item in rows:
        if item.chat_id in planned:
            problems.append(f"{item.line}: resident {item.chat_id} is listed twice")
            continue
        building_id = (
            buildings.get((item.compound, item.building)) if item.compound and item.building else None
        )
        if item.compound and item.building and building_id is None:
            problems.append(f"{item.line}: unknown building {item.compound} {item.building}号楼")
            continue
        resident = known.get(item.chat_id)
        if resident is None:
            if not item.row.paper_consent:
                problems.append(
                    f"{item.line}: resident {item.chat_id} has never used the bot: needs consent=paper"
                )
                continue
            resident = Resident(id=None, chat_id=item.chat_id, name=item.name, consented_at=now)
        if building_id is not None:
            resident.building_id, resident.unit, resident.room = building_id, item.unit, item.room
        previous = before.get(resident.id) if resident.id is not None else None
        entry = ledger_entry(resident.id or 0, item.row, previous, None, now)  # a newcomer's id comes below
        if item.row.checkin and entry.consent is Consent.PAPER:
            resident.checkin = True
        planned[item.chat_id] = (resident, entry)
    if problems:
        raise LedgerImportError(problems)
    await ctx.uow.residents.save_many([resident for resident, _ in planned.values()])
    for resident, entry in planned.values():
        assert resident.id is not None
        entry.resident_id = resident.id
        if entry.consent is Consent.PENDING:
            await ask_consent(ctx, resident, entry)
    await ctx.uow.ledger.save_many([entry for _, entry in planned.values()])
    return len(rows)
