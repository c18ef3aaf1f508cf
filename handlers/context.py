"""Everything one use case needs while it handles one incoming message, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field

from handlers.community.model import Person, Resident, is_erased_chat
from handlers.messages import Attachment, Button, DeliveryPriority, Incoming, Reply
from handlers.ports import Clock, Happened, Notice, UnitOfWork
from handlers.workorders.model import Actor
from handlers.workorders.sla import WeekdayCalendar, WorkCalendar
from nlp.categories import SHIPPED, Catalog
from nlp.types import Classifier


@dataclass(frozen=True)
class Limits:
    """What one resident may ask of the community (set per deployment: bot/settings.py)."""

    reports_per_hour: int = 20  # work orders opened; emergencies are never limited


@dataclass
class Context:
    uow: UnitOfWork
    clock: Clock
    classifier: Classifier
    incoming: Incoming
    person: Person | None
    resident: Resident | None
    replies: list[Reply] = field(default_factory=list)
    callback_answer: str | None = None
    calendar: WorkCalendar = field(default_factory=WeekdayCalendar)
    limits: Limits = field(default_factory=Limits)
    # The community's categories: labels, priorities and the order residents are offered them.
    categories: Catalog = SHIPPED
    # What happened, for the observer; the core reports it only if this transaction commits.
    notices: list[Notice] = field(default_factory=list)

    @property
    def chat_id(self) -> int:
        return self.incoming.chat_id

    @property
    def actor(self) -> Actor:
        if self.person is not None:
            return Actor("person", self.person.id)
        if self.resident is not None:
            return Actor("resident", self.resident.id)
        return Actor.system()

    async def say(
        self,
        chat_id: int,
        text: str,
        buttons: tuple[tuple[Button, ...], ...] = (),
        *,
        order_id: int | None = None,
        thread: bool = False,
        photo: str | None = None,
        edit_message_id: int | None = None,
        priority: DeliveryPriority = DeliveryPriority.NORMAL,
        attachment: Attachment | None = None,
    ) -> None:
        """Queue a message in the outbox; it is sent after this transaction commits (urgent ones first)."""
        if is_erased_chat(chat_id):
            return  # a resident who deleted their data: there is nobody to tell
        reply = Reply(
            chat_id=chat_id,
            text=text,
            buttons=buttons,
            order_id=order_id,
            thread=thread,
            photo=photo,
            edit_message_id=edit_message_id,
            priority=priority,
            attachment=attachment,
        )
        self.replies.append(reply)
        await self.uow.outbox.put(reply)

    def notice(self, what: Happened, detail: str = "") -> None:
        """Note something operations count (an order opened, an escalation) for after the commit."""
        self.notices.append(Notice(what, detail))

    async def answer(
        self, text: str, buttons: tuple[tuple[Button, ...], ...] = (), *, attachment: Attachment | None = None
    ) -> None:
        """Reply in the chat the incoming message came from (with a file, when given)."""
        await self.say(self.chat_id, text, buttons, attachment=attachment)


def rows(buttons: list[Button], per_row: int) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))
