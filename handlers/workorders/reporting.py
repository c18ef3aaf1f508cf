"""A resident's report becomes a work order: ask only for what is missing, offer "me too", then open."""

from __future__ import annotations

import unicodedata
from datetime import timedelta

from handlers import texts as common_texts
from handlers import verbs
from handlers.community.model import Resident
from handlers.community.registration import STEP_CONSENT, consent_buttons, require_consent
from handlers.context import Context, rows
from handlers.labels.model import LabelSource
from handlers.labels.recording import record_label
from handlers.messages import Button
from handlers.ports import Conversation
from handlers.verbs import Action, Verb
from handlers.workorders import texts
from handlers.workorders.emergency import Alarm, alarm_for, check_answer, emergency_advice
from handlers.workorders.model import EventKind, ReportChecks, WorkOrder
from handlers.workorders.opening import PendingReport, answer_check_by_text, open_order
from handlers.workorders.routing import counted_first
from nlp.categories import Catalog
from nlp.types import Category, Priority

STEP_REPORT = "report"  # a pending report waiting for a button (category, compound, building)


def has_words(text: str) -> bool:
    """True when the text has at least one letter or digit (not only emoji and punctuation)."""
    return any(unicodedata.category(ch)[0] in ("L", "N") for ch in text)


async def on_consent(ctx: Context, action: Action) -> None:
    """Record the resident's answer to the privacy notice; continue a report that was waiting for it."""
    conversation = await ctx.uow.conversations.get(ctx.chat_id)
    if action.word("choice") != "y":
        await ctx.uow.conversations.clear(ctx.chat_id)
        after_emergency = conversation is not None and bool(conversation.data.get("after_emergency"))
        # After an emergency the order stays (with the little it needs); nothing more is kept.
        await ctx.answer(
            texts.CONSENT_DECLINED_AFTER_EMERGENCY if after_emergency else common_texts.CONSENT_DECLINED
        )
        return
    name = ctx.incoming.sender_name or (str(conversation.data.get("name") or "") if conversation else "")
    resident = ctx.resident or Resident(id=None, chat_id=ctx.chat_id, name=name or "居民")
    if resident.consented_at is None:
        resident.consented_at = ctx.clock.now()
    ctx.resident = await ctx.uow.residents.save(resident)
    await ctx.uow.conversations.clear(ctx.chat_id)
    pending = (conversation.data.get("pending") if conversation else None) or None
    if pending:
        await ctx.answer(common_texts.CONSENT_THANKS)
        await continue_report(ctx, PendingReport.from_data(pending))
        return
    if ctx.resident.building_id is None:
        await ctx.answer(
            common_texts.ASK_REGISTER,
            (
                (
                    Button(common_texts.BTN_REGISTER, verbs.encode(Verb.REGISTER, "y")),
                    Button(common_texts.BTN_LATER, verbs.encode(Verb.REGISTER, "n")),
                ),
            ),
        )
    else:
        await ctx.answer(common_texts.CONSENT_THANKS)


async def report(ctx: Context, text: str, photo: str | None = None, compound_id: int | None = None) -> None:
    """Open a work order from a resident's message (asking only for what is missing).

    `compound_id` comes from a location shared before the words; a compound named in the text wins.
    """
    text = text.strip()
    if not text:
        await ctx.answer(common_texts.EMPTY_MESSAGE)
        return
    if not has_words(text):
        await ctx.answer(common_texts.NO_WORDS)
        return
    answer = check_answer(text)
    if answer is not None and await answer_check_by_text(ctx, answer):
        return  # "是" / "不是" to a possible emergency's question
    result = ctx.classifier.classify(text)
    pending = PendingReport(
        text=text,
        category=result.category.value,
        priority=result.priority.value,
        keywords=list(result.keywords),
        candidates=[c.value for c in result.candidates],
        confidence=result.confidence,
        unit=result.location.unit,
        room=result.location.room,
        photo=photo,
    )
    if result.location.compound:
        compound = await ctx.uow.community.compound_by_name(result.location.compound)
        pending.compound_id = compound.id if compound else None
    pending.building_number = result.location.building
    if pending.compound_id is None and compound_id is not None:
        pending.compound_id = compound_id
    alarm = alarm_for(result, text)
    if alarm.urgent:
        await _emergency_first(ctx, pending, alarm)
        return
    if not await require_consent(ctx, pending):
        return
    await continue_report(ctx, pending)


