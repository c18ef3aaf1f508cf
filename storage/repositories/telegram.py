"""The Telegram update journal; a chat that writes to us again is taken off the list of those that refused
our messages (storage/queues/leases.py marks them).

The journal is what makes "nothing lost" hold: an update is written here (and committed) before the
polling offset moves past it or the webhook request is answered, and it is marked handled only after the
core committed its effects. Rows without `handled_at` are replayed at start-up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    JSON,
    BigInteger,
    Table,
    any_,
    bindparam,
    delete,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from handlers.ports import Clock
from storage.direct import DirectConnection
from storage.direct.plans import tell
from storage.models import TelegramUpdateRow, UnreachableChatRow
from storage.upsert import INSERTS


@dataclass(frozen=True)
class JournaledUpdate:
    update_id: int
    payload: dict[str, Any]


def _record(insert: Any) -> Any:
    table = cast(Table, TelegramUpdateRow.__table__)
    return (
        insert(table)
        .values(
            update_id=bindparam("p_id", type_=table.c.update_id.type),
            payload=bindparam("p_payload", type_=table.c.payload.type),
            received_at=bindparam("p_at", type_=table.c.received_at.type),
        )
        .on_conflict_do_nothing()
        .returning(table.c.update_id)
    )


_RECORD = {name: _record(insert) for name, insert in INSERTS.items()}
_UPDATES = cast(Table, TelegramUpdateRow.__table__)
_UNREACHABLE = cast(Table, UnreachableChatRow.__table__)


def _record_arrays() -> Any:
    """PostgreSQL: a round's updates and the chats seen in it, written by one statement (parameters p_ids,
    p_payloads, p_at, p_chats). Run in autocommit it is its own transaction: one round trip where BEGIN,
    INSERT, DELETE and COMMIT were four on the path of every webhook request. The DELETE is a
    data-modifying CTE: PostgreSQL runs it exactly once, referenced or not."""
    cleared = (
        delete(_UNREACHABLE)
        .where(_UNREACHABLE.c.chat_id == any_(bindparam("p_chats", type_=ARRAY(BigInteger))))
        .cte("cleared")
    )
    arrived = (
        func.unnest(
            bindparam("p_ids", type_=ARRAY(BigInteger)),
            bindparam("p_payloads", type_=ARRAY(JSON)),
        )
        .table_valued("update_id", "payload")
        .render_derived("arrived")
    )
    at = bindparam("p_at", type_=_UPDATES.c.received_at.type)
    # failures written out: a column default of the table would be a parameter SQLAlchemy fills per run
    chosen = select(arrived.c.update_id, arrived.c.payload, at, literal_column("0"))
    return (
        postgresql.insert(_UPDATES)
        .from_select(["update_id", "payload", "received_at", "failures"], chosen)
        .on_conflict_do_nothing()
        .returning(_UPDATES.c.update_id)
        .add_cte(cleared)
    )


_RECORD_ARRAYS = _record_arrays()
# PostgreSQL: handled marks in one statement (parameters p_ids, p_at), in autocommit like the record.
_MARK_ARRAYS = (
    update(_UPDATES)
    .where(_UPDATES.c.update_id == any_(bindparam("p_ids", type_=ARRAY(BigInteger))))
    .values(handled_at=bindparam("p_at", type_=_UPDATES.c.handled_at.type))
)


class SqlUpdateJournal:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._session_factory = session_factory
        self._clock = clock
        engine = session_factory.kw.get("bind")
        # PostgreSQL: the journal's writes are single statements run in autocommit (storage/direct).
        self._direct: DirectConnection | None = None
        if isinstance(engine, AsyncEngine) and engine.dialect.driver == "asyncpg":
            self._direct = DirectConnection(engine)

    async def record(
        self, updates: Iterable[JournaledUpdate], seen_chats: Iterable[int] = ()
    ) -> list[JournaledUpdate]:
        """Durably store `updates`; return those never stored before (a redelivery returns nothing).

        `seen_chats` wrote to us, so they can be reached again: their unreachable mark is lifted in the
        same transaction.
        """
        items = list(updates)
        fresh: list[JournaledUpdate] = []
        now = self._clock.now()
        if self._direct is not None:
            params = {
                "p_ids": [item.update_id for item in items],
                "p_payloads": [item.payload for item in items],
                "p_at": now,
                "p_chats": sorted(set(seen_chats)),
            }
            async with self._direct.autocommit() as direct:
                stored = {int(update_id) for update_id in await direct.scalars(_RECORD_ARRAYS, params)}
            tell("COMMIT")  # what counts commits counts this one-statement transaction too
            return [item for item in items if item.update_id in stored]
        async with self._session_factory() as session, session.begin():
            if items:
                # All of a fetch's updates in one execution of a statement built once (a batch is up to
                # a hundred updates under load); those already journaled come back without their id.
                rows = [{"p_id": item.update_id, "p_payload": item.payload, "p_at": now} for item in items]
                result = await session.execute(_RECORD[session.get_bind().dialect.name], rows)
                stored = {int(update_id) for update_id in result.scalars()}
                fresh = [item for item in items if item.update_id in stored]
            chats = sorted(set(seen_chats))
            if chats:
                await session.execute(delete(UnreachableChatRow).where(UnreachableChatRow.chat_id.in_(chats)))
        return fresh

    async def unhandled(self, limit: int = 1000, older_than: float = 0.0) -> list[JournaledUpdate]:
        """Updates recorded but not handled yet (a crash or a failure), oldest first; with `older_than`,
        only those received at least that many seconds ago."""
        query = select(TelegramUpdateRow).where(TelegramUpdateRow.handled_at.is_(None))
        if older_than > 0:
            cutoff = self._clock.now() - timedelta(seconds=older_than)
            query = query.where(TelegramUpdateRow.received_at < cutoff)
        async with self._session_factory() as session:
            rows = await session.scalars(query.order_by(TelegramUpdateRow.update_id).limit(limit))
            return [JournaledUpdate(row.update_id, dict(row.payload)) for row in rows]

    async def mark_handled(self, update_id: int) -> None:
        await self.mark_handled_many([update_id])

    async def mark_handled_many(self, update_ids: list[int]) -> None:
        """Mark several updates handled in one transaction."""
        if self._direct is not None:
            async with self._direct.autocommit() as direct:
                await direct.execute(_MARK_ARRAYS, {"p_ids": update_ids, "p_at": self._clock.now()})
            tell("COMMIT")
            return
        async with self._session_factory() as session, session.begin():
            await session.execute(
                update(TelegramUpdateRow)
                .where(TelegramUpdateRow.update_id.in_(update_ids))
                .values(handled_at=self._clock.now())
            )

    async def mark_failed(self, update_id: int, give_up_after: int) -> bool:
        """Count a failed handling; True when this was the last try and the update is given up."""
        async with self._session_factory() as session, session.begin():
            row = await session.get(TelegramUpdateRow, update_id)
            if row is None or row.handled_at is not None:
                return False
            row.failures += 1
            if row.failures < give_up_after:
                return False
            # A poison update (one the core cannot handle) would otherwise be replayed at every start and
            # every adoption round, forever: stop, and say so in the log.
            row.handled_at = self._clock.now()
            return True

    async def prune(self, older_than: timedelta = timedelta(days=7)) -> int:
        """Forget handled updates after a while: they carry personal data and are no longer needed."""
        cutoff = self._clock.now() - older_than
        async with self._session_factory() as session, session.begin():
            result = await session.execute(
                delete(TelegramUpdateRow).where(
                    TelegramUpdateRow.handled_at.is_not(None), TelegramUpdateRow.handled_at < cutoff
                )
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]  # CursorResult has rowcount
