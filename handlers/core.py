"""The core's single entry point: one incoming message -> one transaction -> queued replies."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from handlers import texts
from handlers import verbs as callbacks
from handlers.broadcasts import chat as broadcasts
from handlers.broadcasts import subscriptions
from handlers.broadcasts import texts as broadcast_texts
from handlers.care import checkin, ledger
from handlers.community import registration
from handlers.community.model import Person
from handlers.context import Context
from handlers.errors import DomainError, NotAuthorised, TransitionNotAllowed
from handlers.messages import ChatKind, Incoming, Outcome
from handlers.ports import Clock, NoObserver, Notice, Observer, UnitOfWorkFactory
from handlers.verbs import Action
from handlers.workorders import attachments, duty, groups, member, reporting, resident, timers
from handlers.workorders.sla import WeekdayCalendar, WorkCalendar
from nlp.types import Classifier

log = logging.getLogger(__name__)
T = TypeVar("T")

ButtonHandler = Callable[[Context, Action], Awaitable[None]]

# The "incoming" of scheduler ticks: nobody sent anything, the clock did.
_SYSTEM = Incoming(chat_id=0, sender_id=0, sender_name="system")

_BUTTONS: dict[str, ButtonHandler] = {
    "cs": reporting.on_consent,
    "rg": registration.on_register,
    "ad": registration.on_address_step,
    "rc": reporting.on_report_choice,
    "rb": reporting.on_report_choice,
    "rk": reporting.on_report_choice,
    "cx": resident.on_cancel,
    "ra": resident.on_rate,
    "ac": member.on_accept,
    "tr": member.on_transfer_menu,
    "tt": member.on_transfer_to,
    "rt": member.on_return,
    "rs": member.on_resolve,
    "dp": member.on_dispatch,
    "dj": reporting.on_duplicate_choice,
    "dn": reporting.on_duplicate_choice,
    "sv": member.on_supervise,
    "ci": checkin.on_answer,
    "cm": checkin.on_member_confirm,
    "lg": ledger.on_consent,
    "cl": groups.on_claim,
    "bc": broadcasts.on_control,
    "al": broadcasts.on_alert,
    "sb": subscriptions.on_toggle,
}


def _error_text(error: DomainError) -> str:
    if isinstance(error, NotAuthorised):
        return texts.ORDER_NOT_FOUND if error.code == "not_found" else texts.NOT_ALLOWED
    if isinstance(error, TransitionNotAllowed):
        return texts.STATE_CHANGED
    return texts.STALE_BUTTON


class Core:
    """Framework-free gridbot. Transports call `handle` for each update and deliver the outbox."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        classifier: Classifier,
        clock: Clock,
        calendar: WorkCalendar | None = None,
        observer: Observer | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._classifier = classifier
        self._clock = clock
        self._calendar = calendar or WeekdayCalendar()
        self._observer: Observer = observer or NoObserver()

    def warm_up(self) -> None:
        """Load what the classifier builds lazily (jieba's dictionary), so no message waits for it."""
        warm_up = getattr(self._classifier, "warm_up", None)
        if callable(warm_up):
            warm_up()

    async def run_timers(self) -> int:
        """One scheduler tick for work orders: reminders and escalations that are due now."""
        return await self.run_job(timers.run_due_timers)

    async def run_checkins(self) -> int:
        """One scheduler tick for the daily check-in: ask, alert, escalate."""
        return await self.run_job(checkin.run_checkins)

    async def run_job(self, job: Callable[[Context], Awaitable[T]]) -> T:
        """Run a job nobody sent (a tick, an import) in one transaction, as the system."""
        async with self._uow_factory() as uow:
            ctx = Context(uow, self._clock, self._classifier, _SYSTEM, None, None, calendar=self._calendar)
            done = await job(ctx)
            await uow.commit()
        self._report(ctx.notices)
        return done

    async def handle(self, incoming: Incoming) -> Outcome:
        """Handle one update exactly once: its effects and its dedupe key commit together."""
        async with self._uow_factory() as uow:
            await uow.serialize_chat(incoming.chat_id)
            if incoming.dedupe_key is not None and not await uow.inbound.first_time(incoming.dedupe_key):
                log.info("duplicate update %s ignored", incoming.dedupe_key)
                return Outcome(duplicate=True)
            ctx = Context(
                uow=uow,
                clock=self._clock,
                classifier=self._classifier,
                incoming=incoming,
                person=await uow.community.person_by_chat(incoming.sender_id),
                resident=await uow.residents.by_chat(incoming.sender_id),
                calendar=self._calendar,
            )
            try:
                await _dispatch(ctx)
            except DomainError as error:
                # Refused: undo everything, then record the update and the refusal on their own.
                log.info("refused %s: %s", _kind(incoming), error)
                await uow.rollback()
                return await self._refuse(incoming, error)
            await uow.commit()
        self._report(ctx.notices)
        return Outcome(callback_answer=ctx.callback_answer, replies=ctx.replies)

    def _report(self, notices: list[Notice]) -> None:
        """Tell the observer what the committed transaction did; counting never breaks handling."""
        for notice in notices:
            try:
                self._observer.observe(notice)
            except Exception:
                log.exception("observer failed on %s", notice.what)

    async def _refuse(self, incoming: Incoming, error: DomainError) -> Outcome:
        message = _error_text(error)
        async with self._uow_factory() as uow:
            if incoming.dedupe_key is not None:
                await uow.inbound.first_time(incoming.dedupe_key)
            if incoming.callback_data is not None:
                await uow.commit()
                return Outcome(callback_answer=message)
            ctx = Context(uow, self._clock, self._classifier, incoming, None, None)
            await ctx.answer(message)
            await uow.commit()
            return Outcome(replies=ctx.replies)