async def _emergency_first(ctx: Context, pending: PendingReport, alarm: Alarm) -> None:
    """Advice and alerts at once, from anyone, registered or not, consented or not (PIPL Art. 13(4):
    processing needed to protect life, health and property in an emergency); consent for follow-up after."""
    pending.alarm = alarm.value
    if alarm is not Alarm.FRAUD:
        pending.category = Category.EMERGENCY.value
    consented = ctx.resident is not None and ctx.resident.has_consented
    if ctx.resident is None:  # the order needs someone to belong to: the chat and the name it shows
        newcomer = Resident(id=None, chat_id=ctx.chat_id, name=ctx.incoming.sender_name or "居民")
        ctx.resident = await ctx.uow.residents.save(newcomer)
    await continue_report(ctx, pending)
    if not consented:
        data = {"name": ctx.incoming.sender_name, "after_emergency": True}
        await ctx.uow.conversations.set(ctx.chat_id, Conversation(STEP_CONSENT, data))
        await ctx.answer(texts.CONSENT_AFTER_EMERGENCY, consent_buttons())


async def continue_report(ctx: Context, pending: PendingReport) -> None:
    """Fill in location and category from what is known, ask for the rest, open when complete."""
    resident = ctx.resident
    assert resident is not None
    uow = ctx.uow
    emergency = pending.category == Category.EMERGENCY.value or Alarm(pending.alarm).urgent
    # Location: the message first, then the registered address (the community cache: no round trip).
    if pending.building_id is None and pending.building_number and pending.compound_id is None:
        registered = await uow.community.building(resident.building_id) if resident.building_id else None
        if registered is not None:
            pending.compound_id = registered.compound_id
    if pending.building_id is None and pending.compound_id is not None and pending.building_number:
        building = await uow.community.find_building(pending.compound_id, pending.building_number)
        pending.building_id = building.id if building else None
    if (
        pending.building_id is None
        and pending.compound_id is None
        and not pending.building_number
        and resident.building_id is not None
    ):
        registered = await uow.community.building(resident.building_id)
        if registered is not None:
            pending.compound_id, pending.building_id = registered.compound_id, registered.id
            pending.unit = pending.unit or resident.unit
            pending.room = pending.room or resident.room
    checks: ReportChecks | None = None  # the "me too" candidates and routing's loads, with the flood count
    if not emergency and pending.priority != Priority.URGENT.value and resident.id is not None:
        opened, checks = await _opened_and_checks(ctx, pending, resident)
        if opened >= ctx.limits.reports_per_hour:
            await uow.conversations.clear(ctx.chat_id)
            await ctx.answer(texts.too_many_reports(ctx.limits.reports_per_hour))
            return
    if not emergency:  # an emergency never waits for a question
        if pending.category == Category.UNKNOWN.value:
            if pending.priority == Priority.URGENT.value:
                # Maybe an emergency: the numbers to call must not wait for the resident's answer.
                await ctx.answer(emergency_advice(pending.text))
            await _ask(
                ctx, pending, common_texts.ASK_CATEGORY, _category_buttons(pending.candidates, ctx.categories)
            )
            return
        if pending.compound_id is None:
            compounds = await uow.community.compounds()
            buttons = [Button(c.name, verbs.encode(Verb.REPORT_COMPOUND, c.id)) for c in compounds]
            await _ask(ctx, pending, common_texts.ASK_LOCATION_COMPOUND, rows(buttons, 3))
            return
        if pending.building_id is None and not pending.building_unsure:
            buildings = await uow.community.buildings(pending.compound_id)
            buttons = [Button(f"{b.number}号楼", verbs.encode(Verb.REPORT_BUILDING, b.id)) for b in buildings]
            buttons.append(Button(common_texts.BTN_UNSURE, verbs.encode(Verb.REPORT_BUILDING, 0)))
            await _ask(ctx, pending, common_texts.ASK_LOCATION_BUILDING, rows(buttons, 4))
            return
    if not emergency and not pending.insist_new:
        similar = _not_joined(checks.similar, resident) if checks else await _similar(ctx, pending, resident)
        if await _offer_similar(ctx, pending, similar):
            return
    await uow.conversations.clear(ctx.chat_id)
    await open_order(ctx, resident, pending, checks.loads if checks else None)


