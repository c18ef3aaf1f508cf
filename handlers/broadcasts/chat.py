"""Staff drive broadcasts from chat: /broadcast (list, campaigns, new, show, approve, pause, resume, cancel)
and /alert (an emergency notice to an area, sent at once after a confirm button).

Every command and every button press checks that the actor is staff, on the server, each time.
"""

from __future__ import annotations

import logging
import shlex
from typing import Any

from handlers import verbs
from handlers.broadcasts import planning
from handlers.broadcasts import texts as bt
from handlers.broadcasts.model import BroadcastRefused, BroadcastStatus
from handlers.broadcasts.requests import BroadcastRequest
from handlers.context import Context
from handlers.errors import NotAuthorised
from handlers.messages import Button
from handlers.verbs import Action, Verb

log = logging.getLogger(__name__)

# Option names staff may type (Chinese or English) -> BroadcastRequest field.
_OPTIONS = {
    "对象": "audience",
    "to": "audience",
    "时间": "at",
    "at": "at",
    "周期": "cron",
    "cron": "cron",
    "季节": "season",
    "season": "season",
    "截止": "until",
    "until": "until",
    "话题": "topic",
    "topic": "topic",
    "标题": "title",
    "title": "title",
}
_ACTIONS = {"a": "approve", "p": "pause", "r": "resume", "x": "cancel"}


def require_staff(ctx: Context) -> int:
    if ctx.person is None or not ctx.person.is_staff:
        raise NotAuthorised("not_allowed")
    return ctx.person.id


async def _refusal(ctx: Context, error: BroadcastRefused) -> None:
    """Undo the use case's changes, keep the update's dedupe key, and explain in plain words."""
    log.info("broadcast request refused: %s", error.code)
    await ctx.uow.rollback()
    ctx.replies.clear()
    if ctx.incoming.dedupe_key is not None:
        await ctx.uow.inbound.first_time(ctx.incoming.dedupe_key)
    if ctx.incoming.callback_data is not None:
        ctx.callback_answer = bt.refused(error.code)
    else:
        await ctx.answer(bt.refused(error.code))


def _controls(broadcast_id: int, status: BroadcastStatus) -> tuple[tuple[Button, ...], ...]:
    buttons = []
    if status is BroadcastStatus.DRAFT:
        buttons.append(Button(bt.BTN_APPROVE, verbs.encode(Verb.BROADCAST_CONTROL, "a", broadcast_id)))
    if status is BroadcastStatus.APPROVED:
        buttons.append(Button(bt.BTN_PAUSE, verbs.encode(Verb.BROADCAST_CONTROL, "p", broadcast_id)))
    if status is BroadcastStatus.PAUSED:
        buttons.append(Button(bt.BTN_RESUME, verbs.encode(Verb.BROADCAST_CONTROL, "r", broadcast_id)))
    if status not in (BroadcastStatus.CANCELLED,):
        buttons.append(Button(bt.BTN_CANCEL, verbs.encode(Verb.BROADCAST_CONTROL, "x", broadcast_id)))
    return (tuple(buttons),) if buttons else ()


def parse_new(args: str) -> BroadcastRequest:
    """`[素材名] [对象=…] [时间=…|cron=… 季节=… 截止=…] [话题=…] [标题=…]`, then the text on later lines."""
    first, _, body = args.partition("\n")
    normalized = first.replace("“", '"').replace("”", '"').replace("＝", "=")
    try:
        tokens = shlex.split(normalized)
    except ValueError as error:
        raise BroadcastRefused("bad_schedule", "unbalanced quotes") from error
    fields: dict[str, Any] = {}  # BroadcastRequest's text fields, by name
    campaign = None
    for token in tokens:
        name, eq, value = token.partition("=")
        if not eq:
            campaign = token
            continue
        field = _OPTIONS.get(name.lower())
        if field is None:
            raise BroadcastRefused("bad_option", name)
        fields[field] = value
    return BroadcastRequest(campaign=campaign, text=body.strip() or None, **fields)


async def _show(ctx: Context, broadcast_id: int, lead: str = "") -> None:
    broadcast = await planning.get(ctx.uow, broadcast_id)
    shown = await planning.preview(ctx.uow, ctx.clock, broadcast)
    assert broadcast.id is not None
    text = f"{lead}\n{bt.preview(shown)}" if lead else bt.preview(shown)
    await ctx.answer(text, _controls(broadcast.id, broadcast.status))


async def _list(ctx: Context) -> None:
    found = await ctx.uow.broadcasts.recent()
    await ctx.answer("\n".join(bt.list_line(b) for b in found) if found else bt.NO_BROADCASTS)


async def _campaigns(ctx: Context) -> None:
    found = await ctx.uow.broadcasts.campaigns()
    lines = [f"{c.key}　{c.topic.label}：{c.title}" for c in found]
    await ctx.answer("\n".join(lines) if lines else bt.NO_CAMPAIGNS)


