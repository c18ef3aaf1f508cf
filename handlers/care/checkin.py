"""Daily check-in (平安问候) for residents who opted in, typically elderly people living alone."""

from __future__ import annotations

from handlers import verbs
from handlers.care import texts
from handlers.care.model import Checkin, CheckinAnswer
from handlers.community.model import Person, Resident, Role
from handlers.community.registration import address_label
from handlers.context import Context
from handlers.errors import NotAuthorised, TransitionNotAllowed
from handlers.messages import Button
from handlers.verbs import Action, Verb
from handlers.workorders.opening import PendingReport, open_order
from nlp.types import Category, Priority


async def run_checkins(ctx: Context) -> int:
    """Ask today's question once the check-in time has come; alert, then escalate, when nobody answers."""
    now = ctx.clock.now()
    settings = await ctx.uow.community.settings()
    done = 0
    if now.time() >= settings.checkin_time:
        # After downtime this still asks today's question once, however late; missed days are not replayed.
        for resident in await ctx.uow.checkins.residents_to_ask(now.date()):
            assert resident.id is not None
            checkin = await ctx.uow.checkins.add(Checkin(None, resident.id, now.date(), asked_at=now))
            if checkin is None:
                continue  # another replica asked first
            assert checkin.id is not None
            buttons = (
                (
                    Button(texts.BTN_CHECKIN_FINE, verbs.encode(Verb.CHECKIN_ANSWER, checkin.id, "fine")),
                    Button(texts.BTN_CHECKIN_HELP, verbs.encode(Verb.CHECKIN_ANSWER, checkin.id, "help")),
                ),
            )
            await ctx.say(resident.chat_id, texts.CHECKIN_QUESTION, buttons)
            done += 1
    due = await ctx.uow.checkins.claim_unanswered(
        asked_before=now - settings.checkin_answer_within,
        alerted_before=now - settings.checkin_escalate_after,
    )
    for checkin in due:
        silent = await ctx.uow.residents.get(checkin.resident_id)
        if silent is None:
            continue
        if checkin.alerted_at is None:
            await _alert(ctx, checkin, silent, await _grid_members(ctx, silent), escalated=False)
            checkin.alerted_at = now
        else:
            await _alert(ctx, checkin, silent, await _leaders_and_staff(ctx, silent), escalated=True)
            checkin.escalated_at = now
        await ctx.uow.checkins.save(checkin)
        done += 1
    return done


async def _grid_members(ctx: Context, resident: Resident) -> list[Person]:
    grid = await ctx.uow.community.grid_for_building(resident.building_id) if resident.building_id else None
    if grid is None:
        return await ctx.uow.community.people(role=Role.STAFF)
    members = await ctx.uow.community.people(role=Role.GRID_MEMBER, grid_id=grid.id)
    return members or await _leaders_and_staff(ctx, resident)


async def _leaders_and_staff(ctx: Context, resident: Resident) -> list[Person]:
    grid = await ctx.uow.community.grid_for_building(resident.building_id) if resident.building_id else None
    people: dict[int, Person] = {}
    if grid is not None and grid.leader_id is not None:
        leader = await ctx.uow.community.person(grid.leader_id)
        if leader is not None:
            people[leader.id] = leader
    for person in await ctx.uow.community.people(role=Role.STAFF):
        people[person.id] = person
    return list(people.values())


async def _alert(
    ctx: Context, checkin: Checkin, resident: Resident, people: list[Person], *, escalated: bool
) -> None:
    assert checkin.id is not None
    entry = await ctx.uow.ledger.get(resident.id or 0)
    who = f"{resident.name}（{entry.label}）" if entry is not None and entry.active else resident.name
    text = texts.checkin_unanswered(who, await address_label(ctx, resident), escalated)
    button = ((Button(texts.BTN_CHECKIN_CONFIRM, verbs.encode(Verb.CHECKIN_CONFIRM, checkin.id)),),)
    for person in people:
        await ctx.say(person.chat_id, text, button)
        checkin.alerted_people.append(person.id)


