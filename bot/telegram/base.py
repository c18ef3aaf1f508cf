"""What the runner needs from a framework adapter; implemented by the PTB and aiogram adapters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from bot.delivery.replies import Messenger
from handlers.messages import Incoming, Outcome

# The core's entry point as adapters see it (Core.handle, plus waking the sender).
HandleFn = Callable[[Incoming], Awaitable[Outcome]]

# Update kinds the bot needs; anything else (edits, reactions, member changes) is not requested.
ALLOWED_UPDATES = ("message", "callback_query")


class Transport(Protocol):
    @property
    def messenger(self) -> Messenger: ...

    async def start(self) -> None:
        """Initialise the framework (getMe: a wrong token or URL fails here)."""
        ...

    async def close(self) -> None: ...

    async def fetch(self, offset: int | None, poll_seconds: int) -> list[dict[str, Any]]:
        """One getUpdates long poll through the framework's Bot; raw update dicts."""
        ...

    async def process(self, payload: dict[str, Any]) -> None:
        """Feed one raw update to the framework's dispatcher; raise if handling failed."""
        ...

    async def set_commands(self, commands: Sequence[tuple[str, str]], chat_id: int | None) -> None:
        """setMyCommands for the default scope (None) or one chat."""
        ...

    async def set_webhook(self, url: str, secret: str) -> None: ...

    async def delete_webhook(self) -> None: ...


def chats_of(payload: dict[str, Any]) -> set[int]:
    """The chats and users an update came from (they can be written to again)."""
    found: set[int] = set()
    message = payload.get("message") or (payload.get("callback_query") or {}).get("message")
    if isinstance(message, dict) and isinstance(message.get("chat"), dict):
        found.add(int(message["chat"]["id"]))
    for kind in ("message", "callback_query"):
        sender = (payload.get(kind) or {}).get("from")
        if isinstance(sender, dict) and "id" in sender:
            found.add(int(sender["id"]))
    return found


def order_key(payload: dict[str, Any]) -> int:
    """Updates with the same key are handled one after another, in order (same chat)."""
    chats = chats_of(payload)
    return min(chats) if chats else 0


def report_text(payload: dict[str, Any]) -> str | None:
    """The words of an update that may be a resident's report, as the core reads them (stripped): a
    private message's text or caption, not a command nor a reply to a card; None for anything else."""
    message = payload.get("message")
    if not isinstance(message, dict) or message.get("reply_to_message") is not None:
        return None
    chat = message.get("chat")
    if not isinstance(chat, dict) or chat.get("type") != "private":
        return None
    words = message.get("text")
    if words is None:
        words = message.get("caption")
    if not isinstance(words, str):
        return None
    words = words.strip()
    return words if words and not words.startswith("/") else None
