"""The local chat console: talk to gridbot as any resident or member, no token, no network.

Everything goes through the same core and outbox as Telegram; only rendering differs.
"""

from __future__ import annotations

import itertools
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from sqlalchemy import func, select

from bot.app import App
from bot.delivery.broadcasts import BroadcastSender
from bot.delivery.replies import OutboxSender
from bot.imports.yaml_source import parse_duration
from bot.schedule.clock import ConsoleClock
from handlers.community.invites import NotInvitable, deep_link, issue
from handlers.community.model import ROLE_LABELS, Role
from handlers.messages import Attachment, Button, Incoming, Reply
from storage.models import MessageLinkRow, PersonRow, ResidentRow

CONSOLE_HELP = """控制台指令 (console commands):
  /as 名字            切换身份 (switch persona), e.g. /as 李娜
  /who                列出可用身份 (list personas)
  /press N            按下最近一条消息的第 N 个按钮 (press button N of the latest message with buttons)
  /press #M N         按下消息 #M 的第 N 个按钮
  /reply #M 文字      回复消息 #M (reply to message M: relays to the other side of its work order)
  /reply 文字         回复最近一条工单消息 (reply to the newest message about a work order)
  /photo [说明]       发送一张照片 (send a photo, optional caption)
  /tick 2h            时间快进（如 30m、2h、1d）并运行定时任务：催办、超时上报、平安问候
  /clock 2026-12-01 09:00   把控制台时间设为某一刻 (set the console's time)
  /invite 名字 [居民]  生成邀请链接，并以受邀人的新聊天打开它 (invite someone; they open the link)
  /quit               退出
其他输入都作为当前身份发给机器人（包括 /start /my /orders /help）。"""


@dataclass
class ConsoleMessage:
    id: int
    chat_id: int
    text: str
    buttons: tuple[tuple[Button, ...], ...]
    order_id: int | None = None


@dataclass
class Persona:
    name: str
    chat_id: int
    label: str


@dataclass
class ConsoleMessenger:
    """Delivers replies by printing them; keeps every message so buttons can be pressed later."""

    out: TextIO
    names: dict[int, str] = field(default_factory=dict)
    messages: dict[int, ConsoleMessage] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    files: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "gridbot-console-files")

    def next_id(self) -> int:
        return next(self.ids)

    async def send(self, reply: Reply, reply_to_message_id: int | None) -> int | None:
        who = self.names.get(reply.chat_id, str(reply.chat_id))
        if reply.edit_message_id is not None and reply.edit_message_id in self.messages:
            message = self.messages[reply.edit_message_id]
            message.text, message.buttons = reply.text, reply.buttons
            self._print(f"  ✎ {who} 的消息 #{message.id} 已更新", message, reply_to_message_id)
            return None
        message = ConsoleMessage(self.next_id(), reply.chat_id, reply.text, reply.buttons, reply.order_id)
        self.messages[message.id] = message
        header = f"  ┌─ 发给 {who}  #{message.id}"
        if reply.photo:
            header += "  [照片]"
        if reply.attachment is not None:
            header += f"  📎 {self._save(message.id, reply.attachment)}"
        self._print(header, message, reply_to_message_id)
        return message.id

    def _save(self, message_id: int, attachment: Attachment) -> Path:
        """A file the bot sent, saved where the person at the console can open it."""
        self.files.mkdir(parents=True, exist_ok=True)
        path = self.files / f"{message_id}-{Path(attachment.filename).name}"
        path.write_bytes(attachment.data)
        return path

    def _print(self, header: str, message: ConsoleMessage, reply_to: int | None) -> None:
        if reply_to is not None:
            header += f"  ↪ 回复 #{reply_to}"
        lines = [header]
        lines += [f"  │ {line}" for line in message.text.splitlines() or [""]]
        numbered = [b for row in message.buttons for b in row]
        if numbered:
            lines.append("  │ " + "  ".join(f"[{i}] {b.text}" for i, b in enumerate(numbered, 1)))
        lines.append("  └─")
        print("\n".join(lines), file=self.out)

    def latest_about_an_order(self, chat_id: int) -> ConsoleMessage | None:
        for message in reversed(self.messages.values()):
            if message.chat_id == chat_id and message.order_id is not None:
                return message
        return None

    def latest_with_buttons(self, chat_id: int) -> ConsoleMessage | None:
        for message in reversed(self.messages.values()):
            if message.chat_id == chat_id and message.buttons:
                return message
        return None


