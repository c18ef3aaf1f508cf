"""What Telegram keeps per bot token (updates, chats, commands, webhook), and the message helpers it shares.

Plain data: the emulator's parts read and change it; nothing here does I/O.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from tools.emulator.wire import bad_request

__all__ = [
    "DEFAULT_TOKEN",
    "BotState",
    "Chat",
    "Fault",
    "StoredFile",
    "Webhook",
    "bot_command_entities",
    "scope_key",
    "strip_reply",
]

DEFAULT_TOKEN = "123456789:TEST-emulator-token-AAAAAAAAAAAAAAAA"
TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_BOT_COMMAND_ENTITY_RE = re.compile(r"(?:(?<=\s)|^)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")

CommandScope = tuple[str, int | None, int | None, str]


@dataclass
class Fault:
    """Make the next ``remaining`` calls of ``method`` (optionally in one chat) fail."""

    method: str  # lower-case method name or "*"
    error_code: int
    description: str
    remaining: int
    chat_id: int | str | None = None
    retry_after: int | None = None


@dataclass
class Chat:
    """A chat the bot is in, with every message in it (both sides), by message id."""

    obj: dict[str, Any]  # the Chat object as put into messages
    next_message_id: int = 1
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return int(self.obj["id"])

    @property
    def is_group(self) -> bool:
        return self.obj["type"] in {"group", "supergroup", "channel"}


@dataclass
class StoredFile:
    """A file the bot can getFile and download (users' photos, the bot's uploads)."""

    file_id: str
    file_unique_id: str
    path: str
    data: bytes


@dataclass
class Webhook:
    """The webhook set by setWebhook, with the last delivery error getWebhookInfo reports."""

    url: str
    secret_token: str | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class BotState:
    """Everything Telegram keeps per bot token: updates, chats, commands, webhook."""

    token: str
    id: int
    username: str
    first_name: str
    privacy_mode: bool = False
    pending: deque[dict[str, Any]] = field(default_factory=deque)
    next_update_id: int = 100_000_001
    allowed_updates: list[str] = field(default_factory=list)
    webhook: Webhook | None = None
    commands: dict[CommandScope, list[dict[str, str]]] = field(default_factory=dict)
    chats: dict[int, Chat] = field(default_factory=dict)
    callback_queries: dict[str, dict[str, Any]] = field(default_factory=dict)
    poll: asyncio.Future[str] | None = None
    polling: asyncio.Event = field(default_factory=asyncio.Event)  # a long poll is being held
    webhook_wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def user(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": True, "first_name": self.first_name, "username": self.username}

    def wake_poll(self, reason: str) -> None:
        """End a held long poll with ``reason`` ("update", "conflict", "webhook", "closed")."""
        if self.poll is not None and not self.poll.done():
            self.poll.set_result(reason)


def scope_key(scope: Any, language_code: str) -> CommandScope:
    """The key of a BotCommandScope (+ language) in :attr:`BotState.commands`."""
    if scope is None:
        return ("default", None, None, language_code)
    if not isinstance(scope, dict) or "type" not in scope:
        raise bad_request("can't parse BotCommandScope")
    chat_id, user_id = scope.get("chat_id"), scope.get("user_id")
    return (
        str(scope["type"]),
        int(chat_id) if chat_id is not None else None,
        int(user_id) if user_id is not None else None,
        language_code,
    )


def bot_command_entities(text: str) -> list[dict[str, Any]]:
    """Mark /commands as bot_command entities, as Telegram does (PTB's CommandHandler needs them)."""
    return [
        {
            "type": "bot_command",
            "offset": len(text[: m.start()].encode("utf-16-le")) // 2,
            "length": len(m[0]),
        }
        for m in _BOT_COMMAND_ENTITY_RE.finditer(text)
    ]


def strip_reply(message: dict[str, Any]) -> dict[str, Any]:
    """Telegram nests reply_to_message only one level deep."""
    return {k: v for k, v in message.items() if k != "reply_to_message"}
