"""In-memory personal data as a whole: what /mydata lists and /deletedata erases (storage/repositories/
privacy.py on SQL). Everything in the fakes' outbox is still to be sent, so erasing drops what concerns
the resident instead of redacting it."""

from __future__ import annotations

from dataclasses import replace

from handlers.community.model import Resident, erased_chat_id
from handlers.ports import Erased, HeldData
from tests.fakes.store import FakeStore

_KEPT_NOTES = {"created", "assigned", "transferred", "rated", "recategorised", "escalated", "reminded"}
_THEIR_WORDS = {"resident_replied", "joined"}


class FakePersonalData:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    def _own(self, rid: int) -> list[int]:
        return [i for i, o in self.s.orders.items() if o.resident_id == rid]

    def _joined(self, rid: int) -> list[int]:
        return [i for i, o in self.s.orders.items() if rid in o.followers]

    def _theirs(self, rid: int, kind: str, actor_kind: str, actor_id: int | None) -> bool:
        return actor_kind == "resident" and actor_id == rid and kind in _THEIR_WORDS

    async def held(self, resident: Resident) -> HeldData:
        assert resident.id is not None
        rid = resident.id
        own, joined = self._own(rid), self._joined(rid)
        notes = sum(
            1
            for order_id in [*own, *joined]
            for e in self.s.events.get(order_id, [])
            if self._theirs(rid, e.kind.value, e.actor.kind, e.actor.id)
        )
        return HeldData(
            orders=len(own),
            open_orders=tuple(self.s.orders[i].number for i in own if self.s.orders[i].is_open),
            joined=len(joined),
            notes=notes,
            checkins=sum(1 for c in self.s.checkins.values() if c.resident_id == rid),
            messages=sum(1 for r in self.s.outbox if r.chat_id == resident.chat_id),
            updates=0,
            labels=sum(1 for lb in self.s.labels if lb.resident_id == rid),
        )

    async def erase(self, resident: Resident, placeholder: str) -> Erased:
        assert resident.id is not None
        s, rid, chat = self.s, resident.id, resident.chat_id
        own, joined = self._own(rid), self._joined(rid)
        notes = 0
        for order_id in [*own, *joined]:
            kept = []
            for e in s.events.get(order_id, []):
                mine = order_id in own and e.kind.value not in _KEPT_NOTES
                if e.note and (mine or self._theirs(rid, e.kind.value, e.actor.kind, e.actor.id)):
                    e = replace(e, note="")
                    notes += 1
                kept.append(e)
            s.events[order_id] = kept
        for order_id in own:
            order = s.orders[order_id]
            order.text, order.resolution_note, order.photos, order.green_channel = placeholder, "", [], ""
            order.location = replace(order.location, unit=None, room=None)
        for order_id in joined:
            s.orders[order_id].followers = [f for f in s.orders[order_id].followers if f != rid]
        before = len(s.ledger) + len(s.checkins) + len(s.conversations) + len(s.links) + len(s.outbox)
        before += len(s.labels)
        s.labels = [lb for lb in s.labels if lb.resident_id != rid and lb.order_id not in own]
        s.ledger.pop(rid, None)
        s.checkins = {i: c for i, c in s.checkins.items() if c.resident_id != rid}
        s.conversations.pop(chat, None)
        s.links = {k: v for k, v in s.links.items() if k[0] != chat}
        words = [w for w in (resident.name if len(resident.name) >= 2 else "", resident.phone or "") if w]
        s.outbox = [
            r
            for r in s.outbox
            if r.chat_id != chat and r.order_id not in own and not any(w in r.text for w in words)
        ]
        records = before - (
            len(s.ledger) + len(s.checkins) + len(s.conversations) + len(s.links) + len(s.outbox)
        )
        records -= len(s.labels)
        state = getattr(s, "broadcast_state", None)
        if state is not None:
            state.opt_outs = {(c, t) for c, t in state.opt_outs if c != chat}
            state.deliveries = {i: d for i, d in state.deliveries.items() if d["chat_id"] != chat}
        s.residents[rid] = Resident(rid, erased_chat_id(rid), placeholder)
        return Erased(orders=len(own), notes=notes, records=records)
