"""The core's single entry point: one incoming message -> one transaction -> queued replies.

Features register what they answer (handlers/<feature>/registry.py); the core merges their tables,
dispatches each update to the feature that registered it, and owns the transaction and its one error path.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import traceback
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from handlers import texts
from handlers import verbs as callbacks
from handlers.broadcasts import texts as broadcast_texts
from handlers.broadcasts.registry import FEATURE as BROADCASTS
from handlers.care import checkin
from handlers.care.registry import FEATURE as CARE
from handlers.community.model import Person
from handlers.community.registry import FEATURE as COMMUNITY
from handlers.context import Context, Limits
from handlers.desk.registry import FEATURE as DESK
from handlers.edge import clean
from handlers.errors import DomainError, NotAuthorised, TransitionNotAllowed
from handlers.features import Feature, merge
from handlers.followups.registry import FEATURE as FOLLOWUPS
from handlers.labels.registry import FEATURE as LABELS
from handlers.messages import ChatKind, Incoming, Outcome
from handlers.ports import Clock, NoObserver, Notice, Observer, UnitOfWork, UnitOfWorkFactory
from handlers.statistics.registry import FEATURE as STATISTICS
from handlers.workorders import attachments, member, reporting, resident, timers
from handlers.workorders.registry import FEATURE as WORKORDERS
from handlers.workorders.sla import WeekdayCalendar, WorkCalendar
from nlp.categories import Catalog, categories_of
from nlp.types import Classifier

log = logging.getLogger(__name__)
T = TypeVar("T")

# The "incoming" of scheduler ticks: nobody sent anything, the clock did.
_SYSTEM = Incoming(chat_id=0, sender_id=0, sender_name="system")


def may_recover(error: Exception) -> bool:
    """The default for `Core(retry=...)`: a lost connection or a timeout may be gone at the next attempt."""
    return isinstance(error, OSError | TimeoutError)


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
        retry: Callable[[Exception], bool] = may_recover,
        limits: Limits | None = None,
        categories: Catalog | None = None,
    ) -> None:
        """`retry` picks the failures worth another attempt (the database briefly away): those propagate,
        so the transport's journal replays the update. Any other failure is an incident: answered once and
        never replayed, since handling the same update again would fail the same way."""
        self._uow_factory = uow_factory
        self._classifier = classifier
        self._clock = clock
        self._calendar = calendar or WeekdayCalendar()
        self._observer: Observer = observer or NoObserver()
        self._retry = retry
        self._limits = limits or Limits()
        # the rules' categories when the classifier has them (RuleClassifier), else the shipped ones
        self.categories: Catalog = categories or categories_of(classifier)

    def warm_up(self) -> None:
        """Load what the classifier builds lazily (jieba's dictionary), so no message waits for it."""
        warm_up = getattr(self._classifier, "warm_up", None)
        if callable(warm_up):
            warm_up()

    def look_ahead(self, texts: Sequence[str]) -> None:
        """Messages about to be handled (a page of updates): a classifier that can classify them together
        now (RuleClassifier.look_ahead) does, far cheaper a message than one by one later."""
        look_ahead = getattr(self._classifier, "look_ahead", None)
        if callable(look_ahead) and len(texts) > 1:
            look_ahead(texts)

    async def run_timers(self) -> int:
        """One scheduler tick for work orders: reminders and escalations that are due now."""
        return await self.run_job(timers.run_due_timers)

    async def run_checkins(self) -> int:
        """One scheduler tick for the daily check-in: ask, alert, escalate."""
        return await self.run_job(checkin.run_checkins)

    async def run_job(self, job: Callable[[Context], Awaitable[T]]) -> T:
        """Run a job nobody sent (a tick, an import) in one transaction, as the system."""
        async with self._uow_factory() as uow:
            ctx = Context(
                uow,
                self._clock,
                self._classifier,
                _SYSTEM,
                None,
                None,
                calendar=self._calendar,
                categories=self.categories,
            )
            done = await job(ctx)
            await uow.commit()
        self._report(ctx.notices)
        return done

    async def run_as(
        self,
        person_id: int,
        job: Callable[[Context], Awaitable[T]],
        *,
        chat_id: int,
        wrap: Callable[[Any], UnitOfWork] | None = None,
        before_commit: Callable[[Any, T], Awaitable[None]] | None = None,
    ) -> T:
        """Run `job` as the active person `person_id` (re-read now), in one transaction, as their chat would.

        For entry points other than chat (the desk): what the job answers goes to `chat_id`; `wrap` may put
        the unit of work behind another face (the desk's outbox), and `before_commit` adds to the same
        transaction (the desk's audit record), given the factory's own unit of work. A refusal (DomainError;
        NotAuthorised("inactive") when the person is gone) rolls everything back and propagates.
        """
        async with self._uow_factory() as inner:
            person = await inner.community.person(person_id)
            if person is None:
                raise NotAuthorised("inactive")
            uow = wrap(inner) if wrap is not None else inner
            incoming = Incoming(chat_id=chat_id, sender_id=person.chat_id, sender_name=person.name)
            ctx = Context(
                uow,
                self._clock,
                self._classifier,
                incoming,
                person,
                None,
                calendar=self._calendar,
                limits=self._limits,
                categories=self.categories,
            )
            try:
                done = await job(ctx)
                if before_commit is not None:
                    await before_commit(inner, done)
                await inner.commit()
            except DomainError:
                await inner.rollback()
                raise
        self._report(ctx.notices)
        return done

    async def handle(self, incoming: Incoming) -> Outcome:
        """Handle one update exactly once: its effects and its dedupe key commit together.

        A refusal (DomainError) or an unexpected failure undoes everything; then the update's dedupe key
        and one polite answer are recorded on their own, so the update is not handled again.
        """
        incoming = clean(incoming)  # what people type, made storable before anything reads it
        async with self._uow_factory() as uow:
            if not await _begin(uow, incoming):
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
                limits=self._limits,
                categories=self.categories,
            )
            refusal: DomainError | None = None
            failure: Exception | None = None
            try:
                await _dispatch(ctx)
                await uow.commit()
            except DomainError as error:
                log.info("refused %s: %s", _kind(incoming), error)
                await uow.rollback()
                refusal = error
            except Exception as error:
                if self._retry(error):
                    raise
                with contextlib.suppress(Exception):  # a dead connection cannot roll back; closing ends it
                    await uow.rollback()
                failure = error
        if refusal is not None:
            return await self._answer_alone(incoming, _error_text(refusal))
        if failure is not None:
            return await self._fail(incoming, failure)
        self._report(ctx.notices)
        return Outcome(callback_answer=ctx.callback_answer, replies=ctx.replies)

    def _report(self, notices: list[Notice]) -> None:
        """Tell the observer what the committed transaction did; counting never breaks handling."""
        for notice in notices:
            try:
                self._observer.observe(notice)
            except Exception:
                log.exception("observer failed on %s", notice.what)

    async def _fail(self, incoming: Incoming, error: Exception) -> Outcome:
        """The one error path: log once with an incident number, tell the person, never replay."""
        incident = secrets.token_hex(4)
        # The type and the stack only: an exception's message may quote what the person wrote.
        log.error(
            "incident %s: %s failed with %s\n%s",
            incident,
            _kind(incoming),
            type(error).__name__,
            _stack(error),
        )
        try:
            outcome = await self._answer_alone(incoming, texts.internal_error(incident))
        except Exception as unrecorded:
            # Not even that could be stored (the database is away): the transport's journal replays it.
            log.warning(
                "incident %s not recorded (%s); the update stays to be retried",
                incident,
                type(unrecorded).__name__,
            )
            raise
        outcome.incident = incident
        return outcome

    async def _answer_alone(self, incoming: Incoming, message: str) -> Outcome:
        """Record the update as handled and answer it with `message`, nothing else (a new transaction)."""
        async with self._uow_factory() as uow:
            if not await _begin(uow, incoming):
                return Outcome(duplicate=True)  # a replay got there in between and answered it
            if incoming.callback_data is not None:
                await uow.commit()
                return Outcome(callback_answer=message)
            ctx = Context(
                uow, self._clock, self._classifier, incoming, None, None, categories=self.categories
            )
            await ctx.answer(message)
            await uow.commit()
            return Outcome(replies=ctx.replies)


