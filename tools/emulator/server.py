"""A Telegram Bot API emulator on loopback, for end-to-end tests of the real PTB and aiogram stacks.

It speaks the real wire format (``/bot{token}/{method}`` with query, form, multipart or JSON
parameters; ``/file/bot{token}/{path}`` downloads; ``{"ok": ..}`` envelopes with Telegram's
error codes and descriptions), so the frameworks run unchanged against ``emu.url``.

Usage from a test::

    async with Emulator() as emu:
        app = Application.builder().token(emu.token).base_url(f"{emu.url}/bot")...
        emu.user_sends_text(42, "hello")
        reply = await emu.wait_for_message(42)

Standalone (benchmarks; control it over HTTP under ``/_emulator/``, see :mod:`tools.emulator.control`)::

    python -m tools.emulator.server --port 8081 --token 123456:TEST
"""

# ruff: noqa: ASYNC109  -- `timeout=` bounds a test's wait; it is the documented waiter API, not a hidden cancel.

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import socket
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

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
from tools.emulator.wire import ApiError, Params, Upload, bad_request, image_size, read_params, tiny_png

__all__ = ["DEFAULT_TOKEN", "BotState", "Emulator", "Fault", "RateLimit"]

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456789:TEST-emulator-token-AAAAAAAAAAAAAAAA"
_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_BOT_COMMAND_ENTITY_RE = re.compile(r"(?:(?<=\s)|^)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")

# Update types delivered when allowed_updates is empty/unset (Telegram's documented default).
_DEFAULT_EXCLUDED = {"chat_member", "message_reaction", "message_reaction_count"}
# Methods that put a message into a chat: flood limits and "blocked" apply to them.
_SENDING = {"sendmessage", "sendphoto", "senddocument", "sendlocation", "copymessage", "forwardmessage"}
_CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)


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
class _Chat:
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
class _StoredFile:
    file_id: str
    file_unique_id: str
    path: str
    data: bytes


