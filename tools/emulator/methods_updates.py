"""How updates reach the bot: getUpdates (long polling, offsets, conflicts) or a webhook (POSTs, retries).

Telegram's rules kept here: one getUpdates per bot at a time (the older poll is answered 409), no
getUpdates while a webhook is set, "updates with update_id below offset are forgotten", and a refused
webhook POST is retried with the same update until the receiver answers 2xx. Webhook updates go out as
Telegram sends them: several at once (up to the webhook's max_connections), one chat's in order.
"""

# ruff: noqa: ASYNC109  -- `timeout` here is getUpdates' own parameter, bounded like Telegram's (50 s).

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
from collections.abc import Hashable
from typing import Any

import aiohttp

from tools.emulator.dispatch import Dispatch
from tools.emulator.records import WebhookDelivery
from tools.emulator.state import BotState, Webhook
from tools.emulator.wire import ApiError, Params, bad_request

__all__ = ["UpdateMethods"]

log = logging.getLogger(__name__)

_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class UpdateMethods(Dispatch):
    """getUpdates, setWebhook, deleteWebhook, getWebhookInfo, and the webhook delivery loop."""

    async def _m_getUpdates(self, bot: BotState, p: Params) -> list[dict[str, Any]]:
        if bot.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            )
        offset = p.integer("offset", 0) or 0
        limit = max(1, min(100, p.integer("limit", 100) or 100))
        timeout = max(0, min(50, p.integer("timeout", 0) or 0))
        allowed = p.object("allowed_updates")
        if allowed is not None:  # persists until the next call that passes it, like Telegram
            bot.allowed_updates = [str(a) for a in allowed]
        # Confirming: "all updates with update_id less than offset are forgotten"; a negative
        # offset keeps only the last -offset updates.
        if offset > 0:
            while bot.pending and bot.pending[0]["update_id"] < offset:
                bot.pending.popleft()
        elif offset < 0:
            while len(bot.pending) > -offset:
                bot.pending.popleft()
        # Only one getUpdates may run per bot: the older one is answered 409, as on Telegram.
        bot.wake_poll("conflict")
        if not bot.pending and timeout > 0:
            poll = bot.poll = asyncio.get_running_loop().create_future()
            bot.polling.set()
            try:
                async with asyncio.timeout(timeout):
                    reason = await poll
            except TimeoutError:
                reason = "timeout"
            finally:
                if bot.poll is poll:
                    bot.poll = None
                    bot.polling.clear()
            if reason == "conflict":
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            if bot.webhook is not None:
                return []
        return list(itertools.islice(bot.pending, limit))

    def _m_setWebhook(self, bot: BotState, p: Params) -> bool:
        url = p.string("url") or ""
        if not url:
            return self._m_deleteWebhook(bot, p)
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.string("secret_token")
        if secret is not None and not _SECRET_RE.match(secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = p.object("allowed_updates")
        if allowed is not None:
            bot.allowed_updates = [str(a) for a in allowed]
        if p.flag("drop_pending_updates"):
            bot.pending.clear()
        bot.webhook = Webhook(url, secret, p.integer("max_connections", 40) or 40)
        bot.wake_poll("webhook")  # a pending long poll returns as the webhook takes over
        bot.webhook_wakeup.set()
        self._start_webhook_task(bot)
        return True

    def _m_deleteWebhook(self, bot: BotState, p: Params) -> bool:
        bot.webhook = None
        bot.webhook_wakeup.set()  # lets the delivery loop see it is gone
        if p.flag("drop_pending_updates"):
            bot.pending.clear()
        return True

    def _m_getWebhookInfo(self, bot: BotState, p: Params) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(bot.pending),
        }
        hook = bot.webhook
        if hook is not None:
            info.update(url=hook.url, max_connections=hook.max_connections)
            if bot.allowed_updates:
                info["allowed_updates"] = bot.allowed_updates
            if hook.last_error_date is not None:
                info.update(last_error_date=hook.last_error_date, last_error_message=hook.last_error_message)
        return info

    # ----------------------------------------------------------------------------- webhook delivery

    def _start_webhook_task(self, bot: BotState) -> None:
        task = asyncio.create_task(self._webhook_loop(bot), name=f"emulator-webhook-{bot.id}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("emulator task %s failed", task.get_name(), exc_info=task.exception())

    async def _webhook_loop(self, bot: BotState) -> None:
        """Deliver pending updates as Telegram's Bot API server does (telegram-bot-api's WebhookActor): up
        to `max_connections` POSTs at once, but one chat's updates one at a time and in order (the next
        only after the previous was answered 2xx); a refused update is retried after a growing delay
        while other chats' updates go on."""
        hook = bot.webhook
        busy: set[Hashable] = set()  # queues with an update being delivered or waiting for its retry
        while bot.webhook is hook and hook is not None:
            blocked = set(busy)  # an update waits behind any earlier one of its queue
            for update in bot.pending:
                if len(busy) >= hook.max_connections:
                    break
                queue = delivery_queue(update)
                if queue in blocked:
                    continue
                blocked.add(queue)
                busy.add(queue)
                task = asyncio.create_task(
                    self._deliver(bot, hook, update, queue, busy), name=f"emulator-webhook-{bot.id}-{queue}"
                )
                self._tasks.add(task)
                task.add_done_callback(self._task_done)
            # No await between the scan and clear(): a delivery ending sets it again for the next scan.
            bot.webhook_wakeup.clear()
            await bot.webhook_wakeup.wait()

    async def _deliver(
        self, bot: BotState, hook: Webhook, update: dict[str, Any], queue: Hashable, busy: set[Hashable]
    ) -> None:
        """POST one update until the receiver answers 2xx (or the webhook goes), then free its queue."""
        delay = self.webhook_retry_delay
        try:
            while bot.webhook is hook:
                status, error, answer = await self._post_update(hook, update)
                self.webhook_deliveries.append(
                    WebhookDelivery(
                        self._next_seq(), time.monotonic(), bot.id, update["update_id"], status, error
                    )
                )
                if status is not None and 200 <= status < 300:
                    forget(bot, update)
                    if isinstance(answer, dict) and isinstance(answer.get("method"), str):
                        # "Reply to the webhook with a method call" (aiogram uses it): run it, result unseen.
                        call_params = {k: v for k, v in answer.items() if k != "method"}
                        await self.call(bot, answer["method"], Params(call_params), via="webhook-response")
                    return
                hook.last_error_date = int(time.time())
                hook.last_error_message = error or f"Wrong response from the webhook: {status}"
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
        finally:
            busy.discard(queue)
            bot.webhook_wakeup.set()

    async def _post_update(self, hook: Webhook, update: dict[str, Any]) -> tuple[int | None, str | None, Any]:
        """POST one update; return (HTTP status or None, connection error, JSON answer if any)."""
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        assert self._client is not None, "the emulator is not serving"
        status: int | None = None
        answer: Any = None
        try:
            async with self._client.post(
                hook.url, json=update, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
            ) as resp:
                status = resp.status
                if resp.content_type == "application/json":
                    answer = await resp.json()
        except (aiohttp.ClientError, TimeoutError) as exc:
            return status, f"{type(exc).__name__}: {exc}", answer
        return status, None, answer


def delivery_queue(update: dict[str, Any]) -> Hashable:
    """The queue an update waits in for the webhook: its chat's (else its sender's); Telegram sends one
    queue's updates one at a time, so a chat's messages reach the receiver in order."""
    for body in update.values():
        if not isinstance(body, dict):
            continue
        chat = body.get("chat") or (body.get("message") or {}).get("chat")
        if isinstance(chat, dict) and "id" in chat:
            return ("chat", chat["id"])
        user = body.get("from") or body.get("user")
        if isinstance(user, dict) and "id" in user:
            return ("user", user["id"])
    return ("update", update["update_id"])


def forget(bot: BotState, update: dict[str, Any]) -> None:
    """Drop a delivered update from the pending ones (by identity: others may have been delivered since)."""
    for i, pending in enumerate(bot.pending):
        if pending is update:
            del bot.pending[i]
            return
