"""The 回访 list for staff: orders closed as 未评价, paged, and the phone call's result recorded as the
order's rating (source: phone, i.e. a RATED event by the staff member; handlers/statistics counts it)."""

from __future__ import annotations

from handlers import verbs
from handlers.community.model import Person
from handlers.context import Context, rows
from handlers.errors import NotAuthorised, TransitionNotAllowed
from handlers.followups import texts
from handlers.messages import Button
from handlers.ports import Conversation
from handlers.verbs import Action, Verb
from handlers.workorders.model import EventKind, OrderState, Satisfaction, WorkOrder

PER_PAGE = 10
STEP_NOTE = "followup_note"  # the staff member's words about the call, after choosing the result
NOTE_LIMIT = 500
_RESULTS = {"s": Satisfaction.SATISFIED, "b": Satisfaction.BASICALLY, "u": Satisfaction.UNSATISFIED}


def _staff(ctx: Context) -> Person:
    if ctx.person is None or not ctx.person.is_staff:
        raise NotAuthorised("not_staff")
    return ctx.person


async def followup_list(ctx: Context, _: str) -> None:
    """/huifang (/followups): the first page of orders to phone."""
    _staff(ctx)
    await _page(ctx, after=0)


async def on_page(ctx: Context, action: Action) -> None:
    """The next page of the 回访 list."""
    _staff(ctx)
    await _page(ctx, action.number("after"))


async def _page(ctx: Context, after: int) -> None:
    ids = await ctx.uow.followups.pending(after, PER_PAGE + 1)
    if not ids:
        await ctx.answer(texts.NONE_PENDING)
        return
    page = ids[:PER_PAGE]
    lines = [texts.list_header(await ctx.uow.followups.pending_count())]
    buttons: list[Button] = []
    for order_id in page:
        order = await ctx.uow.orders.get(order_id)
        if order is None:
            continue
        handler = await ctx.uow.community.person(order.assignee_id) if order.assignee_id else None
        resident = await _resident(ctx, order)
        what, place = ctx.categories.label(order.category.value), order.location.label
        lines.append(texts.list_line(order.number, what, place, resident, handler.title if handler else "—"))
        buttons.append(Button(f"{texts.BTN_CALL} {order.number}", verbs.encode(Verb.FOLLOWUP, order_id, "o")))
    if len(ids) > PER_PAGE:
        buttons.append(Button(texts.BTN_NEXT, verbs.encode(Verb.FOLLOWUP_PAGE, page[-1])))
    await ctx.answer("\n".join(lines), rows(buttons, 1))


async def _resident(ctx: Context, order: WorkOrder) -> str:
    resident = await ctx.uow.residents.get(order.resident_id)
    return texts.resident_label(resident.name, resident.phone) if resident is not None else "居民"


async def _pending_order(ctx: Context, order_id: int) -> WorkOrder:
    order = await ctx.uow.orders.get(order_id)
    if order is None:
        raise NotAuthorised("not_found")
    if order.state is not OrderState.CLOSED or order.satisfaction is not None:
        raise TransitionNotAllowed("transition")  # rated meanwhile, or recorded by someone else
    return order


async def on_followup(ctx: Context, action: Action) -> None:
    """ "o": show the order with the three answers; an answer: ask for the staff member's notes."""
    _staff(ctx)
    order = await _pending_order(ctx, action.order_id)
    choice = action.word("result")
    satisfaction = _RESULTS.get(choice)
    if satisfaction is None:
        assert order.id is not None
        what, place = ctx.categories.label(order.category.value), order.location.label
        card = texts.call_card(
            order.number, what, place, await _resident(ctx, order), order.text, order.resolution_note
        )
        answers = tuple(
            Button(s.label, verbs.encode(Verb.FOLLOWUP, order.id, k)) for k, s in _RESULTS.items()
        )
        await ctx.answer(card, (answers,))
        return
    data = {"order_id": order.id, "result": choice}
    await ctx.uow.conversations.set(ctx.chat_id, Conversation(STEP_NOTE, data))
    await ctx.answer(texts.ask_note(order.number, satisfaction.label))


async def on_note(ctx: Context, text: str, conversation: Conversation) -> None:
    """Record the call: the rating (by this staff member, i.e. by phone), their notes as an internal note."""
    person = _staff(ctx)
    await ctx.uow.conversations.clear(ctx.chat_id)
    order = await _pending_order(ctx, int(conversation.data["order_id"]))
    satisfaction = _RESULTS[str(conversation.data["result"])]
    assert order.id is not None
    assert person.id is not None
    now = ctx.clock.now()
    if not await ctx.uow.followups.done(order.id, now, person.id, satisfaction.value):
        raise TransitionNotAllowed("transition")
    order.record_followup(satisfaction, ctx.actor, now)
    note = " ".join(text.split())[:NOTE_LIMIT]
    if note and note not in texts.NO_NOTE_WORDS:
        order.record(EventKind.NOTED, ctx.actor, now, f"电话回访：{note}")
    await ctx.uow.orders.save(order)
    await ctx.answer(texts.recorded(order.number, satisfaction.label))
    handler = await ctx.uow.community.person(order.assignee_id) if order.assignee_id else None
    if handler is not None and handler.id != person.id:
        message = texts.recorded_member(order.number, satisfaction.label)
        await ctx.say(handler.chat_id, message, order_id=order.id, thread=True)
