"""Run a core use case as a desk user (`Core.run_as`): the same Context, unit of work and outbox as a chat update.

What the use case says "back to the sender" (ctx.answer) is addressed to a chat id no Telegram chat can have
(DESK_CHAT) and becomes the page's notice instead of a chat message; what it says to a resident recorded at
the desk (who has no chat) is shown for staff to pass on. Everything else goes into the outbox, and the
chat side sends it after the transaction commits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from handlers.broadcasts import texts as broadcast_texts
from handlers.broadcasts.model import BroadcastRefused
from handlers.community.structure import StructureRefused
from handlers.context import Context
from handlers.core import Core
from handlers.desk.recording import OFFLINE_CHATS_BELOW, RecordingRefused, is_offline_chat
from handlers.errors import DomainError, NotAuthorised, TransitionNotAllowed
from handlers.messages import Reply
from storage.queues.outbox import SqlOutbox
from storage.uow import SqlUnitOfWork

T = TypeVar("T")
DESK_CHAT = OFFLINE_CHATS_BELOW - 10**16  # below every desk-only resident's chat id too


class _DeskOutbox:
    """The outbox, minus what cannot be sent: the desk's own answers and messages to desk-only residents."""

    def __init__(self, inner: SqlOutbox, notices: list[str], pass_on: list[str]) -> None:
        self._inner = inner
        self._notices = notices
        self._pass_on = pass_on

    async def put(self, reply: Reply) -> None:
        if reply.chat_id == DESK_CHAT:
            self._notices.append(reply.text)
        elif is_offline_chat(reply.chat_id):
            self._pass_on.append(reply.text)
        else:
            await self._inner.put(reply)


class DeskUnitOfWork:
    """The SQL unit of work with the desk's outbox (same session, same transaction)."""

    def __init__(self, inner: SqlUnitOfWork, outbox: _DeskOutbox) -> None:
        self._inner = inner
        self.community = inner.community
        self.residents = inner.residents
        self.orders = inner.orders
        self.links = inner.links
        self.conversations = inner.conversations
        self.inbound = inner.inbound
        self.outbox = outbox
        self.broadcasts = inner.broadcasts
        self.ledger = inner.ledger
        self.checkins = inner.checkins
        self.privacy = inner.privacy
        self.labels = inner.labels  # a correction on the desk is a labelled example too
        self.followups = inner.followups
        self.desk = inner.desk

    async def serialize_chat(self, chat_id: int) -> None:
        await self._inner.serialize_chat(chat_id)

    async def __aenter__(self) -> DeskUnitOfWork:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def commit(self) -> None:
        await self._inner.commit()

    async def rollback(self) -> None:
        await self._inner.rollback()


@dataclass
class Done(Generic[T]):
    """What a desk action did: its value, or the reason it was refused; and what to show the user."""

    value: T | None = None
    refused: str | None = None
    notices: list[str] = field(default_factory=list)
    pass_on: list[str] = field(default_factory=list)  # tell the caller (a resident without chat) this


def refusal_text(error: DomainError) -> str:
    if isinstance(error, RecordingRefused):
        return error.message
    if isinstance(error, BroadcastRefused):
        return broadcast_texts.refused(error.code)
    if isinstance(error, StructureRefused):
        return "与导入社区文件的检查相同，这个修改没有通过：" + "；".join(error.problems)
    if isinstance(error, NotAuthorised) and error.code == "inactive":
        return "您的账号已停用。"
    if isinstance(error, NotAuthorised):
        return "工单不存在或不在您的范围内。" if error.code == "not_found" else "您没有权限做这个操作。"
    if isinstance(error, TransitionNotAllowed):
        return "工单的状态已经变了（或这个操作不适用），请刷新后再看。"
    return "操作没有完成，请刷新后再试。"


# Writes the audit record of the change, inside the same transaction.
AuditHook = Callable[[SqlUnitOfWork, T], Awaitable[None]]


class DeskRunner:
    """Desk actions through `Core.run_as`: the chat's transaction steps, with the desk's outbox and audit."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def act(
        self, person_id: int, job: Callable[[Context], Awaitable[T]], audit: AuditHook[T] | None = None
    ) -> Done[T]:
        """Run `job` as the person (re-read now: a deactivated person can do nothing), commit once."""
        notices: list[str] = []
        pass_on: list[str] = []

        def wrap(inner: SqlUnitOfWork) -> DeskUnitOfWork:
            return DeskUnitOfWork(inner, _DeskOutbox(inner.outbox, notices, pass_on))

        try:
            value = await self.core.run_as(person_id, job, chat_id=DESK_CHAT, wrap=wrap, before_commit=audit)
        except DomainError as error:
            return Done(refused=refusal_text(error))
        return Done(value=value, notices=notices, pass_on=pass_on)
