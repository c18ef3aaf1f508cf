"""Grid notices (网格通知): a grid member writes to the residents of their own grid, or of one building in it;
the grid leader (or community staff, when the author leads the grid or it has no leader) approves it with a
button before it goes out, as an ordinary broadcast: the same delivery queue, pacing and opt-outs (topic
网格通知), planned once (a broadcast moves from draft to approved only once; a second press is refused).
"""

from __future__ import annotations

import logging

from handlers import verbs
from handlers.broadcasts import planning
from handlers.broadcasts import texts as bt
from handlers.broadcasts.model import AudienceKind, Broadcast, BroadcastRefused, BroadcastStatus, Topic
from handlers.broadcasts.requests import BroadcastRequest, parse_audience
from handlers.community.model import Person, Role
from handlers.context import Context
from handlers.errors import NotAuthorised
from handlers.messages import Button
from handlers.verbs import Action, Verb

log = logging.getLogger(__name__)

_AUTHORS = (Role.GRID_MEMBER, Role.GRID_LEADER)


async def _grid_audience(ctx: Context, author: Person, words: str) -> tuple[str, str]:
    """(the audience in staff's words, the text): the author's grid, or a building of it named first
    ("兴泰小区5号楼 明天停水…"); a building of another grid is refused."""
    assert author.grid_id is not None
    first, _, rest = words.partition(" ")
    if rest.strip():
        try:
            named = await parse_audience(ctx.uow, first)
        except BroadcastRefused:
            named = None
        if named is not None and named.kind is AudienceKind.BUILDINGS:
            grid = await ctx.uow.community.grid_for_building(int(named.keys[0]))
            if grid is None or grid.id != author.grid_id:
                raise BroadcastRefused("not_your_building", first)
            return first, rest.strip()
    grid = await ctx.uow.community.grid(author.grid_id)
    assert grid is not None
    return grid.name, words.strip()


async def _approvers(ctx: Context, author: Person) -> list[Person]:
    grid = await ctx.uow.community.grid(author.grid_id) if author.grid_id else None
    leader = await ctx.uow.community.person(grid.leader_id) if grid and grid.leader_id else None
    if leader is not None and leader.id != author.id:
        return [leader]
    return [p for p in await ctx.uow.community.people(role=Role.STAFF) if p.id != author.id]


async def notice_command(ctx: Context, args: str) -> None:
    """Draft a notice to the author's grid (or one building of it) and ask the grid leader to approve it."""
    author = ctx.person
    if author is None or not author.has(*_AUTHORS):
        raise NotAuthorised("not_allowed")
    if author.grid_id is None:
        await ctx.answer(bt.NOTICE_NO_GRID)
        return
    if not args.strip():
        await ctx.answer(bt.NOTICE_USAGE)
        return
    try:
        audience, text = await _grid_audience(ctx, author, args.strip())
        title = text.splitlines()[0].split("：", 1)[0].split(":", 1)[0][:30]
        request = BroadcastRequest(text=text, title=title, topic=Topic.GRID_NOTICE.value, audience=audience)
        draft = await planning.create(ctx.uow, ctx.clock, request, author.id)
    except BroadcastRefused as error:
        await ctx.answer(bt.refused(error.code))
        return
    assert draft.id is not None
    shown = await planning.preview(ctx.uow, ctx.clock, draft)
    approvers = await _approvers(ctx, author)
    buttons = (
        (
            Button(bt.BTN_NOTICE_APPROVE, verbs.encode(Verb.NOTICE_REVIEW, "y", draft.id)),
            Button(bt.BTN_NOTICE_REJECT, verbs.encode(Verb.NOTICE_REVIEW, "n", draft.id)),
        ),
    )
    for approver in approvers:
        await ctx.say(approver.chat_id, bt.notice_for_approval(author.title, shown), buttons)
    who = "、".join(p.title for p in approvers[:3]) or "社区工作人员"
    await ctx.answer(bt.notice_submitted(draft.id, who, shown.recipients))


async def _may_approve(ctx: Context, broadcast: Broadcast) -> Person:
    person = ctx.person
    if person is None or person.id == broadcast.created_by or broadcast.topic is not Topic.GRID_NOTICE:
        raise NotAuthorised("not_allowed")
    if person.is_staff:
        return person
    grid_ids = (
        {int(k) for k in broadcast.audience.keys} if broadcast.audience.kind is AudienceKind.GRIDS else set()
    )
    if broadcast.audience.kind is AudienceKind.BUILDINGS:
        for key in broadcast.audience.keys:
            grid = await ctx.uow.community.grid_for_building(int(key))
            grid_ids.add(grid.id if grid else 0)
    grids = [await ctx.uow.community.grid(g) for g in grid_ids]
    if not grids or any(g is None or g.leader_id != person.id for g in grids):
        raise NotAuthorised("not_allowed")
    return person


async def on_review(ctx: Context, action: Action) -> None:
    """The grid leader (or staff) approves a grid notice, which is planned at once, or sends it back."""
    try:
        broadcast = await planning.get(ctx.uow, action.number("broadcast_id"))
        reviewer = await _may_approve(ctx, broadcast)
        assert broadcast.id is not None
        author = await ctx.uow.community.person(broadcast.created_by) if broadcast.created_by else None
        if action.word("choice") != "y" and broadcast.status is BroadcastStatus.DRAFT:
            await planning.cancel(ctx.uow, broadcast.id)
            ctx.callback_answer = bt.notice_rejected_reviewer(broadcast.id)
            await ctx.answer(ctx.callback_answer)
            if author is not None:
                await ctx.say(author.chat_id, bt.notice_rejected(broadcast.id, reviewer.title))
            return
        if broadcast.status is not BroadcastStatus.DRAFT:  # approved or sent back already: never twice
            raise BroadcastRefused("bad_state")
        approved = await planning.approve(ctx.uow, ctx.clock, broadcast.id, reviewer.id)
        await planning.expand(ctx.uow, ctx.clock, approved)
    except BroadcastRefused as error:
        ctx.callback_answer = bt.refused(error.code)
        await ctx.answer(ctx.callback_answer)
        return
    total = (await ctx.uow.broadcasts.counts(broadcast.id)).total
    log.info("grid notice %s approved for %d recipients", broadcast.id, total)
    ctx.callback_answer = bt.notice_approved_reviewer(broadcast.id, total)
    await ctx.answer(ctx.callback_answer)
    if author is not None:
        await ctx.say(author.chat_id, bt.notice_approved(broadcast.id, reviewer.title, total))
