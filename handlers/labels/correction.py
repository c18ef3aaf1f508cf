"""Correct an order's category: the 改类别 button on a handler's card, and the desk's change of category.

A correction changes the order's category (and may raise its priority, never lower it), records a
RECATEGORISED event ("old->new") and stores the text with the new category as a labelled example, all in
the press's transaction. It does not re-route the order and tells the resident nothing: the category is how
the community files the problem, not who handles it. When the new category is one the community routes to
someone else (say fraud to the police liaison), the handler is told so and can use 转派 or 退回.
"""

from __future__ import annotations

from handlers import texts as common_texts
from handlers import verbs
from handlers.community.model import Person
from handlers.context import Context, rows
from handlers.errors import TransitionNotAllowed
from handlers.labels import texts
from handlers.labels.recording import correction_source, record_label
from handlers.messages import Button
from handlers.verbs import Action, Verb
from handlers.workorders import member
from handlers.workorders.model import EventKind, WorkOrder
from handlers.workorders.opening import priority_for
from nlp.types import Category


async def correct_category(ctx: Context, order: WorkOrder, person: Person, category: Category) -> bool:
    """Change the order's category to `category` and keep the correction as a labelled example.

    The caller has authorised `person` for the order. False (nothing stored) when it already has that
    category.

    Raises:
        TransitionNotAllowed: `category` is UNKNOWN (a correction says what the message is) or not one of
            the community's categories.
    """
    if category not in ctx.categories:
        raise TransitionNotAllowed("unknown_category")
    if category is order.category:
        return False
    old = order.category
    order.category = category
    order.priority = priority_for(
        category, order.priority, ctx.categories
    )  # a correction may raise it, never lower it
    order.record(EventKind.RECATEGORISED, ctx.actor, ctx.clock.now(), f"{old.value}->{category.value}")
    await ctx.uow.orders.save(order)
    await record_label(ctx, order, correction_source(person), category)
    return True


async def on_menu(ctx: Context, action: Action) -> None:
    """Offer the categories an open order can be changed to (the 改类别 button on the card)."""
    order, _ = await member._order_for_handler(ctx, action.order_id)
    if not order.is_open:
        raise TransitionNotAllowed("transition")
    assert order.id is not None
    label = ctx.categories.label
    choices = [c for c in ctx.categories.choosable if c is not order.category]
    buttons = [Button(label(c), verbs.encode(Verb.RECATEGORISE_TO, order.id, c.value)) for c in choices]
    await ctx.answer(texts.ask_category(order.number, label(order.category)), rows(buttons, 3))


async def on_choose(ctx: Context, action: Action) -> None:
    """Change the category to the one pressed; whoever presses is authorised again, as for every button."""
    order, person = await member._order_for_handler(ctx, action.order_id)
    if not order.is_open:
        ctx.callback_answer = texts.ORDER_OVER
        return
    category = ctx.categories.get(action.word("category"))
    if category is None:  # a key this community no longer has (its rules file changed since)
        ctx.callback_answer = common_texts.STALE_BUTTON
        return
    if not await correct_category(ctx, order, person, category):
        ctx.callback_answer = texts.SAME_CATEGORY
        return
    name = ctx.categories.label(category)
    done = texts.recategorised(order.number, name)
    ctx.callback_answer = done
    roles = await ctx.uow.community.category_roles(category)
    routed_elsewhere = bool(roles) and not person.has(roles[0])
    await ctx.answer(
        done + ("\n" + texts.handled_by_others(name, roles[0].label) if routed_elsewhere else "")
    )
    if order.assignee_id is not None and order.assignee_id != person.id:
        assignee = await ctx.uow.community.person(order.assignee_id)
        if assignee is not None:
            told = texts.recategorised_by(order.number, name, person.title)
            await ctx.say(assignee.chat_id, told, order_id=order.id, thread=True)