@dataclass
class _Webhook:
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
    webhook: _Webhook | None = None
    commands: dict[tuple[str, int | None, int | None, str], list[dict[str, str]]] = field(
        default_factory=dict
    )
    chats: dict[int, _Chat] = field(default_factory=dict)
    callback_queries: dict[str, dict[str, Any]] = field(default_factory=dict)
    poll: asyncio.Future[str] | None = None
    polling: asyncio.Event = field(default_factory=asyncio.Event)  # a long poll is being held
    webhook_wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def user(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": True, "first_name": self.first_name, "username": self.username}


def _scope_key(scope: Any, language_code: str) -> tuple[str, int | None, int | None, str]:
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


def _entities(text: str) -> list[dict[str, Any]]:
    """Mark /commands as bot_command entities, as Telegram does (PTB's CommandHandler needs them)."""
    return [
        {
            "type": "bot_command",
            "offset": len(text[: m.start()].encode("utf-16-le")) // 2,
            "length": len(m[0]),
        }
        for m in _BOT_COMMAND_ENTITY_RE.finditer(text)
    ]


def _strip_reply(message: dict[str, Any]) -> dict[str, Any]:
    """Telegram nests reply_to_message only one level deep."""
    return {k: v for k, v in message.items() if k != "reply_to_message"}


class Emulator:
    """The Bot API server plus the simulated user side and the record of what the bot did.

    Args:
        token: the first bot's token (more bots: :meth:`add_bot`).
        host: interface to bind; loopback only, tests must not reach the network.
        port: 0 for an ephemeral port.
        strict_chats: refuse to send into chats no user has opened (Telegram's "chat not found"
            / "bot can't initiate conversation"); turn off for broadcast benchmarks.
        rate_limit: flood limits answering 429, or None.
        webhook_retry_delay: first delay before re-POSTing a refused webhook update (doubles up to 1 s).
        privacy_mode: if True, group messages reach the bot only if they are commands, replies to
            the bot or mention it (Telegram's default for bots; @BotFather /setprivacy turns it off).
    """

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
        self.files: dict[str, _StoredFile] = {}
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
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._methods: dict[str, Callable[[BotState, Params], Any]] = {
            name.removeprefix("_m_").lower(): getattr(self, name)
            for name in dir(self)
            if name.startswith("_m_")
        }
        self._canonical = {name[3:].lower(): name[3:] for name in dir(self) if name.startswith("_m_")}

    # ----------------------------------------------------------------------------- lifecycle

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
        if not _TOKEN_RE.match(token):
            raise ValueError("token must look like '<digits>:<secret>'")
        bot_id = int(token.split(":", 1)[0])
        state = BotState(token, bot_id, username or f"bot{bot_id}", first_name, privacy_mode)
        self.bots[token] = state
        return state

    def build_app(self) -> web.Application:
        """Build the aiohttp application (also used by the standalone runner)."""
        # Telegram answers uploads up to 50 MB; aiohttp's default body limit is 1 MiB.
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        from tools.emulator.control import add_control_routes  # the control API is optional glue

        add_control_routes(app, self)
        return app

    async def start(self) -> None:
        """Bind and serve; ``port=0`` picks a free port, readable afterwards as ``self.port``."""
        # handler_cancellation: a long poll whose client went away (bot stopped) ends at once
        # instead of holding the server open until its timeout.
        self._runner = web.AppRunner(self.build_app(), handler_cancellation=True, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._client = aiohttp.ClientSession()

    async def close(self) -> None:
        """Wake long polls, stop webhook deliveries, close the server."""
        for bot in self.bots.values():
            self._wake_poll(bot, "closed")
            bot.webhook = None
            bot.webhook_wakeup.set()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _next_seq(self) -> int:
        return next(self._seq)

    def checkpoint(self) -> int:
        """Return a seq; pass it as ``since=`` to wait only for what happens after this point."""
        return self._next_seq()

    # ----------------------------------------------------------------------------- HTTP handlers

    async def _handle_api(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        bot = self.bots.get(token)
        if bot is None:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        params = await self._safe_params(request)
        if isinstance(params, ApiError):
            return web.json_response(params.body(), status=params.error_code)
        body, status = await self.call(bot, method, params, content_type=request.content_type)
        return web.json_response(body, status=status)

    @staticmethod
    async def _safe_params(request: web.Request) -> Params | ApiError:
        try:
            return await read_params(request)
        except ApiError as err:
            return err

    async def call(
        self, bot: BotState, method: str, params: Params, *, content_type: str = "", via: str = "http"
    ) -> tuple[dict[str, Any], int]:
        """Run one API method with faults and limits applied; return (envelope, HTTP status)."""
        key = method.lower()  # Telegram's method names are case-insensitive
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

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] not in self.bots:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.path == path:
                return web.Response(body=stored.data, content_type="application/octet-stream")
        return web.json_response(ApiError(404, "Not Found").body(), status=404)

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

    # ----------------------------------------------------------------------------- chats and users

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
            chat = bot.chats[chat_id] = _Chat(obj)
        elif title is not None and chat.is_group:
            chat.obj["title"] = title
        return chat.obj

    def _target_chat(self, bot: BotState, params: Params, name: str = "chat_id") -> _Chat:
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

    # ----------------------------------------------------------------------------- updates

    def _enqueue(self, bot: BotState, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": bot.next_update_id, kind: payload}
        bot.next_update_id += 1
        allowed = set(bot.allowed_updates) if bot.allowed_updates else None
        if (kind in allowed) if allowed is not None else (kind not in _DEFAULT_EXCLUDED):
            bot.pending.append(update)
            self._wake_poll(bot, "update")
            bot.webhook_wakeup.set()
        return update

    @staticmethod
    def _wake_poll(bot: BotState, reason: str) -> None:
        if bot.poll is not None and not bot.poll.done():
            bot.poll.set_result(reason)

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
    ) -> tuple[BotState, _Chat, dict[str, Any]]:
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
            message["reply_to_message"] = _strip_reply(replied)
        chat.messages[message["message_id"]] = message
        self.last_user_seq = self._next_seq()
        return bot, chat, message

    def _deliver_message(self, bot: BotState, chat: _Chat, message: dict[str, Any]) -> dict[str, Any]:
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
        if entities := _entities(text):
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

    def _photo_sizes(self, data: bytes) -> list[dict[str, Any]]:
        width, height = image_size(data)
        stored = self._store_file(data, "photos", "jpg")
        # Telegram sends several sizes, smallest first; frameworks pick photo[-1].
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

    def _store_file(self, data: bytes, folder: str, ext: str) -> _StoredFile:
        n = next(self._file_ids)
        stored = _StoredFile(f"AgACAgEmu{n:06d}", f"AQADEmu{n:06d}", f"{folder}/file_{n}.{ext}", data)
        self.files[stored.file_id] = stored
        return stored

    # ----------------------------------------------------------------------------- recorded output

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
        return self.bots[token or self.token].commands.get(_scope_key(scope, language_code), [])

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
        """POST pending updates one at a time, in order, retrying until the receiver answers 2xx."""
        hook = bot.webhook
        delay = self.webhook_retry_delay
        while bot.webhook is hook and hook is not None:
            if not bot.pending:
                bot.webhook_wakeup.clear()
                await bot.webhook_wakeup.wait()
                continue
            update = bot.pending[0]
            headers = {"Content-Type": "application/json"}
            if hook.secret_token:
                headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
            status: int | None = None
            error: str | None = None
            answer: Any = None
            assert self._client is not None
            try:
                async with self._client.post(
                    hook.url, json=update, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
                ) as resp:
                    status = resp.status
                    if resp.content_type == "application/json":
                        answer = await resp.json()
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            self.webhook_deliveries.append(
                WebhookDelivery(
                    self._next_seq(), time.monotonic(), bot.id, update["update_id"], status, error
                )
            )
            if status is not None and 200 <= status < 300:
                if bot.pending and bot.pending[0] is update:
                    bot.pending.popleft()
                delay = self.webhook_retry_delay
                if isinstance(answer, dict) and isinstance(answer.get("method"), str):
                    # "Reply to the webhook with a method call" (aiogram uses it): run it, result unseen.
                    call_params = {k: v for k, v in answer.items() if k != "method"}
                    await self.call(bot, answer["method"], Params(call_params), via="webhook-response")
                continue
            hook.last_error_date = int(time.time())
            hook.last_error_message = error or f"Wrong response from the webhook: {status}"
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    # ----------------------------------------------------------------------------- API methods

    def _m_getMe(self, bot: BotState, p: Params) -> dict[str, Any]:
        return {
            **bot.user,
            "can_join_groups": True,
            "can_read_all_group_messages": not bot.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_logOut(self, bot: BotState, p: Params) -> bool:
        return True

    def _m_close(self, bot: BotState, p: Params) -> bool:
        return True

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
        self._wake_poll(bot, "conflict")
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
        bot.webhook = _Webhook(url, secret, p.integer("max_connections", 40) or 40)
        self._wake_poll(bot, "webhook")  # a pending long poll returns as the webhook takes over
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

    # --- messages

    def _validate_markup(self, markup: Any) -> dict[str, Any] | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if not str(button.get("text", "")):
                    raise bad_request("text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise bad_request("BUTTON_DATA_INVALID")
        return markup

    def _reply_target(self, bot: BotState, chat: _Chat, p: Params) -> dict[str, Any] | None:
        params = p.object("reply_parameters")
        if params is None and "reply_to_message_id" in p:
            params = {
                "message_id": p.integer("reply_to_message_id"),
                "allow_sending_without_reply": p.flag("allow_sending_without_reply"),
            }
        if not params:
            return None
        target_chat = chat
        if params.get("chat_id") is not None:
            target_chat = self._target_chat(bot, Params({"chat_id": params["chat_id"]}))
        replied = target_chat.messages.get(int(params.get("message_id", 0)))
        if replied is None:
            if params.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return _strip_reply(replied)

    def _bot_message(
        self, bot: BotState, method: str, chat: _Chat, p: Params, content: dict[str, Any]
    ) -> dict[str, Any]:
        markup = self._validate_markup(p.object("reply_markup"))
        reply_to = self._reply_target(bot, chat, p)
        message: dict[str, Any] = {
            "message_id": chat.next_message_id,
            "from": bot.user,
            "chat": dict(chat.obj),
            "date": int(time.time()),
        }
        chat.next_message_id += 1
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message.update(content)
        if markup and "inline_keyboard" in markup:  # only inline keyboards come back in the Message
            message["reply_markup"] = markup
        chat.messages[message["message_id"]] = message
        photo = content.get("photo")
        self.messages.append(
            BotMessage(
                seq=self._next_seq(),
                time=time.monotonic(),
                bot_id=bot.id,
                method=method,
                chat_id=chat.id,
                message_id=message["message_id"],
                text=content.get("text"),
                caption=content.get("caption"),
                reply_markup=markup,
                reply_to_message_id=reply_to["message_id"] if reply_to else None,
                photo=photo[-1]["file_id"] if photo else None,
                raw=message,
            )
        )
        return message

    def _m_sendMessage(self, bot: BotState, p: Params) -> dict[str, Any]:
        chat = self._target_chat(bot, p)
        text = p.string("text") or ""
        if not text.strip():
            raise bad_request("message text is empty")
        if len(text) > 4096:
            raise bad_request("message is too long")
        content: dict[str, Any] = {"text": text}
        if entities := _entities(text):
            content["entities"] = entities
        return self._bot_message(bot, "sendMessage", chat, p, content)

    def _m_sendPhoto(self, bot: BotState, p: Params) -> dict[str, Any]:
        chat = self._target_chat(bot, p)
        photo = p.file("photo")
        if isinstance(photo, Upload):
            sizes = self._photo_sizes(photo.data)
        elif not photo:
            raise bad_request("there is no photo in the request")
        elif photo in self.files:
            stored = self.files[photo]
            width, height = image_size(stored.data)
            sizes = [
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": len(stored.data),
                    "width": width,
                    "height": height,
                }
            ]
        elif photo.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")  # the emulator never fetches URLs
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        content: dict[str, Any] = {"photo": sizes}
        caption = p.string("caption")
        if caption:
            if len(caption) > 1024:
                raise bad_request("message caption is too long")
            content["caption"] = caption
        return self._bot_message(bot, "sendPhoto", chat, p, content)

    def _m_sendChatAction(self, bot: BotState, p: Params) -> bool:
        self._target_chat(bot, p)
        if p.string("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _editable(self, bot: BotState, p: Params) -> tuple[_Chat, dict[str, Any]]:
        if p.string("inline_message_id"):
            raise bad_request("inline messages are not supported by the emulator")
        chat = self._target_chat(bot, p)
        message = chat.messages.get(p.require_int("message_id"))
        if message is None:
            raise bad_request("message to edit not found")
        if message["from"]["id"] != bot.id:
            raise bad_request("message can't be edited")
        return chat, message

    def _record_edit(
        self, bot: BotState, method: str, chat: _Chat, message: dict[str, Any]
    ) -> dict[str, Any]:
        message["edit_date"] = int(time.time())
        self.edits.append(
            EditRecord(
                seq=self._next_seq(),
                time=time.monotonic(),
                bot_id=bot.id,
                method=method,
                chat_id=chat.id,
                message_id=message["message_id"],
                text=message.get("text"),
                reply_markup=message.get("reply_markup"),
                raw=dict(message),
            )
        )
        return message

    def _m_editMessageText(self, bot: BotState, p: Params) -> dict[str, Any]:
        chat, message = self._editable(bot, p)
        text = p.string("text") or ""
        if not text.strip():
            raise bad_request("message text is empty")
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        markup = self._validate_markup(p.object("reply_markup"))
        if message["text"] == text and message.get("reply_markup") == markup:
            raise bad_request(_NOT_MODIFIED)
        message["text"] = text
        message.pop("entities", None)
        if entities := _entities(text):
            message["entities"] = entities
        # Like Telegram: an edit without reply_markup removes the inline keyboard.
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return self._record_edit(bot, "editMessageText", chat, message)

    def _m_editMessageReplyMarkup(self, bot: BotState, p: Params) -> dict[str, Any]:
        chat, message = self._editable(bot, p)
        markup = self._validate_markup(p.object("reply_markup"))
        if message.get("reply_markup") == markup or (not markup and "reply_markup" not in message):
            raise bad_request(_NOT_MODIFIED)
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return self._record_edit(bot, "editMessageReplyMarkup", chat, message)

    def _m_answerCallbackQuery(self, bot: BotState, p: Params) -> bool:
        query_id = p.require_str("callback_query_id")
        query = bot.callback_queries.get(query_id)
        if query is None or query.get("_answered"):
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        query["_answered"] = True  # private marker; the update already left
        text = p.string("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.callback_answers.append(
            CallbackAnswer(
                self._next_seq(),
                time.monotonic(),
                bot.id,
                query_id,
                text,
                p.flag("show_alert"),
                p.string("url"),
            )
        )
        return True

    # --- commands

    def _m_setMyCommands(self, bot: BotState, p: Params) -> bool:
        commands = p.object("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("commands must be a list of at most 100 BotCommand")
        for command in commands:
            if not _COMMAND_RE.match(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = _scope_key(p.object("scope"), p.string("language_code") or "")
        if commands:
            bot.commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        else:
            bot.commands.pop(key, None)
        return True

    def _m_getMyCommands(self, bot: BotState, p: Params) -> list[dict[str, str]]:
        return bot.commands.get(_scope_key(p.object("scope"), p.string("language_code") or ""), [])

    def _m_deleteMyCommands(self, bot: BotState, p: Params) -> bool:
        bot.commands.pop(_scope_key(p.object("scope"), p.string("language_code") or ""), None)
        return True

    # --- files and chats

    def _m_getFile(self, bot: BotState, p: Params) -> dict[str, Any]:
        stored = self.files.get(p.require_str("file_id"))
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.path,
        }

    def _m_getChat(self, bot: BotState, p: Params) -> dict[str, Any]:
        chat = self._target_chat(bot, p)
        return {
            **chat.obj,
            # ChatFullInfo fields both frameworks require.
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
            },
        }


async def _serve(args: Any) -> None:
    from tools.emulator.control import run_standalone

    await run_standalone(args)


def main(argv: list[str] | None = None) -> None:
    """``python -m tools.emulator.server --port 8081``: serve until interrupted."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", action="append", help="bot token (repeatable); default: DEFAULT_TOKEN")
    parser.add_argument("--overall-per-second", type=float, default=None, help="flood limit, e.g. 30")
    parser.add_argument("--per-chat-per-second", type=float, default=None)
    parser.add_argument("--per-group-per-minute", type=int, default=None)
    parser.add_argument("--no-strict-chats", action="store_true", help="allow sending to unknown chats")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
