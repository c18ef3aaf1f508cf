"""台账: the vulnerable-resident ledger, scoped by role, phone and room masked until a reason is given.

Staff see everyone; grid leaders and members the residents of their own grids (`ledger_in_scope`, applied in
SQL). The list shows name, building, kinds, consent and the latest 平安问候; the phone and the exact room are
masked. Showing one resident's full details asks for a reason and writes an audit record with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from handlers.care.model import Checkin, LedgerEntry
from handlers.care.texts import CONSENT_LABELS
from handlers.community.model import Resident, Role
from handlers.desk.queries import ledger_in_scope
from storage.uow import SqlUnitOfWork
from web.auth import Viewer
from web.common import audit, checked_form, desk, login_needed, render, text_field, viewer_of

# What the masked list shows of personal data (the audit log names the fields, never the values).
LISTED_FIELDS = ["resident.name", "resident.building", "ledger.kinds", "ledger.consent", "checkin.latest"]
REVEALED_FIELDS = ["resident.phone", "resident.room", "ledger.note"]
MIN_REASON = 4


@dataclass(frozen=True)
class LedgerLine:
    entry: LedgerEntry
    resident: Resident
    building: str
    checkin: Checkin | None

    @property
    def consent(self) -> str:
        return CONSENT_LABELS[self.entry.consent.value]


async def _allowed(request: Request) -> Viewer | Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return login_needed(request)
    if viewer.is_staff or viewer.person.has(Role.GRID_LEADER, Role.GRID_MEMBER):
        return viewer
    return render(request, "forbidden.html", viewer, status=403)


async def _lines(uow: SqlUnitOfWork, viewer: Viewer) -> list[LedgerLine]:
    entries = await ledger_in_scope(uow.ledger, viewer.scope)
    checkins = await uow.checkins.latest([r.id for _, r in entries if r.id is not None])
    lines = []
    for entry, resident in entries:
        building = await uow.community.building(resident.building_id) if resident.building_id else None
        lines.append(
            LedgerLine(
                entry, resident, building.label if building else "未登记", checkins.get(resident.id or 0)
            )
        )
    return lines


async def ledger_page(request: Request) -> Response:
    viewer = await _allowed(request)
    if not isinstance(viewer, Viewer):
        return viewer
    async with desk(request).uow_factory() as uow:
        lines = await _lines(uow, viewer)
        await audit(uow, viewer, request, "view", "ledger", LISTED_FIELDS)
        await uow.commit()
    return render(request, "ledger.html", viewer, lines=lines, revealed=None, problem=None)


async def ledger_reveal(request: Request) -> Response:
    """One resident's full details, for a stated reason (recorded with the audit record)."""
    viewer = await _allowed(request)
    if not isinstance(viewer, Viewer):
        return viewer
    form = await checked_form(request, viewer)
    resident_id = int(request.path_params["resident_id"])
    reason = text_field(form, "reason", 200)
    async with desk(request).uow_factory() as uow:
        lines = await _lines(uow, viewer)
        line = next((x for x in lines if x.resident.id == resident_id), None)
        if line is None:  # not in the ledger, or outside the viewer's grids: the same answer
            return render(request, "not_found.html", viewer, status=404)
        if len(reason) < MIN_REASON:
            problem = f"请写明查看完整信息的理由（至少 {MIN_REASON} 个字），会记入审计。"
            return render(
                request, "ledger.html", viewer, status=422, lines=lines, revealed=None, problem=problem
            )
        await audit(uow, viewer, request, "reveal", f"resident:{resident_id}", REVEALED_FIELDS, reason)
        await uow.commit()
    return render(request, "ledger.html", viewer, lines=lines, revealed=resident_id, problem=None)


ROUTES = [
    Route("/ledger", ledger_page),
    Route("/ledger/{resident_id:int}/reveal", ledger_reveal, methods=["POST"]),
]