class ConsoleSession:
    def __init__(self, app: App, out: TextIO = sys.stdout) -> None:
        self.app = app
        self.out = out
        self.messenger = ConsoleMessenger(out)
        self.sender = OutboxSender(app.outbox, self.messenger, delivery=app.settings.delivery)
        self.broadcasts = (
            BroadcastSender(
                app.broadcast_queue, self.messenger, app.settings.delivery, app.settings.broadcast
            )
            if app.broadcast_queue is not None
            else None
        )
        self.personas: dict[str, Persona] = {}
        self.unjoined: dict[str, str] = {}  # listed without a chat id: name -> roles, until /invite
        self.current: Persona | None = None
        self.failed = False

    async def load_personas(self) -> None:
        async with self.app.uow_factory() as uow:
            session = uow.session
            # Message ids must never repeat in a chat (replies are matched by them), also across runs.
            last = await session.scalar(select(func.max(MessageLinkRow.message_id)))
            self.messenger.ids = itertools.count((last or 0) + 1)
            for person in await session.scalars(
                select(PersonRow).where(PersonRow.active).order_by(PersonRow.id)
            ):
                roles = "、".join(ROLE_LABELS[Role(r)] for r in person.roles)
                if person.chat_id is None:
                    self.unjoined[person.name] = roles
                    continue
                self._add(Persona(person.name, person.chat_id, roles))
            for resident in await session.scalars(select(ResidentRow).order_by(ResidentRow.id)):
                self._add(Persona(resident.name, resident.chat_id, "居民"))
        self.current = next((p for p in self.personas.values() if p.label == "居民"), None)

    def _add(self, persona: Persona) -> None:
        self.personas[persona.name] = persona
        self.messenger.names[persona.chat_id] = f"{persona.name}（{persona.label}）"

    def say(self, text: str) -> None:
        print(text, file=self.out)

    async def run_lines(self, lines: Iterable[str], echo: bool) -> None:
        await self.sender.flush()  # anything left from a previous run
        for raw in lines:
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                if echo and line.lstrip().startswith("##"):
                    self.say(f"\n{line.lstrip('# ').strip()}")
                continue
            if echo and self.current is not None:
                self.say(f"\n{self.current.name} > {line}")
            if not await self.execute(line):
                break

    async def execute(self, line: str) -> bool:
        """Run one console line; False to stop."""
        text = line.strip()
        command, _, rest = text.partition(" ")
        if command == "/quit":
            return False
        if command == "/help" and not rest and self.current is None:
            self.say(CONSOLE_HELP)
            return True
        if command == "/as":
            self.switch(rest.strip())
            return True
        if command == "/who":
            for p in self.personas.values():
                self.say(f"  {p.name}（{p.label}）")
            for name, roles in self.unjoined.items():
                self.say(f"  {name}（{roles}，还没加入：/invite {name}）")
            return True
        if command == "/invite":
            await self.invite(rest)
            return True
        if self.current is None:
            self.say("请先用 /as 名字 选择一个身份。")
            return True
        if command in ("/tick", "/clock"):
            await self.move_time(command, rest.strip())
            return True
        if command == "/press":
            await self.press(rest)
        elif command == "/reply":
            target, _, reply_text = rest.strip().partition(" ")
            message_id = _message_ref(target) if target.startswith("#") else None
            if message_id is None:  # "/reply 文字": the newest message about a work order in this chat
                reply_text = rest.strip()
                latest = self.messenger.latest_about_an_order(self.current.chat_id)
                message_id = latest.id if latest else None
            target_message = self.messenger.messages.get(message_id) if message_id is not None else None
            if target_message is None or target_message.chat_id != self.current.chat_id:
                self.say("用法：/reply #消息号 文字（只能回复发给当前身份的消息）")
            else:
                await self.send(replace(self._message(), text=reply_text, reply_to_message_id=message_id))
        elif command == "/photo":
            photo = self._message()
            await self.send(replace(photo, photo=f"console-photo-{photo.message_id}", text=rest or None))
        else:
            await self.send(replace(self._message(), text=line))
        return True

    async def move_time(self, command: str, arg: str) -> None:
        """Fast-forward the console's clock, then let the scheduler catch up as it would have."""
        clock = self.app.clock
        if not isinstance(clock, ConsoleClock):
            self.say("这个控制台的时间不能调整。")
            return
        if command == "/tick":
            delta = parse_duration(arg) if arg else timedelta(minutes=1)
            if delta is None:
                self.say("用法：/tick 30m、/tick 2h 或 /tick 1d")
                return
            clock.advance(delta)
        else:
            try:
                clock.set(datetime.fromisoformat(arg))
            except ValueError:
                self.say("用法：/clock 2026-12-01 09:00")
                return
        self.say(f"  ⏱ 现在是 {clock.now():%Y-%m-%d %H:%M}")
        for _ in range(20):  # as many ticks as the downtime would have had; each returns 0 when idle
            done = 0
            for tick in self.app.ticks:
                result = await tick.job()
                done += result if isinstance(result, int) else 0
            await self.deliver()
            if not done:
                break

    async def invite(self, args: str) -> None:
        """Make an invite link as `gridbot org invite` does; the invited person opens it in a new chat."""
        name, _, kind = args.strip().partition(" ")
        resident = kind.strip() in ("居民", "resident")
        async with self.app.uow_factory() as uow:
            try:
                issued = await issue(uow.community, name, self.app.clock.now(), resident=resident)
            except NotInvitable:
                self.say(f"社区名单里没有“{name}”。邀请居民请用：/invite 名字 居民")
                return
            await uow.commit()
        bot = self.app.settings.telegram.bot_username or "gridbot_example_bot"
        self.say(
            f"  🔗 邀请链接（只能用一次，{issued.expires_at:%m-%d %H:%M} 前有效）：{deep_link(bot, issued.code)}"
        )
        known = self.personas.get(name)
        label = "居民" if resident else self.unjoined.pop(name, "") or (known.label if known else "")
        persona = Persona(issued.name, 9900 + len(self.personas), label)  # their own, new chat
        self._add(persona)
        self.current = persona
        self.say(f"—— 现在的身份：{persona.name}（打开了邀请链接，发送 /start 邀请码）")
        await self.send(replace(self._message(), text=f"/start {issued.code}"))

    def switch(self, name: str) -> None:
        persona = self.personas.get(name)
        if persona is None:
            # A newcomer: a resident the bot has never seen, to try registration.
            chat_id = 9900 + len(self.personas)
            persona = Persona(name or "新居民", chat_id, "居民")
            self._add(persona)
            self.say(f"（新身份：{persona.name}，一位还没登记的居民）")
        self.current = persona
        self.say(f"—— 现在的身份：{persona.name}（{persona.label}）")

    def _message(self) -> Incoming:
        """A new message from the current persona; fill in its content with dataclasses.replace."""
        assert self.current is not None
        message_id = self.messenger.next_id()
        return Incoming(
            chat_id=self.current.chat_id,
            sender_id=self.current.chat_id,
            sender_name=self.current.name,
            message_id=message_id,
            dedupe_key=f"console:{self.current.chat_id}:{message_id}",
        )

    async def press(self, args: str) -> None:
        assert self.current is not None
        parts = args.split()
        message = None
        if len(parts) == 2:
            ref = _message_ref(parts[0])
            message = self.messenger.messages.get(ref) if ref is not None else None
            parts = parts[1:]
        else:
            message = self.messenger.latest_with_buttons(self.current.chat_id)
        buttons = [b for row in message.buttons for b in row] if message else []
        if (
            message is None
            or message.chat_id != self.current.chat_id
            or len(parts) != 1
            or not parts[0].isdigit()
        ):
            self.say("用法：/press N（按最近一条带按钮的消息的第 N 个按钮）")
            return
        index = int(parts[0])
        if not 1 <= index <= len(buttons):
            self.say(f"这条消息只有 {len(buttons)} 个按钮。")
            return
        button = buttons[index - 1]
        self.say(f"  （按下：{button.text}）")
        press = self._message()
        await self.send(
            replace(
                press,
                message_id=None,
                callback_data=button.data,
                callback_message_id=message.id,
                dedupe_key=f"console-cb:{press.message_id}",
            )
        )

    async def send(self, incoming: Incoming) -> None:
        try:
            outcome = await self.app.core.handle(incoming)
        except Exception as error:  # the console shows the failure and keeps going
            self.failed = True
            self.say(f"  !! 处理失败：{type(error).__name__}: {error}")
            return
        if outcome.callback_answer:
            self.say(f"  （提示：{outcome.callback_answer}）")
        await self.deliver()

    async def deliver(self) -> None:
        """Send what the last step queued: replies first, then broadcast deliveries."""
        await self.sender.flush()
        if self.broadcasts is not None:
            await self.broadcasts.drain()


def _message_ref(token: str) -> int | None:
    token = token.lstrip("#")
    return int(token) if token.isdigit() else None