def _ready_to_open(pending: PendingReport) -> bool:
    """Nothing left to ask: the category and the place are known (or the building is not)."""
    return (
        pending.category != Category.UNKNOWN.value
        and pending.compound_id is not None
        and (pending.building_id is not None or pending.building_unsure)
    )


async def _opened_and_checks(
    ctx: Context, pending: PendingReport, resident: Resident
) -> tuple[int, ReportChecks | None]:
    """How many orders the resident opened in the last hour (the flood limit: counted in the database, so
    every replica agrees; only reports that may not be emergencies are held to it), and, when nothing is
    left to ask, in the same round trip the "me too" candidates and the open orders of those routing will
    count (None: not asked)."""
    assert resident.id is not None
    hour = ctx.clock.now() - timedelta(hours=1)
    if pending.insist_new or not _ready_to_open(pending):
        return await ctx.uow.orders.opened_by(resident.id, hour), None
    settings = await ctx.uow.community.settings()
    category = Category(pending.category)
    checks = await ctx.uow.orders.report_checks(
        resident.id,
        hour,
        category,
        pending.building_id,
        pending.compound_id,
        ctx.clock.now() - settings.duplicate_window,
        await counted_first(ctx.uow, category, pending.building_id),
    )
    return checks.opened, checks


async def _similar(ctx: Context, pending: PendingReport, resident: Resident) -> list[WorkOrder]:
    """Open orders about the same problem (category) at the same place, recent enough to join, that this
    resident has neither opened nor joined."""
    settings = await ctx.uow.community.settings()
    similar = await ctx.uow.orders.similar_open(
        Category(pending.category),
        pending.building_id,
        pending.compound_id,
        ctx.clock.now() - settings.duplicate_window,
    )
    return _not_joined(similar, resident)


def _not_joined(similar: list[WorkOrder], resident: Resident) -> list[WorkOrder]:
    return [o for o in similar if o.resident_id != resident.id and resident.id not in o.followers]


async def _offer_similar(ctx: Context, pending: PendingReport, similar: list[WorkOrder]) -> bool:
    """ "Me too": offer to join an open order about the same problem at the same place instead."""
    if not similar:
        return False
    order = similar[0]
    assert order.id is not None
    buttons = (
        (
            Button(texts.BTN_JOIN, verbs.encode(Verb.JOIN_SIMILAR, order.id)),
            Button(texts.BTN_NEW_ORDER, verbs.encode(Verb.OPEN_NEW, 0)),
        ),
    )
    text = texts.duplicate_offer(order.number, order.state.label, 1 + len(order.followers))
    await _ask(ctx, pending, text, buttons)
    return True