def _id(arg: str) -> int:
    if not arg.strip().lstrip("#").isdigit():
        raise BroadcastRefused("not_found", arg)
    return int(arg.strip().lstrip("#"))


async def act(ctx: Context, action: str, broadcast_id: int, person_id: int) -> str:
    """Approve, pause, resume or cancel a broadcast (chat buttons, commands and the desk); the answer."""
    if action == "approve":
        return bt.approved(await planning.approve(ctx.uow, ctx.clock, broadcast_id, person_id))
    if action == "pause":
        await planning.pause(ctx.uow, broadcast_id)
        return bt.paused(broadcast_id)
    if action == "resume":
        await planning.resume(ctx.uow, ctx.clock, broadcast_id)
        return bt.resumed(broadcast_id)
    _, dropped = await planning.cancel(ctx.uow, broadcast_id)
    return bt.cancelled(broadcast_id, dropped)


async def broadcast_command(ctx: Context, args: str) -> None:
    """Manage broadcasts (staff only)."""
    person_id = require_staff(ctx)
    sub, _, rest = args.partition(" ")
    if "\n" in sub:  # "/broadcast new\n正文": the text starts right after the subcommand
        sub, _, more = sub.partition("\n")
        rest = "\n" + more + (" " + rest if rest else "")
    sub = sub.strip().lower()
    try:
        if sub in ("", "list"):
            await _list(ctx)
        elif sub == "campaigns":
            await _campaigns(ctx)
        elif sub == "new":
            created = await planning.create(ctx.uow, ctx.clock, parse_new(rest), person_id)
            assert created.id is not None
            await _show(ctx, created.id, bt.created(created.id))
        elif sub in ("show", "preview"):
            await _show(ctx, _id(rest))
        elif sub in _ACTIONS.values():
            await ctx.answer(await act(ctx, sub, _id(rest), person_id))
        else:
            await ctx.answer(bt.HELP_STAFF)
    except BroadcastRefused as error:
        await _refusal(ctx, error)


async def on_control(ctx: Context, action: Action) -> None:
    """A staff control button under a broadcast preview (approve, pause, resume, cancel)."""
    person_id = require_staff(ctx)
    verb = _ACTIONS.get(action.word("command"))
    if verb is None:
        raise BroadcastRefused("not_found")
    try:
        done = await act(ctx, verb, action.number("broadcast_id"), person_id)
    except BroadcastRefused as error:
        await _refusal(ctx, error)
        return
    ctx.callback_answer = done
    await ctx.answer(done)


async def alert_command(ctx: Context, args: str) -> None:
    """Draft an emergency notice to an area; it goes out after the confirm button."""
    person_id = require_staff(ctx)
    area, _, text = args.strip().partition(" ")
    if not area or not text.strip():
        await ctx.answer(bt.ALERT_USAGE)
        return
    text = text.strip()
    title = text.split("：", 1)[0].split(":", 1)[0][:30]
    request = BroadcastRequest(text=text, title=title, audience=area, emergency=True)
    try:
        draft = await planning.create(ctx.uow, ctx.clock, request, person_id)
    except BroadcastRefused as error:
        await _refusal(ctx, error)
        return
    assert draft.id is not None
    shown = await planning.preview(ctx.uow, ctx.clock, draft)
    buttons = (
        (
            Button(bt.BTN_ALERT_SEND, verbs.encode(Verb.ALERT, "y", draft.id)),
            Button(bt.BTN_ALERT_DROP, verbs.encode(Verb.ALERT, "n", draft.id)),
        ),
    )
    await ctx.answer(bt.alert_preview(shown), buttons)


async def on_alert(ctx: Context, action: Action) -> None:
    """Confirm or drop an alert draft: confirming plans its run now, ahead of every other broadcast."""
    person_id = require_staff(ctx)
    broadcast_id = action.number("broadcast_id")
    try:
        broadcast = await planning.get(ctx.uow, broadcast_id)
        if not broadcast.emergency:
            raise BroadcastRefused("not_found")
        if action.word("choice") != "y":
            await planning.cancel(ctx.uow, broadcast_id)
            ctx.callback_answer = bt.alert_dropped(broadcast_id)
            await ctx.answer(bt.alert_dropped(broadcast_id))
            return
        approved = await planning.approve(ctx.uow, ctx.clock, broadcast_id, person_id)
        await planning.expand(ctx.uow, ctx.clock, approved)
    except BroadcastRefused as error:
        await _refusal(ctx, error)
        return
    counts = await ctx.uow.broadcasts.counts(broadcast_id)
    ctx.callback_answer = bt.alert_sent(broadcast_id, counts.total)
    await ctx.answer(bt.alert_sent(broadcast_id, counts.total))