def _kind(incoming: Incoming) -> str:
    # Logged instead of the content: messages carry personal data.
    if incoming.callback_data is not None:
        return f"button {incoming.callback_data.split(':', 1)[0]}"
    if incoming.photo is not None:
        return "photo"
    return "command" if incoming.is_command else "text"


async def _dispatch(ctx: Context) -> None:
    incoming = ctx.incoming
    if incoming.callback_data is not None:
        action = callbacks.decode(incoming.callback_data)
        handler = _BUTTONS.get(action.verb) if action else None
        if action is None or handler is None:
            ctx.callback_answer = texts.STALE_BUTTON
            return
        await handler(ctx, action)
        return
    text = (incoming.text or "").strip()
    if text.startswith("/"):
        await _command(ctx, text)
        return
    if incoming.reply_to_message_id is not None and await _relay(ctx, text):
        return
    if incoming.chat_kind is ChatKind.GROUP:
        return  # in group chats only commands and replies to order cards concern the bot
    if incoming.location is not None and not text:
        await attachments.on_location(ctx, incoming.location)
        return
    if incoming.photo is not None and not text:
        await attachments.on_photo(ctx, incoming.photo)
        return
    conversation = await ctx.uow.conversations.get(ctx.chat_id)
    if conversation is not None and text:
        if conversation.step == attachments.STEP_ATTACH:
            await attachments.report_with_attachments(ctx, text, conversation)
            return
        if conversation.step == member.STEP_RESOLVE_NOTE:
            await member.on_resolve_note(ctx, text, int(conversation.data["order_id"]))
            return
        if conversation.step == registration.STEP_ROOM:
            await registration.on_room_text(ctx, text)
            return
    await reporting.report(ctx, text or (incoming.text or ""), photo=incoming.photo)


async def _relay(ctx: Context, text: str) -> bool:
    """A reply to a message about an order goes to the other side of that order."""
    assert ctx.incoming.reply_to_message_id is not None
    order_id = await ctx.uow.links.order_for(ctx.chat_id, ctx.incoming.reply_to_message_id)
    if order_id is None or not text:
        return False
    order = await ctx.uow.orders.get(order_id)
    if order is None:
        return False
    if ctx.resident is not None and order.resident_id == ctx.resident.id:
        return await resident.relay_to_handler(ctx, order, text)
    if ctx.person is not None:
        await member.relay_to_resident(ctx, order, text)
        return True
    return False


async def _help(ctx: Context, _args: str) -> None:
    person: Person | None = ctx.person
    if person is not None and person.is_staff:
        await ctx.answer(texts.HELP_STAFF + "\n" + broadcast_texts.HELP_STAFF + "\n" + texts.HELP_MEMBER)
    elif person is not None:
        await ctx.answer(texts.HELP_MEMBER)
    else:
        await ctx.answer(texts.HELP_RESIDENT)


async def _address(ctx: Context, _args: str) -> None:
    if ctx.resident is not None and ctx.resident.has_consented:
        await registration.ask_compound_for_address(ctx)
    else:
        await registration.start(ctx)


CommandHandler = Callable[[Context, str], Awaitable[None]]

# Slash commands: name -> handler(ctx, the text after the command). Feature modules add theirs here.
_COMMANDS: dict[str, CommandHandler] = {
    "start": lambda ctx, _: registration.start(ctx),
    "help": _help,
    "my": lambda ctx, _: resident.my_orders(ctx),
    "orders": lambda ctx, _: member.open_orders(ctx),
    "address": _address,
    "mydata": lambda ctx, _: registration.my_data(ctx),
    "deletedata": lambda ctx, _: registration.delete_data(ctx),
    "checkin": checkin.toggle,
    "leave": duty.leave,
    "back": duty.back,
    "team": duty.team,
    "overdue": duty.overdue,
    "stats": duty.stats,
    "ledger": ledger.show,
    "ledger_add": ledger.add,
    "ledger_remove": ledger.remove,
    "broadcast": broadcasts.broadcast_command,
    "alert": broadcasts.alert_command,
    "subscriptions": subscriptions.subscriptions_command,
}


async def _command(ctx: Context, text: str) -> None:
    head, _, args = text.partition(" ")
    command = head[1:].split("@", 1)[0].lower()  # "/my@gridbot" in group chats
    handler = _COMMANDS.get(command)
    if handler is None:
        await ctx.answer(texts.UNKNOWN_COMMAND)
        return
    await handler(ctx, args.strip())
