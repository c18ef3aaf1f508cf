"""The staff desk on SQL: login links, sessions, login attempts, the audit log, recorded reports, the site.

The audit log is append-only: this repository can add and read records, never change or delete them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.community.model import Person, Resident
from handlers.desk.queries import AuditEntry, AuditPage, RecordedBy
from storage.models import (
    DeskAuditRow,
    DeskLoginAttemptRow,
    DeskLoginLinkRow,
    DeskRecordedReportRow,
    DeskSessionRow,
    DeskSiteRow,
    PersonRow,
    ResidentRow,
    UnreachableChatRow,
)
from storage.repositories.community import _person, resident_from_row
from storage.upsert import insert_for

_SITE = 1
# Telegram ids fit in 52 bits; desk-only residents live below (handlers.desk.recording.OFFLINE_CHATS_BELOW).
_REAL_CHATS_ABOVE = -(2**53)


@dataclass(frozen=True)
class StoredSession:
    token_hash: str
    person_id: int
    csrf: str
    grants: str
    created_at: datetime
    last_seen_at: datetime
    revoked_at: datetime | None


def _session(row: DeskSessionRow) -> StoredSession:
    return StoredSession(
        row.token_hash, row.person_id, row.csrf, row.grants, row.created_at, row.last_seen_at, row.revoked_at
    )


class SqlDeskRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # ------------------------------------------------------------------ where the desk is published

    async def site_url(self) -> str | None:
        row = await self._session.get(DeskSiteRow, _SITE)
        return row.public_url if row else None

    async def publish(self, public_url: str, now: datetime) -> None:
        stmt = insert_for(self._session, DeskSiteRow.__table__).values(
            id=_SITE, public_url=public_url, started_at=now
        )
        await self._session.execute(
            stmt.on_conflict_do_update(
                index_elements=["id"], set_={"public_url": public_url, "started_at": now}
            )
        )

    # ------------------------------------------------------------------ login links

    async def add_login_link(
        self, person_id: int, token_hash: str, now: datetime, expires_at: datetime
    ) -> None:
        self._session.add(
            DeskLoginLinkRow(
                token_hash=token_hash, person_id=person_id, created_at=now, expires_at=expires_at
            )
        )
        await self._session.flush()

    async def use_login_link(self, token_hash: str, now: datetime) -> int | None:
        """The link's person, marking it used; None when unknown, used or expired. One statement, so two
        browsers opening the same link at once cannot both log in."""
        result = await self._session.execute(
            update(DeskLoginLinkRow)
            .where(
                DeskLoginLinkRow.token_hash == token_hash,
                DeskLoginLinkRow.used_at.is_(None),
                DeskLoginLinkRow.expires_at > now,
            )
            .values(used_at=now)
            .returning(DeskLoginLinkRow.person_id)
        )
        person_id = result.scalar_one_or_none()
        return int(person_id) if person_id is not None else None

    async def person_by_name(self, name: str) -> Person | None:
        row = await self._session.scalar(
            select(PersonRow)
            .where(PersonRow.name == name, PersonRow.active, PersonRow.chat_id.is_not(None))  # joined
            .order_by(PersonRow.id)
            .limit(1)
        )
        return _person(row) if row else None

    # ------------------------------------------------------------------ sessions

    async def add_session(
        self, token_hash: str, person_id: int, csrf: str, grants: str, source: str, now: datetime
    ) -> None:
        self._session.add(
            DeskSessionRow(
                token_hash=token_hash,
                person_id=person_id,
                csrf=csrf,
                grants=grants[:200],
                source=source[:64],
                created_at=now,
                last_seen_at=now,
            )
        )
        await self._session.flush()

    async def get_session(self, token_hash: str) -> StoredSession | None:
        row = await self._session.get(DeskSessionRow, token_hash)
        return _session(row) if row else None

    async def touch_session(self, token_hash: str, now: datetime) -> None:
        await self._session.execute(
            update(DeskSessionRow).where(DeskSessionRow.token_hash == token_hash).values(last_seen_at=now)
        )

    async def revoke_session(self, token_hash: str, now: datetime) -> None:
        await self._session.execute(
            update(DeskSessionRow)
            .where(DeskSessionRow.token_hash == token_hash, DeskSessionRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_sessions_of(self, person_id: int, now: datetime) -> int:
        result = await self._session.execute(
            update(DeskSessionRow)
            .where(DeskSessionRow.person_id == person_id, DeskSessionRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]  # CursorResult of an UPDATE

    # ------------------------------------------------------------------ login rate limit

    async def login_attempts(self, source: str, since: datetime) -> int:
        count = await self._session.scalar(
            select(func.count())
            .select_from(DeskLoginAttemptRow)
            .where(DeskLoginAttemptRow.source == source[:64], DeskLoginAttemptRow.at >= since)
        )
        return int(count or 0)

    async def add_login_attempt(self, source: str, now: datetime, forget_before: datetime) -> None:
        await self._session.execute(delete(DeskLoginAttemptRow).where(DeskLoginAttemptRow.at < forget_before))
        self._session.add(DeskLoginAttemptRow(source=source[:64], at=now))
        await self._session.flush()

    # ------------------------------------------------------------------ audit (append-only)

    async def audit(
        self,
        person_id: int | None,
        action: str,
        record: str,
        fields: list[str],
        source: str,
        now: datetime,
        reason: str = "",
    ) -> None:
        self._session.add(
            DeskAuditRow(
                at=now,
                person_id=person_id,
                action=action[:16],
                record=record[:64],
                fields=sorted(fields),
                source=source[:64],
                reason=reason[:200],
            )
        )
        await self._session.flush()

    async def audit_page(
        self,
        before: int | None = None,
        limit: int = 50,
        record: str | None = None,
        person_id: int | None = None,
    ) -> AuditPage:
        query = (
            select(DeskAuditRow, PersonRow.name)
            .outerjoin(PersonRow, PersonRow.id == DeskAuditRow.person_id)
            .order_by(DeskAuditRow.id.desc())
            .limit(limit + 1)
        )
        if before is not None:
            query = query.where(DeskAuditRow.id < before)
        if record:
            query = query.where(DeskAuditRow.record == record)
        if person_id is not None:
            query = query.where(DeskAuditRow.person_id == person_id)
        rows = list(await self._session.execute(query))
        entries = [
            AuditEntry(
                id=row.id,
                at=row.at,
                person_name=name or "系统",
                action=row.action,
                record=row.record,
                fields=tuple(row.fields or ()),
                source=row.source,
                reason=row.reason,
            )
            for row, name in rows[:limit]
        ]
        return AuditPage(entries, entries[-1].id if len(rows) > limit else None)

    # ------------------------------------------------------------------ recorded reports (代录)

    async def resident_by_phone(self, phone: str) -> Resident | None:
        """The resident with this phone; one who uses the bot first."""
        row = await self._session.scalar(
            select(ResidentRow)
            .where(ResidentRow.phone == phone)
            .order_by((ResidentRow.chat_id > _REAL_CHATS_ABOVE).desc(), ResidentRow.id)
            .limit(1)
        )
        return resident_from_row(row) if row else None

    async def mark_offline(self, chat_id: int, now: datetime) -> None:
        """Nothing is ever sent to a desk-only resident's chat id (the outbox skips unreachable chats)."""
        stmt = insert_for(self._session, UnreachableChatRow.__table__).values(
            chat_id=chat_id, since=now, reason="recorded at the desk: no chat"
        )
        await self._session.execute(stmt.on_conflict_do_nothing(index_elements=["chat_id"]))

    async def add_recorded(
        self, order_id: int, recorded_by: int, at: datetime, channel: str, address: str
    ) -> None:
        self._session.add(
            DeskRecordedReportRow(
                order_id=order_id, recorded_by=recorded_by, recorded_at=at, channel=channel, address=address
            )
        )
        await self._session.flush()

    async def recorded(self, order_id: int) -> RecordedBy | None:
        found = (
            await self._session.execute(
                select(DeskRecordedReportRow, PersonRow.name)
                .join(PersonRow, PersonRow.id == DeskRecordedReportRow.recorded_by)
                .where(DeskRecordedReportRow.order_id == order_id)
            )
        ).first()
        if found is None:
            return None
        row, name = found
        return RecordedBy(name, row.recorded_at, row.channel, row.address)
