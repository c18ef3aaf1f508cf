"""The desk demo's ledger (台账): three residents with their consent and 平安问候 in different states."""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers.care.model import Checkin, CheckinAnswer, Consent, LedgerEntry, Vulnerability
from storage.uow import SqlUnitOfWorkFactory

# chat id -> (kinds, consent, daily check-in, note, how the latest check-in went)
_LEDGER = {
    9101: ({Vulnerability.ELDERLY_ALONE}, Consent.PAPER, True, "子女在外地，钥匙放在邻居家", "fine"),
    9001: ({Vulnerability.ELDERLY_ALONE, Vulnerability.CHRONIC}, Consent.PENDING, False, "", ""),
    9102: ({Vulnerability.DISABLED}, Consent.CHAT, True, "轮椅出行", "alerted"),
}


async def seed_care(uow_factory: SqlUnitOfWorkFactory, now: datetime) -> int:
    """Add the demo's ledger entries and check-ins; returns how many entries were added."""
    added = 0
    async with uow_factory() as uow:
        for chat_id, (kinds, consent, checkin, note, latest) in _LEDGER.items():
            resident = await uow.residents.by_chat(chat_id)
            if resident is None or resident.id is None:
                continue
            consented = None if consent is Consent.PENDING else now - timedelta(days=20)
            entry = LedgerEntry(
                resident.id, frozenset(kinds), consent, None, now - timedelta(days=30), consented, note
            )
            await uow.ledger.save(entry)
            resident.checkin = checkin
            await uow.residents.save(resident)
            added += 1
            if not latest:
                continue
            asked = now.replace(hour=9, minute=0, second=0, microsecond=0)
            asked = asked if asked <= now else asked - timedelta(days=1)
            record = await uow.checkins.add(Checkin(None, resident.id, asked.date(), asked))
            if record is None:
                continue
            if latest == "fine":
                record.answer, record.answered_at = CheckinAnswer.FINE, asked + timedelta(minutes=12)
            else:
                record.alerted_at = asked + timedelta(hours=3)
            await uow.checkins.save(record)
        await uow.commit()
    return added
