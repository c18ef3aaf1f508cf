"""Broadcast use cases shared by the chat commands, the CLI and the scheduler ticks.

Each function works inside the caller's unit of work, except the tick jobs (`plan_due`,
`notify_finished`) which own their transactions. A run is expanded into its delivery rows in the same
transaction that moves the broadcast to its next fire time, so a crash either planned it or did not.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from handlers.broadcasts import texts as bt
from handlers.broadcasts.model import (
    Broadcast,
    BroadcastRefused,
    BroadcastStatus,
    Preview,
    ScheduleKind,
    Topic,
)
from handlers.broadcasts.requests import BroadcastRequest, parse_audience, parse_schedule, parse_topic
from handlers.broadcasts.schedules import next_fire, upcoming
from handlers.messages import Reply
from handlers.ports import Clock, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

MAX_TEXT = 3500  # below Telegram's 4096 characters, leaving room for the heading and footer


def render(broadcast: Broadcast) -> str:
    """The message residents receive."""
    if broadcast.emergency:
        return bt.emergency_message(broadcast.title, broadcast.text)
    return bt.campaign_message(broadcast.topic.label, broadcast.title, broadcast.text)


async def create(
    uow: UnitOfWork,
    clock: Clock,
    request: BroadcastRequest,
    created_by: int | None,
    timezone: str = "Asia/Shanghai",
) -> Broadcast:
    """Write a draft from a library campaign or from staff's own text; nothing is sent before approval."""
    campaign = None
    if request.campaign:
        campaign = await uow.broadcasts.campaign(request.campaign)
        if campaign is None:
            raise BroadcastRefused("unknown_campaign", request.campaign)
    text = (request.text or (campaign.text if campaign else "")).strip()
    if not text:
        raise BroadcastRefused("empty_text")
    if len(text) > MAX_TEXT:
        raise BroadcastRefused("text_too_long", str(len(text)))
    title = (request.title or (campaign.title if campaign else text.splitlines()[0]))[:60]
    if request.emergency:
        topic = Topic.EMERGENCY
    else:
        topic = parse_topic(request.topic, campaign.topic if campaign else Topic.ACTIVITY)
        if topic is Topic.EMERGENCY:
            raise BroadcastRefused("bad_topic", "emergency alerts go through /alert")
    audience = (
        await parse_audience(uow, request.audience)
        if request.audience or campaign is None or campaign.audience is None
        else campaign.audience
    )
    schedule = parse_schedule(request, campaign.schedule if campaign else None, timezone)
    broadcast = Broadcast(
        id=None,
        title=title,
        text=text,
        topic=topic,
        audience=audience,
        schedule=schedule,
        emergency=request.emergency,
        created_by=created_by,
        campaign_key=campaign.key if campaign else None,
        created_at=clock.now(),
    )
    return await uow.broadcasts.add(broadcast)


async def recipients(uow: UnitOfWork, broadcast: Broadcast) -> tuple[list[int], int]:
    """(chats to send to, how many of the audience opted out of this topic)."""
    chats = await uow.broadcasts.audience_chats(broadcast.audience)
    if not broadcast.respects_opt_out:
        return chats, 0
    out = await uow.broadcasts.opted_out(broadcast.topic, chats)
    return [c for c in chats if c not in out], len(out)


async def preview(uow: UnitOfWork, clock: Clock, broadcast: Broadcast) -> Preview:
    chats, opted_out = await recipients(uow, broadcast)
    now = clock.now()
    if broadcast.status in (BroadcastStatus.APPROVED, BroadcastStatus.PAUSED) and broadcast.next_run_at:
        times = [broadcast.next_run_at, *upcoming(broadcast.schedule, broadcast.next_run_at, 2)]
    elif broadcast.schedule.kind is ScheduleKind.ONCE and broadcast.schedule.at is None:
        times = []  # "as soon as approved"
    elif broadcast.status is BroadcastStatus.DRAFT:
        times = upcoming(broadcast.schedule, now, 3)
    else:
        times = []
    return Preview(broadcast, render(broadcast), len(chats), opted_out, tuple(times))


async def get(uow: UnitOfWork, broadcast_id: int) -> Broadcast:
    broadcast = await uow.broadcasts.get(broadcast_id)
    if broadcast is None:
        raise BroadcastRefused("not_found", str(broadcast_id))
    return broadcast


