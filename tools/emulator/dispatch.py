"""Running one Bot API call: find the method, apply injected faults, blocks and flood limits, record it.

Method handlers are the ``_m_<MethodName>(bot, params)`` methods of the emulator's parts
(:mod:`tools.emulator.methods_bot`, :mod:`~tools.emulator.methods_messages`,
:mod:`~tools.emulator.methods_updates`); :class:`Dispatch` finds them by that prefix.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any

from tools.emulator.core import EmulatorCore
from tools.emulator.records import ApiRequest, RateLimit, RateLimiter
from tools.emulator.state import BotState, Fault
from tools.emulator.wire import ApiError, Params

__all__ = ["Dispatch"]

# Methods that put a message into a chat: flood limits and "blocked" apply to them.
_SENDING = {"sendmessage", "sendphoto", "senddocument", "sendlocation", "copymessage", "forwardmessage"}
_PREFIX = "_m_"


class Dispatch(EmulatorCore):
    """Call methods by name, with the faults and limits a test set up."""

    @cached_property
    def _methods(self) -> dict[str, Callable[[BotState, Params], Any]]:
        # Telegram's method names are case-insensitive: the table is keyed by the lower-case name.
        return {
            name.removeprefix(_PREFIX).lower(): getattr(self, name)
            for name in dir(self)
            if name.startswith(_PREFIX)
        }

    @cached_property
    def _canonical(self) -> dict[str, str]:
        return {
            name.removeprefix(_PREFIX).lower(): name.removeprefix(_PREFIX)
            for name in dir(self)
            if name.startswith(_PREFIX)
        }

    async def call(
        self, bot: BotState, method: str, params: Params, *, content_type: str = "", via: str = "http"
    ) -> tuple[dict[str, Any], int]:
        """Run one API method with faults and limits applied; return (envelope, HTTP status)."""
        key = method.lower()
        canonical = self._canonical.get(key, method)
        self.counts[canonical] += 1
        arrived = time.monotonic()
        handler = self._methods.get(key)
        err: ApiError | None = None
        cancelled = False
        try:
            if handler is None:
                raise ApiError(404, "Not Found")
            self._apply_faults(bot, key, params)
            result = handler(bot, params)
            if asyncio.iscoroutine(result):
                result = await result
            body: dict[str, Any] = {"ok": True, "result": result}
            if key == "setwebhook":
                body["description"] = "Webhook was set" if params.string("url") else "Webhook was deleted"
            elif key == "deletewebhook":
                body["description"] = "Webhook was deleted"
            status = 200
        except ApiError as error:
            body, status, err = error.body(), error.error_code, error
        except asyncio.CancelledError:
            cancelled = True  # the client went away (e.g. a bot stopped during a long poll)
            raise
        finally:
            self.requests.append(
                ApiRequest(
                    seq=self._next_seq(),
                    time=arrived,
                    bot_id=bot.id,
                    method=canonical,
                    params=params.loggable(),
                    content_type=content_type,
                    ok=err is None and not cancelled,
                    error_code=err.error_code if err else None,
                    retry_after=err.retry_after if err else None,
                    via=via,
                    duration=time.monotonic() - arrived,
                    cancelled=cancelled,
                )
            )
        return body, status

    # ----------------------------------------------------------------------------- faults and limits

    def inject_error(
        self,
        method: str,
        error_code: int,
        description: str,
        *,
        times: int = 1,
        chat_id: int | str | None = None,
        retry_after: int | None = None,
    ) -> Fault:
        """Make the next ``times`` calls of ``method`` ("*" for any) fail, optionally only in ``chat_id``."""
        fault = Fault(method.lower(), error_code, description, times, chat_id, retry_after)
        self.faults.append(fault)
        return fault

    def inject_429(
        self, method: str, *, retry_after: int = 1, times: int = 1, chat_id: int | str | None = None
    ) -> Fault:
        """Answer the next calls with ``429 Too Many Requests: retry after N``."""
        return self.inject_error(
            method,
            429,
            f"Too Many Requests: retry after {retry_after}",
            times=times,
            chat_id=chat_id,
            retry_after=retry_after,
        )

    def inject_403(self, method: str, *, chat_id: int | str | None = None, times: int = 1) -> Fault:
        """Answer the next calls with ``403 Forbidden: bot was blocked by the user``."""
        return self.inject_error(
            method, 403, "Forbidden: bot was blocked by the user", times=times, chat_id=chat_id
        )

    def block(self, chat_id: int) -> None:
        """The user blocked the bot (or the bot was kicked from the group) until :meth:`unblock`."""
        self.blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """Undo :meth:`block`."""
        self.blocked.discard(chat_id)

    def set_rate_limit(self, limit: RateLimit | None) -> None:
        """Turn flood limits on (answering 429 with retry_after) or off."""
        self._limiter = RateLimiter(limit) if limit else None

    def _apply_faults(self, bot: BotState, key: str, params: Params) -> None:
        raw_chat = params.raw.get("chat_id")
        for fault in self.faults:
            if fault.remaining <= 0 or fault.method not in (key, "*"):
                continue
            if fault.chat_id is not None and str(fault.chat_id) != str(raw_chat):
                continue
            fault.remaining -= 1
            raise ApiError(fault.error_code, fault.description, retry_after=fault.retry_after)
        self.faults = [f for f in self.faults if f.remaining > 0]
        if key not in _SENDING and key != "sendchataction":
            return
        chat = self._target_chat(bot, params)
        if chat.id in self.blocked:
            if chat.is_group:
                raise ApiError(403, "Forbidden: bot was kicked from the group chat")
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if self._limiter is not None and key in _SENDING:
            wait = self._limiter.acquire(chat.id, chat.is_group, time.monotonic())
            if wait:
                raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
