"""In-memory broadcasts, runs, deliveries and opt-outs."""

from __future__ import annotations

import copy
from collections.abc import Collection
from datetime import datetime
from typing import Any

from handlers.broadcasts.model import (
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastStatus,
    Campaign,
    FinishedRun,
    RunCounts,
    Topic,
)
from handlers.community.model import Role
from tests.fakes.store import FakeBroadcastState, FakeStore


class FakeBroadcasts:
    def __init__(self, store: FakeStore) -> None:
        self.s = store
        if not hasattr(store, "broadcast_state"):
            store.broadcast_state = FakeBroadcastState()  # type: ignore[attr-defined]
        self.b: FakeBroadcastState = store.broadcast_state  # type: ignore[attr-defined]

    async def add(self, broadcast: Broadcast) -> Broadcast:
        broadcast.id = self.b.new_id()
        self.b.broadcasts[broadcast.id] = copy.deepcopy(broadcast)
        return broadcast

    async def get(self, broadcast_id: int) -> Broadcast | None:
        found = self.b.broadcasts.get(broadcast_id)
        return copy.deepcopy(found) if found else None

    async def save(self, broadcast: Broadcast) -> None:
        assert broadcast.id in self.b.broadcasts
        self.b.broadcasts[broadcast.id] = copy.deepcopy(broadcast)

    async def recent(self, limit: int = 20) -> list[Broadcast]:
        return [copy.deepcopy(b) for _, b in sorted(self.b.broadcasts.items(), reverse=True)][:limit]

    async def claim_due(self, now: datetime, limit: int = 10) -> list[Broadcast]:
        due = [
            b
            for b in self.b.broadcasts.values()
            if b.status is BroadcastStatus.APPROVED and b.next_run_at is not None and b.next_run_at <= now
        ]
        due.sort(key=lambda b: (not b.emergency, b.next_run_at))
        return [copy.deepcopy(b) for b in due[:limit]]

    async def audience_chats(self, audience: Audience) -> list[int]:
        if audience.kind is AudienceKind.ROLES:
            roles = {Role(k) for k in audience.keys}
            return sorted({p.chat_id for p in self.s.people.values() if roles & p.roles})
        if audience.kind is AudienceKind.LEDGER:
            wanted_kinds = set(audience.keys)
            return sorted(
                self.s.residents[e.resident_id].chat_id
                for e in self.s.ledger.values()
                if e.active and wanted_kinds.intersection(k.value for k in e.kinds)
            )
        keys = set(audience.int_keys())

        def wanted(building_id: int | None) -> bool:
            if audience.kind is AudienceKind.ALL:
                return True
            if building_id is None:
                return False
            if audience.kind is AudienceKind.BUILDINGS:
                return building_id in keys
            if audience.kind is AudienceKind.COMPOUNDS:
                return self.s.buildings[building_id].compound_id in keys
            return self.s.building_grid.get(building_id) in keys

        return sorted(
            {r.chat_id for r in self.s.residents.values() if r.has_consented and wanted(r.building_id)}
        )

    async def opted_out(self, topic: Topic, chat_ids: Collection[int]) -> set[int]:
        return {c for c in chat_ids if (c, topic) in self.b.opt_outs}

    async def add_run(self, broadcast: Broadcast, fire_at: datetime, chat_ids: list[int]) -> int | None:
        if any(r["broadcast_id"] == broadcast.id and r["fire_at"] == fire_at for r in self.b.runs.values()):
            return None
        run_id = self.b.new_id()
        self.b.runs[run_id] = {
            "broadcast_id": broadcast.id,
            "fire_at": fire_at,
            "text": broadcast.text,
            "state": "sending",
        }
        for chat in dict.fromkeys(chat_ids):
            self.b.deliveries[self.b.new_id()] = {
                "run_id": run_id,
                "chat_id": chat,
                "priority": broadcast.priority,
                "status": "pending",
            }
        return run_id

    def _of(self, broadcast_id: int) -> list[dict[str, Any]]:
        runs = {i for i, r in self.b.runs.items() if r["broadcast_id"] == broadcast_id}
        return [d for d in self.b.deliveries.values() if d["run_id"] in runs]

    async def cancel_pending(self, broadcast_id: int) -> int:
        dropped = [d for d in self._of(broadcast_id) if d["status"] == "pending"]
        for d in dropped:
            d["status"] = "cancelled"
        return len(dropped)

    @staticmethod
    def _counts(rows: list[dict[str, Any]]) -> RunCounts:
        by: dict[str, int] = {}
        for d in rows:
            by[d["status"]] = by.get(d["status"], 0) + 1
        return RunCounts(
            total=len(rows),
            pending=by.get("pending", 0) + by.get("sending", 0),
            sent=by.get("sent", 0),
            failed=by.get("failed", 0),
            unreachable=by.get("unreachable", 0),
            cancelled=by.get("cancelled", 0),
        )

    async def counts(self, broadcast_id: int) -> RunCounts:
        return self._counts(self._of(broadcast_id))

    async def finished_runs(self, limit: int = 20) -> list[FinishedRun]:
        found = []
        for run_id, run in sorted(self.b.runs.items()):
            rows = [d for d in self.b.deliveries.values() if d["run_id"] == run_id]
            if run["state"] != "sending" or any(d["status"] in ("pending", "sending") for d in rows):
                continue
            run["state"] = "done"
            b = self.b.broadcasts[run["broadcast_id"]]
            people = {b.created_by, b.approved_by}
            chats = tuple(sorted({p.chat_id for p in self.s.people.values() if p.id in people}))
            found.append(FinishedRun(run_id, run["broadcast_id"], b.title, chats, self._counts(rows)))
        return found[:limit]

    async def topics_off(self, chat_id: int) -> set[Topic]:
        return {t for c, t in self.b.opt_outs if c == chat_id}

    async def set_topic(self, chat_id: int, topic: Topic, on: bool) -> None:
        if on:
            self.b.opt_outs.discard((chat_id, topic))
        else:
            self.b.opt_outs.add((chat_id, topic))

    async def campaign(self, key: str) -> Campaign | None:
        return self.b.campaigns.get(key)

    async def campaigns(self) -> list[Campaign]:
        return [self.b.campaigns[k] for k in sorted(self.b.campaigns)]

    async def save_campaign(self, campaign: Campaign) -> None:
        self.b.campaigns[campaign.key] = campaign
