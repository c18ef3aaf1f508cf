"""A resident's data as a whole, on SQL: what /mydata lists and what /deletedata removes.

Deleting keeps the resident's work orders as anonymous statistics (category, compound and building, state,
times, satisfaction) and removes or redacts everything else that is theirs or quotes them: the ledger
entry, check-ins, topic settings, broadcast deliveries, conversation, message links, journaled updates,
messages to their chat; their words in orders, order histories ("me too" texts, relayed replies), in the
classifier's labelled examples and in messages sent to others about them. Their record stays as an anonymous row under a chat id no Telegram
chat can have (handlers/community/model.py), because the orders point at it.

Only the dedupe keys of handled updates (inbound_seen) are kept: they hold no text, and without them a
redelivered update would be handled a second time.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, cast, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.community.model import Resident, erased_chat_id
from handlers.ports import Clock, Erased, HeldData
from storage.bulk import chunks
from storage.models import (
    BroadcastDeliveryRow,
    BroadcastOptOutRow,
    CheckinRow,
    ClassificationLabelRow,
    ConversationRow,
    DeskRecordedReportRow,
    FollowupRow,
    LedgerEntryRow,
    MessageLinkRow,
    OrderEventRow,
    OutboxRow,
    ResidentRow,
    TelegramUpdateRow,
    UnreachableChatRow,
    WorkOrderRow,
)

# Event notes that are data, not words: the category, "person:12", a rating, "repair->sanitation",
# "level 2: 办结" (statistics read them). Every other kind's note is someone's free text.
KEPT_NOTES = ("created", "assigned", "transferred", "rated", "recategorised", "escalated", "reminded")
# Kinds whose note is the resident's own words when they are the actor.
_THEIR_WORDS = ("resident_replied", "joined")


async def redact_orders(
    session: AsyncSession, order_ids: Sequence[int], placeholder: str, now: datetime
) -> int:
    """Replace the free texts of these orders (the report, the resolution note, photos, free-text notes in
    their history, a recorded address, messages about them) by `placeholder` or nothing; mark them redacted
    at `now` (retention takes an order only once)."""
    await session.flush()  # changes made earlier in this unit of work go first
    notes = 0
    for chunk in chunks(order_ids):
        await session.execute(
            update(WorkOrderRow)
            .where(WorkOrderRow.id.in_(chunk))
            .values(text=placeholder, resolution_note="", photos=[], redacted_at=now)
        )
        result = await session.execute(
            update(OrderEventRow)
            .where(
                OrderEventRow.order_id.in_(chunk),
                OrderEventRow.kind.not_in(KEPT_NOTES),
                OrderEventRow.note != "",
            )
            .values(note="")
        )
        notes += _count(result)
        await session.execute(
            update(DeskRecordedReportRow).where(DeskRecordedReportRow.order_id.in_(chunk)).values(address="")
        )
        # The classifier's labelled examples quote the order's text: they go with it.
        await session.execute(
            delete(ClassificationLabelRow).where(ClassificationLabelRow.order_id.in_(chunk))
        )
        await _forget_messages(session, OutboxRow.order_id.in_(chunk), placeholder)
    return notes


async def _forget_messages(session: AsyncSession, where: ColumnElement[bool], placeholder: str) -> int:
    """Messages matching `where`: not sent yet, they are dropped; sent (or being sent), redacted."""
    dropped = await session.execute(delete(OutboxRow).where(where, OutboxRow.status == "pending"))
    rows = (await session.scalars(select(OutboxRow).where(where))).all()
    for row in rows:
        row.payload = {**row.payload, "text": placeholder, "photo": None, "buttons": []}
    await session.flush()
    return _count(dropped) + len(rows)


class SqlPersonalDataRepository:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def held(self, resident: Resident) -> HeldData:
        assert resident.id is not None
        session = self._session
        own = (await session.execute(_own_orders(resident.id))).all()
        joined = await self._joined(resident.id)
        notes = await session.scalar(
            select(func.count())
            .select_from(OrderEventRow)
            .where(_their_words(resident.id, [o.id for o in own], joined))
        )
        checkins = await session.scalar(
            select(func.count()).select_from(CheckinRow).where(CheckinRow.resident_id == resident.id)
        )
        messages = await session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.chat_id == resident.chat_id)
        )
        labels = await session.scalar(
            select(func.count())
            .select_from(ClassificationLabelRow)
            .where(ClassificationLabelRow.resident_id == resident.id)
        )
        return HeldData(
            orders=len(own),
            open_orders=tuple(o.number for o in own if o.state not in ("closed", "cancelled")),
            joined=len(joined),
            notes=int(notes or 0),
            checkins=int(checkins or 0),
            messages=int(messages or 0),
            updates=len(await self._journaled(resident.chat_id)),
            labels=int(labels or 0),
        )

    async def erase(self, resident: Resident, placeholder: str) -> Erased:
        assert resident.id is not None
        session, rid, chat = self._session, resident.id, resident.chat_id
        own = [row.id for row in (await session.execute(_own_orders(rid))).all()]
        joined = await self._joined(rid)
        await session.flush()
        words = await session.execute(
            update(OrderEventRow)
            .where(_their_words(rid, own, joined), OrderEventRow.note != "")
            .values(note="")
        )
        notes = _count(words) + await redact_orders(session, own, placeholder, self._clock.now())
        for chunk in chunks(own):  # the household is more than the statistics need: the building stays
            await session.execute(
                update(WorkOrderRow)
                .where(WorkOrderRow.id.in_(chunk))
                .values(unit=None, room=None, green_channel="")
            )
        for order_id in joined:
            followed = await session.get(WorkOrderRow, order_id)
            if followed is not None:
                followed.followers = [f for f in followed.followers if f != rid]
        records = await self._delete_theirs(rid, chat)
        for chunk in chunks(own):  # nobody is to phone them about an unrated order (回访) any more
            records += _count(
                await session.execute(
                    delete(FollowupRow).where(FollowupRow.order_id.in_(chunk), FollowupRow.done_at.is_(None))
                )
            )
        records += await _forget_messages(session, await self._mentions(resident), placeholder)
        record = await session.get(ResidentRow, rid)
        assert record is not None
        record.chat_id, record.name, record.phone = erased_chat_id(rid), placeholder, None
        record.consented_at = record.building_id = record.unit = record.room = None
        record.phone_consent = record.checkin = False
        await session.flush()
        return Erased(orders=len(own), notes=notes, records=records)

    async def _delete_theirs(self, rid: int, chat: int) -> int:
        statements = [
            delete(LedgerEntryRow).where(LedgerEntryRow.resident_id == rid),
            delete(CheckinRow).where(CheckinRow.resident_id == rid),
            delete(BroadcastOptOutRow).where(BroadcastOptOutRow.chat_id == chat),
            delete(BroadcastDeliveryRow).where(BroadcastDeliveryRow.chat_id == chat),
            delete(ConversationRow).where(ConversationRow.chat_id == chat),
            delete(MessageLinkRow).where(MessageLinkRow.chat_id == chat),
            delete(OutboxRow).where(OutboxRow.chat_id == chat),
            delete(UnreachableChatRow).where(UnreachableChatRow.chat_id == chat),
            # Labelled examples of their words, from orders that are no longer theirs too (one they left
            # to a "me too" follower was labelled while it still held their text).
            delete(ClassificationLabelRow).where(ClassificationLabelRow.resident_id == rid),
        ]
        journaled = await self._journaled(chat)
        for chunk in chunks(journaled):
            statements.append(delete(TelegramUpdateRow).where(TelegramUpdateRow.update_id.in_(chunk)))
        deleted = 0
        for statement in statements:
            deleted += _count(await self._session.execute(statement))
        return deleted

    async def _joined(self, rid: int) -> list[int]:
        """Other residents' orders this resident joined: few orders have followers at all."""
        rows = await self._session.execute(
            select(WorkOrderRow.id, WorkOrderRow.followers).where(
                cast(WorkOrderRow.followers, Text).contains(str(rid), autoescape=True)
            )
        )
        return [order_id for order_id, followers in rows if rid in (followers or [])]

    async def _journaled(self, chat: int) -> list[int]:
        """Updates in the journal that came from this person or their chat."""
        rows = await self._session.execute(
            select(TelegramUpdateRow.update_id, TelegramUpdateRow.payload).where(
                cast(TelegramUpdateRow.payload, Text).contains(str(chat), autoescape=True)
            )
        )
        return [update_id for update_id, payload in rows if chat in _people_and_chats(payload)]

    async def _mentions(self, resident: Resident) -> ColumnElement[bool]:
        """Messages to others that name the resident or carry their phone (check-in alerts, ledger news)."""
        words = [w for w in (resident.name if len(resident.name) >= 2 else "", resident.phone or "") if w]
        if not words:
            return OutboxRow.id.in_([])
        candidates = or_(
            *(
                cast(OutboxRow.payload, Text).contains(form, autoescape=True)
                for w in words
                for form in _stored_forms(w)
            )
        )
        rows = await self._session.execute(select(OutboxRow.id, OutboxRow.payload).where(candidates))
        ids = [row_id for row_id, payload in rows if any(w in str(payload.get("text", "")) for w in words)]
        return OutboxRow.id.in_(ids)


