"""What the emulator records about the bot, and the waiters tests use instead of sleeping.

Every record carries ``seq``, one counter shared with the simulated user's actions, so "the bot's
messages after this user action" is a plain ``seq > since`` filter, and ``time`` (``time.monotonic``)
for latency and "was retry_after honoured" assertions.
"""

# ruff: noqa: ASYNC109  -- `timeout=` bounds a test's wait; it is the documented waiter API, not a hidden cancel.

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

__all__ = [
    "ApiRequest",
    "BotMessage",
    "Button",
    "CallbackAnswer",
    "EditRecord",
    "EmulatorTimeout",
    "EventLog",
    "RateLimit",
    "RateLimiter",
    "WebhookDelivery",
]


class EmulatorTimeout(AssertionError):
    """A waiter timed out; an AssertionError so pytest shows it as a failed expectation."""


@dataclass(frozen=True)
class Button:
    """One inline keyboard button, flattened."""

    text: str
    callback_data: str | None = None
    url: str | None = None


def _buttons(markup: dict[str, Any] | None) -> list[Button]:
    if not markup:
        return []
    rows = markup.get("inline_keyboard") or []
    return [
        Button(str(b.get("text", "")), b.get("callback_data"), b.get("url"))
        for row in rows
        for b in row
        if isinstance(b, dict)
    ]


@dataclass(frozen=True)
class BotMessage:
    """A message the bot sent, as it was at send time (edits are recorded separately)."""

    seq: int
    time: float
    bot_id: int
    method: str
    chat_id: int
    message_id: int
    text: str | None
    caption: str | None
    reply_markup: dict[str, Any] | None
    reply_to_message_id: int | None
    photo: str | None  # file_id of the largest size
    raw: dict[str, Any]  # the Message object returned to the bot
    document: str | None = None  # file_id of a sent document (sendDocument)

    @property
    def buttons(self) -> list[Button]:
        """Inline keyboard buttons, row by row."""
        return _buttons(self.reply_markup)

    def button(self, text_contains: str) -> Button:
        """Return the first inline button whose label contains ``text_contains``."""
        for b in self.buttons:
            if text_contains in b.text:
                return b
        raise AssertionError(f"no button containing {text_contains!r} in {[b.text for b in self.buttons]}")


@dataclass(frozen=True)
class EditRecord:
    """An editMessageText / editMessageReplyMarkup / editMessageCaption call that succeeded."""

    seq: int
    time: float
    bot_id: int
    method: str
    chat_id: int
    message_id: int
    text: str | None
    reply_markup: dict[str, Any] | None
    raw: dict[str, Any]

    @property
    def buttons(self) -> list[Button]:
        """Inline keyboard buttons after the edit."""
        return _buttons(self.reply_markup)


@dataclass(frozen=True)
class CallbackAnswer:
    """An answerCallbackQuery call, keyed by the callback query id the emulator created."""

    seq: int
    time: float
    bot_id: int
    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None


@dataclass(frozen=True)
class ApiRequest:
    """Every Bot API call, answered or refused (faults and rate limits included).

    Recorded when it ends (so ``ok`` is known); ``time`` is when it *arrived*, the moment that
    matters for "retried too early" checks and for offsets confirmed by a long poll.
    """

    seq: int
    time: float
    bot_id: int
    method: str  # canonical spelling, e.g. "sendMessage"
    params: dict[str, Any]
    content_type: str
    ok: bool
    error_code: int | None
    retry_after: int | None
    via: str = "http"  # or "webhook-response" for a method returned in a webhook answer
    duration: float = 0.0  # seconds the server held it (long polls)
    cancelled: bool = False  # the client disconnected before the answer


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST of an update to the bot's webhook."""

    seq: int
    time: float
    bot_id: int
    update_id: int
    status: int | None  # None when the connection failed
    error: str | None


class _HasSeq(Protocol):
    @property
    def seq(self) -> int: ...


R = TypeVar("R", bound=_HasSeq)


@dataclass(eq=False)
class _Waiter(Generic[R]):
    predicate: Callable[[R], bool]
    since: int
    count: int
    future: asyncio.Future[list[R]]
    found: list[R] = field(default_factory=list)

    def offer(self, record: R) -> bool:
        """Take the record if it matches; return True once the waiter is satisfied."""
        if record.seq > self.since and self.predicate(record):
            self.found.append(record)
            if len(self.found) >= self.count and not self.future.done():
                self.future.set_result(self.found[: self.count])
                return True
        return self.future.done()


class EventLog(Generic[R]):
    """An append-only list of records with async waiters that see each record once (O(1) per record)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.records: list[R] = []
        self._waiters: list[_Waiter[R]] = []

    def append(self, record: R) -> None:
        self.records.append(record)
        if self._waiters:
            self._waiters = [w for w in self._waiters if not w.offer(record)]

    async def wait(
        self, predicate: Callable[[R], bool], *, count: int, since: int, timeout: float
    ) -> list[R]:
        """Return the first ``count`` records after ``since`` matching ``predicate``."""
        waiter: _Waiter[R] = _Waiter(predicate, since, count, asyncio.get_running_loop().create_future())
        for record in self.records:  # already there?
            if waiter.offer(record):
                return waiter.future.result()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                return await waiter.future
        except TimeoutError:
            recent = self.records[-5:]
            raise EmulatorTimeout(
                f"waited {timeout}s for {count} {self.name}(s) after seq {since}, got {len(waiter.found)}; "
                f"last recorded: {recent!r}"
            ) from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)


@dataclass
class RateLimit:
    """Telegram-like flood limits; ``None`` disables a limit.

    Telegram documents about 30 messages/s overall, 1 message/s in one chat (bursts are tolerated
    in private chats, hence off by default here) and 20 messages/minute in one group.
    """

    overall_per_second: float | None = 30
    per_chat_per_second: float | None = None
    per_group_per_minute: int | None = 20


class RateLimiter:
    """Sliding-window counters answering the seconds to wait, like Telegram's ``retry_after``."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._overall: deque[float] = deque()
        self._per_chat: dict[int, deque[float]] = {}

    @staticmethod
    def _check(window: deque[float], now: float, span: float, allowed: float) -> int:
        while window and window[0] <= now - span:
            window.popleft()
        if len(window) < allowed:
            return 0
        # Telegram's retry_after is whole seconds, at least 1.
        return max(1, math.ceil(window[0] + span - now))

    def acquire(self, chat_id: int, is_group: bool, now: float) -> int:
        """Count one message and return 0, or return retry_after seconds without counting it."""
        lim = self.limit
        chat_window = self._per_chat.setdefault(chat_id, deque())
        waits = [0]
        if lim.overall_per_second is not None:
            waits.append(self._check(self._overall, now, 1.0, lim.overall_per_second))
        if is_group and lim.per_group_per_minute is not None:
            waits.append(self._check(chat_window, now, 60.0, lim.per_group_per_minute))
        elif not is_group and lim.per_chat_per_second is not None:
            waits.append(self._check(chat_window, now, 1.0, lim.per_chat_per_second))
        wait = max(waits)
        if wait == 0:
            self._overall.append(now)
            chat_window.append(now)
        return wait