async def on_answer(ctx: Context, action: Action) -> None:
    """The resident answers 我很好 or 需要帮助 (the latter opens an assistance order)."""
    checkin = await ctx.uow.checkins.get(action.number("checkin_id"))
    if checkin is None or ctx.resident is None or checkin.resident_id != ctx.resident.id:
        raise NotAuthorised("not_owner")
    if checkin.answered_at is not None:
        raise TransitionNotAllowed("answered")
    answer = {"fine": CheckinAnswer.FINE, "help": CheckinAnswer.HELP}.get(action.word("answer"))
    if answer is None:
        raise TransitionNotAllowed("bad_answer")
    checkin.answered_at, checkin.answer = ctx.clock.now(), answer
    await ctx.uow.checkins.save(checkin)
    if ctx.incoming.callback_message_id is not None:
        await ctx.say(
            ctx.chat_id,
            texts.checkin_answered(answer.value),
            edit_message_id=ctx.incoming.callback_message_id,
        )
    await _tell_alerted(ctx, checkin, ctx.resident, answer)
    if answer is CheckinAnswer.FINE:
        await ctx.answer(texts.CHECKIN_FINE_THANKS)
        return
    resident = ctx.resident
    building = await ctx.uow.community.building(resident.building_id) if resident.building_id else None
    report = PendingReport(
        text=texts.CHECKIN_HELP_ORDER_TEXT,
        category=Category.ASSISTANCE.value,
        priority=Priority.HIGH.value,
        compound_id=building.compound_id if building else None,
        building_id=building.id if building else None,
        unit=resident.unit,
        room=resident.room,
    )
    await open_order(ctx, resident, report)


async def _tell_alerted(ctx: Context, checkin: Checkin, resident: Resident, answer: CheckinAnswer) -> None:
    """Whoever was alerted about silence hears that the resident answered."""
    for person_id in dict.fromkeys(checkin.alerted_people):
        person = await ctx.uow.community.person(person_id)
        if person is not None:
            await ctx.say(person.chat_id, texts.checkin_resolved(resident.name, answer.value))


async def on_member_confirm(ctx: Context, action: Action) -> None:
    """A grid member (or leader, or staff) has seen or phoned the resident: the alert is settled."""
    checkin = await ctx.uow.checkins.get(action.number("checkin_id"))
    if checkin is None or ctx.person is None:
        raise NotAuthorised("not_found")
    if ctx.person.id not in checkin.alerted_people and not ctx.person.is_staff:
        raise NotAuthorised("not_alerted")
    if checkin.answered_at is not None:
        raise TransitionNotAllowed("answered")
    checkin.answered_at, checkin.answer = ctx.clock.now(), CheckinAnswer.CONFIRMED_BY_MEMBER
    await ctx.uow.checkins.save(checkin)
    resident = await ctx.uow.residents.get(checkin.resident_id)
    ctx.callback_answer = texts.CHECKIN_CONFIRMED
    if resident is not None:
        checkin.alerted_people = [p for p in checkin.alerted_people if p != ctx.person.id]
        await _tell_alerted(ctx, checkin, resident, CheckinAnswer.CONFIRMED_BY_MEMBER)


async def toggle(ctx: Context, _args: str) -> None:
    """/checkin: a resident turns the daily check-in on or off for themselves."""
    resident = ctx.resident
    if resident is None or not resident.has_consented:
        await ctx.answer(texts.CONSENT_NEEDED_FIRST)
        return
    resident.checkin = not resident.checkin
    await ctx.uow.residents.save(resident)
    settings = await ctx.uow.community.settings()
    await ctx.answer(
        texts.checkin_on(settings.checkin_time.strftime("%H:%M")) if resident.checkin else texts.CHECKIN_OFF
    )
