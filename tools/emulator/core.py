"""The emulator's shared state: bots, users, chats, files, the record logs and the sequence counter.

:class:`EmulatorCore` is the base of every part of :class:`tools.emulator.server.Emulator` (user actions,
API methods, update delivery, observation); it holds the state they share and the few helpers all of them
need (finding the target chat, queueing an update, storing a file).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from typing import Any

import aiohttp

from tools.emulator.records import (
    ApiRequest,
    BotMessage,
    CallbackAnswer,
    EditRecord,
    EventLog,
    RateLimit,
    RateLimiter,
    WebhookDelivery,
)
from tools.emulator.state import DEFAULT_TOKEN, TOKEN_RE, BotState, Chat, Fault, StoredFile
from tools.emulator.wire import ApiError, Params, bad_request, image_size

__all__ = ["EmulatorCore"]

# Update types delivered when allowed_updates is empty/unset (Telegram's documented default).
_DEFAULT_EXCLUDED = {"chat_member", "message_reaction", "message_reaction_count"}


class EmulatorCore:
    """State shared by the emulator's parts; see :class:`tools.emulator.server.Emulator` for the arguments."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "gridbot_test_bot",
        bot_first_name: str = "Gridbot Test",
        strict_chats: bool = True,
        rate_limit: RateLimit | None = None,
        webhook_retry_delay: float = 0.05,
        privacy_mode: bool = False,
    ) -> None:
        self.host, self.port = host, port
        self.strict_chats = strict_chats
        self.webhook_retry_delay = webhook_retry_delay
        self._limiter = RateLimiter(rate_limit) if rate_limit else None
        self.bots: dict[str, BotState] = {}
        self.token = token
        self.add_bot(token, username=bot_username, first_name=bot_first_name, privacy_mode=privacy_mode)
        self.users: dict[int, dict[str, Any]] = {}
        self.files: dict[str, StoredFile] = {}
        self.faults: list[Fault] = []
        self.blocked: set[int] = set()
        self.counts: Counter[str] = Counter()
        self.messages: EventLog[BotMessage] = EventLog("bot message")
        self.edits: EventLog[EditRecord] = EventLog("edit")
        self.callback_answers: EventLog[CallbackAnswer] = EventLog("callback answer")
        self.requests: EventLog[ApiRequest] = EventLog("request")
        self.webhook_deliveries: EventLog[WebhookDelivery] = EventLog("webhook delivery")
        self.last_user_seq = 0
        self._seq = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._client: aiohttp.ClientSession | None = None  # webhook deliveries; open while serving
        self._tasks: set[asyncio.Task[None]] = set()  # webhook delivery loops

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``; the API lives at ``{url}/bot{token}/{method}``."""
        return f"http://{self.host}:{self.port}"

    @property
    def bot(self) -> BotState:
        """The default bot's state."""
        return self.bots[self.token]

    def add_bot(
        self, token: str, *, username: str = "", first_name: str = "Bot", privacy_mode: bool = False
    ) -> BotState:
        """Register a bot token; calls with any other token get 401 Unauthorized."""
        if not TOKEN_RE.match(token):
            raise ValueError("token must look like '<digits>:<secret>'")
        bot_id = int(token.split(":", 1)[0])
        state = BotState(token, bot_id, username or f"bot{bot_id}", first_name, privacy_mode)
        self.bots[token] = state
        return state

    def _next_seq(self) -> int:
        return next(self._seq)

    def checkpoint(self) -> int:
        """Return a seq; pass it as ``since=`` to wait only for what happens after this point."""
        return self._next_seq()

    # ----------------------------------------------------------------------------- users and chats

    def add_user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        """Register or update a user (no private chat is opened until the user writes)."""
        user = self.users.setdefault(
            user_id, {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        )
        for key, value in (
            ("first_name", first_name),
            ("last_name", last_name),
            ("username", username),
            ("language_code", language_code),
        ):
            if value is not None:
                user[key] = value
        return user

    def add_chat(
        self,
        chat_id: int,
        *,
        chat_type: str = "private",
        title: str | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """Open a chat the bot may write to (a private chat with a user, a group the bot is in)."""
        bot = self.bots[token or self.token]
        chat = bot.chats.get(chat_id)
        if chat is None:
            if chat_type == "private":
                user = self.add_user(chat_id)
                obj: dict[str, Any] = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
                if "username" in user:
                    obj["username"] = user["username"]
            else:
                if chat_id >= 0:
                    raise ValueError("group chat ids are negative (supergroups: -100...)")
                obj = {"id": chat_id, "type": chat_type, "title": title or f"Group {chat_id}"}
            chat = bot.chats[chat_id] = Chat(obj)
        elif title is not None and chat.is_group:
            chat.obj["title"] = title
        return chat.obj

    def _target_chat(self, bot: BotState, params: Params, name: str = "chat_id") -> Chat:
        """The chat a method call names, refused as Telegram refuses unknown or unopened chats."""
        chat_id = params.chat_id(name)
        if isinstance(chat_id, str):
            for chat in bot.chats.values():
                if chat.obj.get("username") == chat_id[1:]:
                    return chat
            raise bad_request("chat not found")
        found = bot.chats.get(chat_id)
        if found is not None:
            return found
        if not self.strict_chats:
            # Broadcast benchmarks write to residents who never opened the chat in this run.
            kind = "private" if chat_id > 0 else "supergroup" if str(chat_id).startswith("-100") else "group"
            self.add_chat(chat_id, chat_type=kind, token=bot.token)
            return bot.chats[chat_id]
        if chat_id in self.users:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        raise bad_request("chat not found")

    # ----------------------------------------------------------------------------- updates and files

    def _enqueue(self, bot: BotState, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates or the webhook, unless the bot's allowed_updates filter it out."""
        update = {"update_id": bot.next_update_id, kind: payload}
        bot.next_update_id += 1
        allowed = set(bot.allowed_updates) if bot.allowed_updates else None
        if (kind in allowed) if allowed is not None else (kind not in _DEFAULT_EXCLUDED):
            bot.pending.append(update)
            bot.wake_poll("update")
            bot.webhook_wakeup.set()
        return update

    def _photo_sizes(self, data: bytes) -> list[dict[str, Any]]:
        """Store a photo and describe it as Telegram does: several sizes, smallest first."""
        width, height = image_size(data)
        stored = self._store_file(data, "photos", "jpg")
        # Frameworks pick photo[-1], the largest.
        thumb = self._store_file(data, "photos", "jpg")
        small = {"width": min(width, 90), "height": min(height, 90)}
        return [
            {
                "file_id": thumb.file_id,
                "file_unique_id": thumb.file_unique_id,
                "file_size": len(data),
                **small,
            },
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(data),
                "width": width,
                "height": height,
            },
        ]

    def _store_file(self, data: bytes, folder: str, ext: str) -> StoredFile:
        n = next(self._file_ids)
        stored = StoredFile(f"AgACAgEmu{n:06d}", f"AQADEmu{n:06d}", f"{folder}/file_{n}.{ext}", data)
        self.files[stored.file_id] = stored
        return stored
