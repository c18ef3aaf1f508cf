"""Drive the core like people in chats do, whatever the storage behind it; see what each chat receives."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from handlers.core import Core
from handlers.messages import Button, Incoming, Outcome, Reply
from tools.example_community import EXAMPLE_COMMUNITY as EXAMPLE_COMMUNITY  # tests import it from here

# Chat ids of the example community (deploy/examples/community.yaml)
STAFF_LIU, STAFF_CHEN, POLICE_WU = 1001, 1002, 1003
LEADER_WANG, MEMBER_LI, MEMBER_ZHANG = 2001, 2002, 2003  # 第一网格: 兴泰小区, 太平洋
LEADER_ZHAO, MEMBER_QIAN = 2101, 2102  # 第二网格: 森源华府, 滨河花园
MEMBER_YANG = 2202  # 第三网格
RESIDENT_ZHANG, RESIDENT_CHEN = 9001, 9002  # 张阿姨 兴泰小区5号楼2单元501; 老陈 森源华府6号楼
NEWCOMER = 9500


@dataclass(frozen=True)
class Sent:
    message_id: int
    reply: Reply
    reply_to_message_id: int | None

    @property
    def chat_id(self) -> int:
        return self.reply.chat_id

    @property
    def text(self) -> str:
        return self.reply.text

    def button(self, label: str) -> Button:
        for row in self.reply.buttons:
            for b in row:
                if b.text == label or b.text.startswith(label):
                    return b
        raise AssertionError(f"no button {label!r} in {self.reply.buttons}")


@dataclass
class ChatDriver:
    core: Core
    deliver: Callable[[], Awaitable[list[Sent]]]
    sent: list[Sent] = field(default_factory=list)
    edits: list[Sent] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100_000))

    async def _handle(self, incoming: Incoming) -> Outcome:
        outcome = await self.core.handle(incoming)
        await self.deliver_now()
        return outcome

    async def deliver_now(self) -> None:
        """Deliver what is queued (after a scheduler tick, say)."""
        for item in await self.deliver():
            edited = item.reply.edit_message_id
            if edited is None:
                self.sent.append(item)
                continue
            # An edit changes what the chat shows in place, as Telegram does.
            for i, earlier in enumerate(self.sent):
                if earlier.message_id == edited and earlier.chat_id == item.chat_id:
                    reply = replace(item.reply, edit_message_id=None)
                    self.sent[i] = Sent(earlier.message_id, reply, earlier.reply_to_message_id)
            self.edits.append(item)

    async def text(self, chat_id: int, text: str, reply_to: int | None = None, name: str = "") -> Outcome:
        message_id = next(self.ids)
        return await self._handle(
            Incoming(
                chat_id=chat_id,
                sender_id=chat_id,
                sender_name=name,
                message_id=message_id,
                text=text,
                reply_to_message_id=reply_to,
                dedupe_key=f"m:{chat_id}:{message_id}",
            )
        )

    async def press(self, chat_id: int, data: str, on: Sent | None = None) -> Outcome:
        return await self._handle(
            Incoming(
                chat_id=chat_id,
                sender_id=chat_id,
                callback_data=data,
                callback_message_id=on.message_id if on else None,
                dedupe_key=f"cb:{next(self.ids)}",
            )
        )

    async def press_button(self, chat_id: int, label: str) -> Outcome:
        """Press the button labelled `label` on the newest message in that chat that has it."""
        for sent in reversed(self.inbox(chat_id)):
            try:
                button = sent.button(label)
            except AssertionError:
                continue
            return await self.press(chat_id, button.data, on=sent)
        raise AssertionError(f"chat {chat_id} has no button {label!r}")

    def inbox(self, chat_id: int) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    def last(self, chat_id: int) -> Sent:
        box = self.inbox(chat_id)
        assert box, f"chat {chat_id} received nothing"
        return box[-1]

    def texts(self, chat_id: int) -> list[str]:
        return [s.text for s in self.inbox(chat_id)]

    def clear(self) -> None:
        self.sent.clear()
