"""The simulated people: a user sends text, a command, a photo or a location, or presses an inline button.

Each action builds the Message (or CallbackQuery) Telegram would, stores it in the chat so the bot can
reply to it, queues the update and returns it; ``last_user_seq`` marks the moment, so a test's next
``wait_for_message`` waits for what the bot does *after* it.
"""

from __future__ import annotations

import time
from typing import Any

from tools.emulator.core import EmulatorCore
from tools.emulator.state import BotState, Chat, bot_command_entities, strip_reply
from tools.emulator.wire import tiny_png

__all__ = ["UserActions"]


class UserActions(EmulatorCore):
    """``user_sends_text``, ``user_sends_command``, ``user_sends_photo``, ``user_shares_location``,
    ``user_presses_button``."""

    def _user_message(
        self,
        user_id: int,
        *,
        chat_id: int | None,
        chat_type: str,
        chat_title: str | None,
        reply_to_message_id: int | None,
        first_name: str | None,
        username: str | None,
        token: str | None,
        content: dict[str, Any],
    ) -> tuple[BotState, Chat, dict[str, Any]]:
        bot = self.bots[token or self.token]
        user = self.add_user(user_id, first_name=first_name, username=username)
        if chat_type == "private":
            chat_id = user_id if chat_id is None else chat_id
        elif chat_id is None:
            raise ValueError("a group message needs chat_id")
        self.add_chat(chat_id, chat_type=chat_type, title=chat_title, token=bot.token)
        chat = bot.chats[chat_id]
        message: dict[str, Any] = {
            "message_id": chat.next_message_id,
            "from": dict(user),
            "chat": dict(chat.obj),
            "date": int(time.time()),
            **content,
        }
        chat.next_message_id += 1
        if reply_to_message_id is not None:
            replied = chat.messages.get(reply_to_message_id)
            if replied is None:
                raise ValueError(f"message {reply_to_message_id} not found in chat {chat_id}")
            message["reply_to_message"] = strip_reply(replied)
        chat.messages[message["message_id"]] = message
        self.last_user_seq = self._next_seq()
        return bot, chat, message

    def _deliver_message(self, bot: BotState, chat: Chat, message: dict[str, Any]) -> dict[str, Any]:
        if chat.is_group and bot.privacy_mode:
            text = message.get("text") or message.get("caption") or ""
            replied = message.get("reply_to_message", {}).get("from", {}).get("id")
            if not (text.startswith("/") or replied == bot.id or f"@{bot.username}" in text):
                # Privacy mode: Telegram never sends it, so there is no update at all.
                return {"update_id": None, "message": message}
        return self._enqueue(bot, "message", message)

    def user_sends_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        chat_title: str | None = None,
        reply_to_message_id: int | None = None,
        first_name: str | None = None,
        username: str | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """Simulate a user's text message; return the update (``update["message"]`` is the message)."""
        content: dict[str, Any] = {"text": text}
        if entities := bot_command_entities(text):
            content["entities"] = entities
        bot, chat, message = self._user_message(
            user_id,
            chat_id=chat_id,
            chat_type=chat_type,
            chat_title=chat_title,
            reply_to_message_id=reply_to_message_id,
            first_name=first_name,
            username=username,
            token=token,
            content=content,
        )
        return self._deliver_message(bot, chat, message)

    def user_sends_command(self, user_id: int, command: str, args: str = "", **kwargs: Any) -> dict[str, Any]:
        """Send ``/command args`` (with the bot_command entity), e.g. ``user_sends_command(1, "start")``."""
        text = f"/{command.lstrip('/')}" + (f" {args}" if args else "")
        return self.user_sends_text(user_id, text, **kwargs)

    def user_sends_photo(
        self,
        user_id: int,
        caption: str | None = None,
        *,
        data: bytes | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
        chat_title: str | None = None,
        reply_to_message_id: int | None = None,
        first_name: str | None = None,
        username: str | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """Simulate a photo (a real PNG unless ``data`` is given) the bot can getFile and download."""
        content: dict[str, Any] = {"photo": self._photo_sizes(data if data is not None else tiny_png(4, 3))}
        if caption is not None:
            content["caption"] = caption
        bot, chat, message = self._user_message(
            user_id,
            chat_id=chat_id,
            chat_type=chat_type,
            chat_title=chat_title,
            reply_to_message_id=reply_to_message_id,
            first_name=first_name,
            username=username,
            token=token,
            content=content,
        )
        return self._deliver_message(bot, chat, message)

    def user_shares_location(
        self,
        user_id: int,
        latitude: float,
        longitude: float,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        chat_title: str | None = None,
        reply_to_message_id: int | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """Simulate a shared location."""
        bot, chat, message = self._user_message(
            user_id,
            chat_id=chat_id,
            chat_type=chat_type,
            chat_title=chat_title,
            reply_to_message_id=reply_to_message_id,
            first_name=None,
            username=None,
            token=token,
            content={"location": {"latitude": latitude, "longitude": longitude}},
        )
        return self._deliver_message(bot, chat, message)

    def user_presses_button(
        self,
        user_id: int,
        message_id: int,
        data: str,
        *,
        chat_id: int | None = None,
        verify: bool = True,
        token: str | None = None,
    ) -> dict[str, Any]:
        """Simulate pressing an inline button under the bot's message; return the callback_query update.

        With ``verify`` (default) the message must carry a button with exactly this callback data,
        as with a real client; pass ``verify=False`` to simulate a tampered client.
        """
        bot = self.bots[token or self.token]
        user = self.add_user(user_id)
        chat = bot.chats.get(user_id if chat_id is None else chat_id)
        message = chat.messages.get(message_id) if chat else None
        if chat is None or message is None:
            raise ValueError(f"no message {message_id} in chat {chat_id or user_id}")
        if verify:
            rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
            if not any(b.get("callback_data") == data for row in rows for b in row):
                raise ValueError(f"message {message_id} has no button with callback_data {data!r}")
        query_id = f"{bot.id}{next(self._callback_ids):08d}"
        query = {
            "id": query_id,
            "from": dict(user),
            "message": message,
            "chat_instance": str(-abs(chat.id) - 7),
            "data": data,
        }
        bot.callback_queries[query_id] = query
        self.last_user_seq = self._next_seq()
        return self._enqueue(bot, "callback_query", query)
