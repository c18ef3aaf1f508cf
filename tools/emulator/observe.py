"""What tests read back: the bot's messages, edits, answers and requests, and waiters instead of sleeps.

Waiters default to "after the latest simulated user action" (``since=last_user_seq``), so
``emu.user_sends_text(...); await emu.wait_for_message(chat)`` never picks up an older message.
"""

# ruff: noqa: ASYNC109  -- `timeout=` bounds a test's wait; it is the documented waiter API, not a hidden cancel.

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tools.emulator.core import EmulatorCore
from tools.emulator.records import ApiRequest, BotMessage, CallbackAnswer, EditRecord
from tools.emulator.state import scope_key

__all__ = ["Observations"]


class Observations(EmulatorCore):
    """``sent``, ``message``, ``calls``, ``commands`` and the ``wait_for_*`` / ``wait_until_polling`` waiters."""

    def sent(self, chat_id: int | None = None, *, since: int = 0) -> list[BotMessage]:
        """Messages the bot sent (optionally to one chat, after a seq), in order."""
        return [
            m for m in self.messages.records if (chat_id is None or m.chat_id == chat_id) and m.seq > since
        ]

    def message(self, chat_id: int, message_id: int, *, token: str | None = None) -> dict[str, Any]:
        """The current state (after edits) of any message in a chat."""
        return self.bots[token or self.token].chats[chat_id].messages[message_id]

    def calls(self, method: str) -> list[ApiRequest]:
        """Recorded requests of one method (case-insensitive), refused ones included."""
        return [r for r in self.requests.records if r.method.lower() == method.lower()]

    def commands(
        self, scope: dict[str, Any] | None = None, language_code: str = "", *, token: str | None = None
    ) -> list[dict[str, str]]:
        """The command list currently set for a scope."""
        return self.bots[token or self.token].commands.get(scope_key(scope, language_code), [])

    async def wait_for_message(
        self,
        chat_id: int | None = None,
        predicate: Callable[[BotMessage], bool] | None = None,
        *,
        timeout: float = 5.0,
        since: int | None = None,
    ) -> BotMessage:
        """Wait for the bot's next message (by default: after the latest simulated user action)."""
        (message,) = await self.wait_for_messages(1, chat_id, predicate, timeout=timeout, since=since)
        return message

    async def wait_for_messages(
        self,
        count: int,
        chat_id: int | None = None,
        predicate: Callable[[BotMessage], bool] | None = None,
        *,
        timeout: float = 5.0,
        since: int | None = None,
    ) -> list[BotMessage]:
        """Wait for ``count`` bot messages matching chat and predicate."""
        return await self.messages.wait(
            lambda m: (chat_id is None or m.chat_id == chat_id) and (predicate is None or predicate(m)),
            count=count,
            since=self.last_user_seq if since is None else since,
            timeout=timeout,
        )

    async def wait_for_edit(
        self,
        chat_id: int | None = None,
        message_id: int | None = None,
        *,
        timeout: float = 5.0,
        since: int | None = None,
    ) -> EditRecord:
        """Wait for an edit of a bot message."""
        (edit,) = await self.edits.wait(
            lambda e: (
                (chat_id is None or e.chat_id == chat_id)
                and (message_id is None or e.message_id == message_id)
            ),
            count=1,
            since=self.last_user_seq if since is None else since,
            timeout=timeout,
        )
        return edit

    async def wait_for_callback_answer(
        self, callback_query_id: str, *, timeout: float = 5.0
    ) -> CallbackAnswer:
        """Wait until the bot answers the callback query with this id."""
        (answer,) = await self.callback_answers.wait(
            lambda a: a.callback_query_id == callback_query_id, count=1, since=0, timeout=timeout
        )
        return answer

    async def wait_for_request(
        self,
        method: str,
        predicate: Callable[[ApiRequest], bool] | None = None,
        *,
        count: int = 1,
        timeout: float = 5.0,
        since: int = 0,
    ) -> list[ApiRequest]:
        """Wait for ``count`` calls of ``method`` (e.g. "setMyCommands", or the retry after a 429)."""
        return await self.requests.wait(
            lambda r: r.method.lower() == method.lower() and (predicate is None or predicate(r)),
            count=count,
            since=since,
            timeout=timeout,
        )

    async def wait_until_polling(self, *, timeout: float = 5.0, token: str | None = None) -> None:
        """Wait until the bot holds a long poll (it is running and idle)."""
        async with asyncio.timeout(timeout):
            await self.bots[token or self.token].polling.wait()
