"""Turn what staff typed (chat command options or CLI flags) into an audience and a schedule."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from handlers.broadcasts.model import (
    ALL_RESIDENTS,
    Audience,
    AudienceKind,
    BroadcastRefused,
    Schedule,
    ScheduleKind,
    Topic,
)
from handlers.broadcasts.schedules import validate
from handlers.care.model import Vulnerability, parse_kinds
from handlers.community.model import ROLE_LABELS, Role
from handlers.ports import UnitOfWork

_ALL_WORDS = {"", "all", "全体", "全体居民", "所有居民", "全部"}
_BUILDING_RE = re.compile(r"^(?P<compound>.+?)(?P<number>\d+)\s*(?:号楼|号|栋|幢)$")
_SEPARATORS = re.compile(r"[,，、;；]+")


@dataclass(frozen=True)
class BroadcastRequest:
    """A broadcast as staff asked for it, still in their words."""

    campaign: str | None = None
    text: str | None = None
    title: str | None = None
    topic: str | None = None
    audience: str | None = None
    at: str | None = None
    cron: str | None = None
    season: str | None = None
    until: str | None = None
    emergency: bool = False


async def parse_audience(uow: UnitOfWork, words: str | None) -> Audience:
    """全体 / 兴泰小区 / 兴泰小区5号楼 / 第一网格 / 网格员 / 台账:独居老人; several of one kind with 、or ,."""
    text = (words or "").strip()
    if text.lower() in _ALL_WORDS:
        return ALL_RESIDENTS
    parts = [p.strip() for p in _SEPARATORS.split(text) if p.strip()]
    if text.startswith(("台账:", "台账：", "ledger:")):
        # Ledger groups by kind (独居老人、残疾人…); only residents whose consent is recorded are reached.
        groups = [p for p in re.split(r"[:：,，、]", text)[1:] if p]
        ledger_kinds = parse_kinds(",".join(groups)) if groups else frozenset(Vulnerability)
        if ledger_kinds is None:
            raise BroadcastRefused("bad_audience", "unknown ledger group")
        ordered = [k for k in Vulnerability if k in ledger_kinds]
        return Audience(
            AudienceKind.LEDGER,
            tuple(k.value for k in ordered),
            f"台账：{'、'.join(k.label for k in ordered)}",
        )
    found: list[tuple[AudienceKind, str, str]] = [await _one(uow, part) for part in parts]
    kinds = {kind for kind, _, _ in found}
    if len(kinds) != 1:
        raise BroadcastRefused("bad_audience", "mixed audience kinds")
    return Audience(kinds.pop(), tuple(key for _, key, _ in found), "、".join(label for _, _, label in found))


async def _one(uow: UnitOfWork, word: str) -> tuple[AudienceKind, str, str]:
    by_label = {label: role for role, label in ROLE_LABELS.items()}
    role = by_label.get(word) or next((r for r in Role if r.value == word.removeprefix("role:")), None)
    if role is not None:
        return AudienceKind.ROLES, role.value, role.label
    for grid in await uow.community.grids():
        if grid.name == word:
            return AudienceKind.GRIDS, str(grid.id), grid.name
    compound = await uow.community.compound_by_name(word)
    if compound is not None:
        return AudienceKind.COMPOUNDS, str(compound.id), compound.name
    match = _BUILDING_RE.match(word)
    if match:
        compound = await uow.community.compound_by_name(match["compound"].strip())
        if compound is not None:
            building = await uow.community.find_building(compound.id, match["number"])
            if building is not None:
                return AudienceKind.BUILDINGS, str(building.id), building.label
    raise BroadcastRefused("bad_audience", word)


def parse_topic(value: str | None, default: Topic = Topic.ACTIVITY) -> Topic:
    if not value:
        return default
    for topic in Topic:
        if value in (topic.value, topic.label):
            return topic
    raise BroadcastRefused("bad_topic", value)


def _local_time(value: str, zone: ZoneInfo) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("_", " ").replace("T", " "))
    except ValueError as error:
        raise BroadcastRefused("bad_schedule", f"time {value!r}") from error
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def parse_schedule(request: BroadcastRequest, default: Schedule | None, timezone: str) -> Schedule:
    """at → once; cron (+ season, until) → recurring; nothing → the campaign's default, else "on approval"."""
    zone = ZoneInfo(timezone)
    if request.at and request.cron:
        raise BroadcastRefused("bad_schedule", "either a time or a crontab, not both")
    if request.at:
        schedule = Schedule(ScheduleKind.ONCE, at=_local_time(request.at, zone), timezone=timezone)
    elif request.cron:
        season = None
        if request.season:
            bounds = re.split(r"\.\.|~|到|至", request.season)
            if len(bounds) != 2:
                raise BroadcastRefused("bad_schedule", f"season {request.season!r}")
            season = (bounds[0].strip(), bounds[1].strip())
        until = _local_time(request.until, zone) if request.until else None
        schedule = Schedule(
            ScheduleKind.CRON, cron=request.cron.strip(), season=season, until=until, timezone=timezone
        )
    elif default is not None:
        schedule = default
    else:
        return Schedule(ScheduleKind.ONCE, at=None, timezone=timezone)  # sent as soon as it is approved
    validate(schedule)
    return schedule