async def on_duplicate_choice(ctx: Context, action: Action) -> None:
    """Join the similar order (and follow its updates), or open a new one all the same."""
    conversation = await ctx.uow.conversations.get(ctx.chat_id)
    if conversation is None or conversation.step != STEP_REPORT or ctx.resident is None:
        ctx.callback_answer = common_texts.NOTHING_PENDING
        return
    pending = PendingReport.from_data(conversation.data["pending"])
    if action.verb is Verb.OPEN_NEW:
        pending.insist_new = True
        await continue_report(ctx, pending)
        return
    order = await ctx.uow.orders.get(action.order_id)
    if order is None or not order.is_open:
        # closed in the meantime: nothing to join, so the report becomes an order of its own
        pending.insist_new = True
        await continue_report(ctx, pending)
        return
    if order.id not in {o.id for o in await _similar(ctx, pending, ctx.resident)}:
        # Not an order this report could have been offered (another problem, place or time): the data
        # of a "me too" button is typed by anyone, and joining would show them that order's updates.
        ctx.callback_answer = common_texts.STALE_BUTTON
        return
    assert ctx.resident.id is not None
    if ctx.resident.id not in order.followers and ctx.resident.id != order.resident_id:
        order.followers.append(ctx.resident.id)
        order.record(EventKind.JOINED, ctx.actor, ctx.clock.now(), pending.text)
        await ctx.uow.orders.save(order)
        if pending.chosen_by_resident:  # she picked the category after `unknown`: her words, labelled
            category = Category(pending.category)
            await record_label(
                ctx, order, LabelSource.RESIDENT_CHOICE, category, pending.text, ctx.resident.id
            )
    await ctx.uow.conversations.clear(ctx.chat_id)
    ctx.callback_answer = texts.joined_toast(order.number)  # the press itself is answered too
    await ctx.say(ctx.chat_id, texts.joined(order.number), order_id=order.id)
    if order.assignee_id is not None:
        assignee = await ctx.uow.community.person(order.assignee_id)
        if assignee is not None:
            message = texts.joined_member(order.number, 1 + len(order.followers))
            await ctx.say(assignee.chat_id, message, order_id=order.id, thread=True)


def _category_buttons(candidates: list[str], categories: Catalog) -> tuple[tuple[Button, ...], ...]:
    """The classifier's close candidates first, then every other category, by the community's names."""
    first = [c for c in map(categories.get, candidates) if c is not None]
    ordered = first + [c for c in categories.choosable if c not in first]
    buttons = [Button(categories.label(c), verbs.encode(Verb.REPORT_CATEGORY, c.value)) for c in ordered]
    return rows(buttons, 3)


async def _ask(
    ctx: Context, pending: PendingReport, question: str, buttons: tuple[tuple[Button, ...], ...]
) -> None:
    await ctx.uow.conversations.set(ctx.chat_id, Conversation(STEP_REPORT, {"pending": pending.to_data()}))
    await ctx.answer(question, buttons)


async def on_report_choice(ctx: Context, action: Action) -> None:
    """A button answering a question about a pending report (category, compound, building)."""
    conversation = await ctx.uow.conversations.get(ctx.chat_id)
    if conversation is None or conversation.step != STEP_REPORT or ctx.resident is None:
        ctx.callback_answer = common_texts.NOTHING_PENDING
        return
    pending = PendingReport.from_data(conversation.data["pending"])
    if action.verb is Verb.REPORT_CATEGORY:
        category = ctx.categories.get(action.word("category"))
        if category is None:  # a key this community no longer has (its rules file changed since)
            ctx.callback_answer = common_texts.STALE_BUTTON
            return
        pending.category, pending.chosen_by_resident = category.value, True
        if category is not Category.EMERGENCY and pending.priority == Priority.URGENT.value:
            # The classifier saw some emergency evidence but the resident says otherwise: keep it
            # high (seen soon) rather than urgent (everyone alerted at once).
            pending.priority = Priority.HIGH.value
    elif action.verb is Verb.REPORT_COMPOUND:
        compound = await ctx.uow.community.compound(action.number("compound_id"))
        if compound is None:
            ctx.callback_answer = common_texts.STALE_BUTTON
            return
        pending.compound_id = compound.id
    else:  # Verb.REPORT_BUILDING
        building_id = action.number("building_id")
        if building_id == 0:
            pending.building_unsure = True
        else:
            building = await ctx.uow.community.building(building_id)
            if building is None or building.compound_id != pending.compound_id:
                ctx.callback_answer = common_texts.STALE_BUTTON
                return
            pending.building_id = building.id
    await continue_report(ctx, pending)
