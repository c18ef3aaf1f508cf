"""广播: the list, a new broadcast with its audience previewed, approval and control, progress and summary.

Staff only, as in chat. Every rule is the chat's: drafts are `planning.create`, the audience and schedule are
read by `handlers.broadcasts.requests`, approve / pause / resume / cancel are `chat.act` (the same function
the chat's buttons call), and delivery is the chat process's outbox workers. The desk only shows and asks.
"""

from __future__ import annotations

from starlette.datastructures import FormData, ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from handlers.broadcasts import chat, planning
from handlers.broadcasts import texts as bt
from handlers.broadcasts.model import OPTIONAL_TOPICS, Broadcast, BroadcastRefused, Schedule, ScheduleKind
from handlers.broadcasts.requests import BroadcastRequest, parse_audience, parse_topic
from handlers.context import Context
from storage.uow import SqlUnitOfWork
from web.auth import Viewer
from web.common import audit, checked_form, desk, login_needed, redirect, render, text_field, viewer_of

ACTIONS = {"approve", "pause", "resume", "cancel"}
_FIELDS = ("campaign", "title", "topic", "audience", "at", "cron", "season", "until", "text")


async def _staff(request: Request) -> Viewer | Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return login_needed(request)
    if not viewer.is_staff:
        return render(request, "forbidden.html", viewer, status=403)
    return viewer


async def broadcast_list(request: Request) -> Response:
    viewer = await _staff(request)
    if not isinstance(viewer, Viewer):
        return viewer
    async with desk(request).uow_factory() as uow:
        found = await uow.broadcasts.recent(50)
        counts = {b.id: await uow.broadcasts.counts(b.id) for b in found if b.id is not None}
    return render(request, "broadcasts.html", viewer, broadcasts=found, counts=counts, bt=bt)


def _request(values: FormData | ImmutableMultiDict[str, str]) -> BroadcastRequest:
    def got(name: str) -> str | None:
        value = values.get(name)
        return value.strip()[:3600] or None if isinstance(value, str) else None

    return BroadcastRequest(
        campaign=got("campaign"),
        text=got("text"),
        title=got("title"),
        topic=got("topic"),
        audience=got("audience"),
        at=got("at"),
        cron=got("cron"),
        season=got("season"),
        until=got("until"),
    )


async def _audience_preview(uow: SqlUnitOfWork, wanted: BroadcastRequest) -> tuple[str, int, int] | str:
    """(the audience as read, who would get it now, who opted out of the topic); or why it cannot be read."""
    try:
        audience = await parse_audience(uow, wanted.audience)
        topic = parse_topic(wanted.topic)
    except BroadcastRefused as error:
        return bt.refused(error.code)
    sketch = Broadcast(None, "", "", topic, audience, Schedule(ScheduleKind.ONCE))
    chats, opted_out = await planning.recipients(uow, sketch)
    return audience.label, len(chats), opted_out


async def new_form(request: Request) -> Response:
    viewer = await _staff(request)
    if not isinstance(viewer, Viewer):
        return viewer
    query = request.query_params
    async with desk(request).uow_factory() as uow:
        campaigns = await uow.broadcasts.campaigns()
        preview = await _audience_preview(uow, _request(query)) if "audience" in query else None
    values = {name: query.get(name, "") for name in _FIELDS}
    return render(
        request,
        "broadcast_new.html",
        viewer,
        form=values,
        campaigns=campaigns,
        topics=OPTIONAL_TOPICS,
        preview=preview,
        problem=None,
    )


async def new_submit(request: Request) -> Response:
    viewer = await _staff(request)
    if not isinstance(viewer, Viewer):
        return viewer
    form = await checked_form(request, viewer)
    wanted = _request(form)
    zone = desk(request).zone.key

    async def create(ctx: Context) -> Broadcast:
        return await planning.create(ctx.uow, ctx.clock, wanted, chat.require_staff(ctx), zone)

    async def audited(uow: SqlUnitOfWork, created: Broadcast) -> None:
        await audit(uow, viewer, request, "change", f"broadcast:{created.id}", ["broadcast.created"])

    done = await desk(request).runner.act(viewer.person.id, create, audited)
    if done.refused or done.value is None:
        async with desk(request).uow_factory() as uow:
            campaigns = await uow.broadcasts.campaigns()
        values = {name: text_field(form, name, 3600) for name in _FIELDS}
        return render(
            request,
            "broadcast_new.html",
            viewer,
            status=422,
            form=values,
            campaigns=campaigns,
            topics=OPTIONAL_TOPICS,
            preview=None,
            problem=done.refused,
        )
    return redirect(f"/broadcasts/{done.value.id}", [bt.created(done.value.id or 0)])


async def broadcast_page(request: Request) -> Response:
    viewer = await _staff(request)
    if not isinstance(viewer, Viewer):
        return viewer
    broadcast_id = int(request.path_params["broadcast_id"])
    async with desk(request).uow_factory() as uow:
        found = await uow.broadcasts.get(broadcast_id)
        if found is None:
            return render(request, "not_found.html", viewer, status=404)
        shown = await planning.preview(uow, desk(request).clock, found)
        counts = await uow.broadcasts.counts(broadcast_id)
    return render(request, "broadcast.html", viewer, p=shown, b=found, counts=counts, bt=bt)


async def broadcast_action(request: Request) -> Response:
    viewer = await _staff(request)
    if not isinstance(viewer, Viewer):
        return viewer
    await checked_form(request, viewer)
    broadcast_id = int(request.path_params["broadcast_id"])
    action = str(request.path_params["action"])
    if action not in ACTIONS:
        return render(request, "not_found.html", viewer, status=404)

    async def control(ctx: Context) -> str:
        return await chat.act(ctx, action, broadcast_id, chat.require_staff(ctx))

    async def audited(uow: SqlUnitOfWork, _said: str) -> None:
        await audit(uow, viewer, request, "change", f"broadcast:{broadcast_id}", [f"broadcast.{action}"])

    done = await desk(request).runner.act(viewer.person.id, control, audited)
    return redirect(f"/broadcasts/{broadcast_id}", [done.refused or done.value or "已完成。"])


ROUTES = [
    Route("/broadcasts", broadcast_list),
    Route("/broadcasts/new", new_form),
    Route("/broadcasts/new", new_submit, methods=["POST"]),
    Route("/broadcasts/{broadcast_id:int}", broadcast_page),
    Route("/broadcasts/{broadcast_id:int}/{action:str}", broadcast_action, methods=["POST"]),
]