def _own_orders(rid: int) -> Any:
    return select(WorkOrderRow.id, WorkOrderRow.number, WorkOrderRow.state).where(
        WorkOrderRow.resident_id == rid
    )


def _their_words(rid: int, own: Collection[int], joined: Collection[int]) -> ColumnElement[bool]:
    """Events on these orders where the resident spoke: their replies, their "me too" texts."""
    return and_(
        OrderEventRow.order_id.in_([*own, *joined]),
        OrderEventRow.actor_kind == "resident",
        OrderEventRow.actor_id == rid,
        OrderEventRow.kind.in_(_THEIR_WORDS),
    )


def _stored_forms(word: str) -> set[str]:
    # JSON columns are stored as text with non-ASCII escaped (json.dumps' default), or as written; the
    # backslashes of the escaped form match literally because `contains` is given an ESCAPE character.
    return {word, json.dumps(word)[1:-1]}


def _people_and_chats(payload: Any) -> set[int]:
    """Every user and chat id in a Telegram update ("from" and "chat" objects, at any depth)."""
    found: set[int] = set()
    stack: list[Any] = [payload]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if (
                    key in ("from", "chat", "user")
                    and isinstance(value, dict)
                    and isinstance(value.get("id"), int)
                ):
                    found.add(value["id"])
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
