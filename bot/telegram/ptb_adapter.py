"""python-telegram-bot 22 adapter: translate updates to `Incoming`, render `Reply` with PTB's Bot.

PTB's Application routes updates to our handlers (process_update); its Updater is not used, because it
confirms updates before they are handled. The runner (bot.telegram.runner) fetches and journals instead.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.delivery.ratelimit import RateLimiter
from bot.delivery.replies import DeliveryError, RetryLater, Unreachable
from bot.telegram.base import ALLOWED_UPDATES, HandleFn
from bot.telegram.rendering import BaseMessenger, Keyboard, MessageNotModified
from bot.telegram.translate import incoming_from_callback, incoming_from_message
from handlers.messages import Attachment, AttachmentKind

PtbApplication = Application[Any, Any, Any, Any, Any, Any]


def _seconds(value: int | dt.timedelta) -> float:
    # PTB 22 gives an int by default and a timedelta with PTB_TIMEDELTA=1 (its future default).
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def map_error(error: TelegramError) -> DeliveryError:
    """PTB's errors as the sender understands them."""
    if isinstance(error, RetryAfter):
        return RetryLater(_seconds(error.retry_after))
    if isinstance(error, Forbidden):
        return Unreachable(error.message)
    if isinstance(error, BadRequest) and "not modified" in error.message:
        return MessageNotModified(error.message)
    return DeliveryError(f"{type(error).__name__}: {error.message}")


def _markup(buttons: Keyboard) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.text, callback_data=b.data) for b in row] for row in buttons]
    )


def _reply_to(message_id: int | None) -> ReplyParameters | None:
    # The original may have been deleted: sending without the thread beats not sending.
    if message_id is None:
        return None
    return ReplyParameters(message_id, allow_sending_without_reply=True)


class PtbMessenger(BaseMessenger):
    def __init__(self, application: PtbApplication, limiter: RateLimiter | None = None) -> None:
        super().__init__(limiter)
        self._application = application

    async def send_text(self, chat_id: int, text: str, buttons: Keyboard, reply_to: int | None) -> int:
        try:
            message = await self._application.bot.send_message(
                chat_id, text, reply_markup=_markup(buttons), reply_parameters=_reply_to(reply_to)
            )
        except TelegramError as error:
            raise map_error(error) from error
        return message.message_id

    async def send_photo(
        self, chat_id: int, photo: str, caption: str | None, buttons: Keyboard, reply_to: int | None
    ) -> int:
        try:
            message = await self._application.bot.send_photo(
                chat_id,
                photo,
                caption=caption,
                reply_markup=_markup(buttons),
                reply_parameters=_reply_to(reply_to),
            )
        except TelegramError as error:
            raise map_error(error) from error
        return message.message_id

    async def send_file(
        self, chat_id: int, file: Attachment, caption: str | None, buttons: Keyboard, reply_to: int | None
    ) -> int:
        bot = self._application.bot
        send = bot.send_photo if file.kind is AttachmentKind.PHOTO else bot.send_document
        try:
            message = await send(
                chat_id,
                InputFile(file.data, filename=file.filename),
                caption=caption,
                reply_markup=_markup(buttons),
                reply_parameters=_reply_to(reply_to),
            )
        except TelegramError as error:
            raise map_error(error) from error
        return message.message_id

    async def edit_text(self, chat_id: int, message_id: int, text: str, buttons: Keyboard) -> None:
        try:
            await self._application.bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, reply_markup=_markup(buttons)
            )
        except TelegramError as error:
            raise map_error(error) from error


class PtbTransport:
    """The PTB side of the Telegram runner (see bot.telegram.base.Transport)."""

    def __init__(
        self, token: str, api_url: str, handle: HandleFn, limiter: RateLimiter | None = None
    ) -> None:
        self._handle = handle
        self.application: PtbApplication = (
            Application.builder()
            .token(token)
            .base_url(f"{api_url.rstrip('/')}/bot")
            .base_file_url(f"{api_url.rstrip('/')}/file/bot")
            .updater(None)  # we fetch and journal updates ourselves
            .build()
        )
        self.application.add_handler(CallbackQueryHandler(self._on_callback))
        self.application.add_handler(
            MessageHandler(
                filters.UpdateType.MESSAGE & (filters.TEXT | filters.PHOTO | filters.LOCATION),
                self._on_message,
            )
        )
        self.application.add_error_handler(self._on_error)
        self._failures: dict[int, BaseException] = {}
        self.messenger = PtbMessenger(self.application, limiter)

    async def start(self) -> None:
        await self.application.initialize()

    async def close(self) -> None:
        await self.application.shutdown()

    async def fetch(self, offset: int | None, poll_seconds: int) -> list[dict[str, Any]]:
        updates = await self.application.bot.get_updates(
            offset=offset,
            timeout=poll_seconds,
            allowed_updates=list(ALLOWED_UPDATES),
            read_timeout=10,  # PTB adds the long-poll timeout to this
        )
        # Back to the wire format (plain JSON) for the journal.
        return [json.loads(u.to_json()) for u in updates]

    async def process(self, payload: dict[str, Any]) -> None:
        update = Update.de_json(payload, self.application.bot)
        await self.application.process_update(update)
        # PTB hands handler exceptions to error handlers instead of raising; the runner must know.
        error = self._failures.pop(update.update_id, None)
        if error is not None:
            raise error

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if isinstance(update, Update) and context.error is not None:
            self._failures[update.update_id] = context.error

    async def _on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Hand a resident's or member's message to the core."""
        if update.message is None:
            return
        incoming = incoming_from_message(update.message)
        if incoming is not None:
            await self._handle(incoming)

    async def _on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Hand a button press to the core and answer it (a refusal is the answer's text)."""
        query = update.callback_query
        if query is None:
            return
        outcome = await self._handle(incoming_from_callback(query))
        with contextlib.suppress(TelegramError):  # a replayed press: the query expired
            await query.answer(outcome.callback_answer)

    async def set_commands(self, commands: Sequence[tuple[str, str]], chat_id: int | None) -> None:
        scope = BotCommandScopeDefault() if chat_id is None else BotCommandScopeChat(chat_id)
        await self.application.bot.set_my_commands([BotCommand(c, d) for c, d in commands], scope=scope)

    async def set_webhook(self, url: str, secret: str) -> None:
        await self.application.bot.set_webhook(
            url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES)
        )

    async def delete_webhook(self) -> None:
        await self.application.bot.delete_webhook()