async def approve(uow: UnitOfWork, clock: Clock, broadcast_id: int, by: int | None) -> Broadcast:
    """Schedule a draft: its first fire time is computed now (a one-off without a time fires at once)."""
    broadcast = await get(uow, broadcast_id)
    now = clock.now()
    if broadcast.schedule.kind is ScheduleKind.ONCE and broadcast.schedule.at is None:
        broadcast.schedule = replace(broadcast.schedule, at=now)
        first: datetime | None = now
    else:
        first = next_fire(broadcast.schedule, now)
    if first is None:
        raise BroadcastRefused("no_fire_time")
    broadcast.move(BroadcastStatus.APPROVED)
    broadcast.approved_by, broadcast.next_run_at = by, first
    await uow.broadcasts.save(broadcast)
    log.info("broadcast %s approved, first run %s", broadcast.id, first.isoformat())
    return broadcast


async def pause(uow: UnitOfWork, broadcast_id: int) -> Broadcast:
    broadcast = await get(uow, broadcast_id)
    broadcast.move(BroadcastStatus.PAUSED)
    await uow.broadcasts.save(broadcast)
    return broadcast


async def resume(uow: UnitOfWork, clock: Clock, broadcast_id: int) -> Broadcast:
    """Back to approved; fire times missed while paused are skipped, not caught up."""
    broadcast = await get(uow, broadcast_id)
    broadcast.move(BroadcastStatus.APPROVED)
    now = clock.now()
    if broadcast.next_run_at is not None and broadcast.next_run_at < now:
        nxt = next_fire(broadcast.schedule, now)
        if nxt is None and broadcast.schedule.kind is ScheduleKind.ONCE:
            nxt = now  # a paused one-off that never ran still goes out
        broadcast.next_run_at = nxt
        if nxt is None:
            broadcast.move(BroadcastStatus.FINISHED)
    await uow.broadcasts.save(broadcast)
    return broadcast


async def cancel(uow: UnitOfWork, broadcast_id: int) -> tuple[Broadcast, int]:
    """Stop for good; messages not yet handed to a sender are dropped (returns how many)."""
    broadcast = await get(uow, broadcast_id)
    broadcast.move(BroadcastStatus.CANCELLED)
    broadcast.next_run_at = None
    await uow.broadcasts.save(broadcast)
    dropped = await uow.broadcasts.cancel_pending(broadcast_id)
    return broadcast, dropped


async def expand(uow: UnitOfWork, clock: Clock, broadcast: Broadcast) -> int | None:
    """Plan the due run: one delivery row per recipient, and move the broadcast to its next fire time."""
    fire_at = broadcast.next_run_at
    assert fire_at is not None
    assert broadcast.id is not None
    chats, opted_out = await recipients(uow, broadcast)
    run_id = await uow.broadcasts.add_run(replace(broadcast, text=render(broadcast)), fire_at, chats)
    # The next fire time counts from now, not from fire_at: runs missed while down are not replayed.
    broadcast.next_run_at = next_fire(broadcast.schedule, max(clock.now(), fire_at))
    if broadcast.next_run_at is None:
        broadcast.move(BroadcastStatus.FINISHED)
    await uow.broadcasts.save(broadcast)
    log.info(
        "broadcast %s: run %s planned for %d recipients (%d opted out)",
        broadcast.id,
        run_id,
        len(chats),
        opted_out,
    )
    return run_id


async def plan_due(uow_factory: UnitOfWorkFactory, clock: Clock, limit: int = 10) -> int:
    """Tick job: expand every due broadcast, one transaction each; returns the runs planned."""
    planned = 0
    while True:
        async with uow_factory() as uow:
            due = await uow.broadcasts.claim_due(clock.now(), limit=1)
            if not due:
                return planned
            if await expand(uow, clock, due[0]) is not None:
                planned += 1
            await uow.commit()
        if planned >= limit:
            return planned


async def notify_finished(uow_factory: UnitOfWorkFactory) -> int:
    """Tick job: tell the staff who created and approved a broadcast how its finished run went."""
    async with uow_factory() as uow:
        finished = await uow.broadcasts.finished_runs()
        for run in finished:
            for chat in run.notify_chats:
                await uow.outbox.put(Reply(chat, bt.run_summary(run)))
        await uow.commit()
        return len(finished)