async def _begin(uow: UnitOfWork, incoming: Incoming) -> bool:
    """Hold the chat and record the update's dedupe key; False for an update handled before."""
    # SQL storage does both in one round trip (storage/uow.py); other units of work in two steps.
    begin_update = getattr(uow, "begin_update", None)
    if begin_update is not None:
        return bool(await begin_update(incoming.chat_id, incoming.dedupe_key))
    await uow.serialize_chat(incoming.chat_id)
    return incoming.dedupe_key is None or await uow.inbound.first_time(incoming.dedupe_key)


def _kind(incoming: Incoming) -> str:
    # Logged instead of the content: messages carry personal data, and button data is typed by anyone.
    if incoming.callback_data is not None:
        action = callbacks.decode(incoming.callback_data)
        return f"button {action.verb.value}" if action else "stale button"
    if incoming.photo is not None:
        return "photo"
    return "command" if incoming.is_command else "text"


def _stack(error: BaseException) -> str:
    """Where `error` (and what caused it) was raised: files, lines and code, never the messages."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(parts) < 3:
        seen.add(id(current))
        frames = "".join(traceback.format_list(traceback.extract_tb(current.__traceback__)))
        parts.append(f"{type(current).__name__} raised at:\n{frames}".rstrip())
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


async def _help(ctx: Context, _args: str) -> None:
    person: Person | None = ctx.person
    if person is not None and person.is_staff:
        await ctx.answer(texts.HELP_STAFF + "\n" + broadcast_texts.HELP_STAFF + "\n" + texts.HELP_MEMBER)
    elif person is not None:
        await ctx.answer(texts.HELP_MEMBER)
    else:
        await ctx.answer(texts.HELP_RESIDENT)


# Each feature's registrations, merged; a verb, command or step registered twice fails here, at import.
FEATURES: tuple[Feature, ...] = (
    Feature(name="core", commands={"help": _help}),
    COMMUNITY,
    WORKORDERS,
    CARE,
    BROADCASTS,
    DESK,
    STATISTICS,
    LABELS,
    FOLLOWUPS,
)
TABLES = merge(FEATURES)


async def _dispatch(ctx: Context) -> None:
    incoming = ctx.incoming
    if incoming.callback_data is not None:
        action = callbacks.decode(incoming.callback_data)
        on_press = TABLES.buttons.get(action.verb) if action else None
        if action is None or on_press is None:
            ctx.callback_answer = texts.STALE_BUTTON
            return
        await on_press(ctx, action)
        if ctx.callback_answer is None:  # every press gets a visible answer, at least a short toast
            ctx.callback_answer = texts.PRESS_NOTED
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
        on_text = TABLES.steps.get(conversation.step)
        if on_text is not None:
            await on_text(ctx, text, conversation)
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
    if ctx.resident is not None and (
        order.resident_id == ctx.resident.id or ctx.resident.id in order.followers
    ):
        return await resident.relay_to_handler(ctx, order, text)  # the reporter, or a "me too" follower
    if ctx.person is not None:
        await member.relay_to_resident(ctx, order, text)
        return True
    return False


async def _command(ctx: Context, text: str) -> None:
    head, _, args = text.partition(" ")
    command = head[1:].split("@", 1)[0].lower()  # "/my@gridbot" in group chats
    on_command = TABLES.commands.get(command)
    if on_command is None:
        await ctx.answer(texts.UNKNOWN_COMMAND)
        return
    await on_command(ctx, args.strip())
