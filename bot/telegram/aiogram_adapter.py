"""aiogram 3 adapter: translate updates to `Incoming`, render `Reply` with aiogram's Bot.

aiogram's Dispatcher routes updates to our handlers (feed_update); its polling loop is not used, because
it confirms updates before they are handled. The runner (bot.telegram.runner) fetches and journals instead.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from typing import Any, cast

from aiogram import Bot, Dispatcher, Router, methods
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import AiogramError, TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.methods.base import Response
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    TelegramObject,
    Update,
)

from bot.delivery.ratelimit import RateLimiter
from bot.delivery.replies import DeliveryError, RetryLater, Unreachable
from bot.telegram.base import ALLOWED_UPDATES, HandleFn
from bot.telegram.rendering import BaseMessenger, Keyboard, MessageNotModified
from bot.telegram.translate import incoming_from_callback, incoming_from_message
from handlers.messages import Attachment, AttachmentKind


class SentMessageId(TelegramObject):
    """What gridbot reads of a sent message: its id (the rest of Telegram's answer is left unparsed)."""

    message_id: int


class SendText(methods.SendMessage):
    """sendMessage, its answer read as `SentMessageId` rather than a whole `Message` (chat, sender, entities
    as pydantic models): a fifth of aiogram's CPU for each message sent (0.42 -> 0.33 ms against the
    emulator), and the bot sends one or two of them for every report."""

    # Typed as SendMessage's (Message) for aiogram's generics; `send_text` reads the answer as what it is.
    __returning__ = SentMessageId  # type: ignore[assignment]


# aiogram reads every Bot API answer with pydantic's `Response[T]`, a class pydantic builds on first use and
# caches only while something holds it: once the collector frees it, the next answer builds it again (~9 ms).
# gridbot allocates enough to run the collector every few reports (py-spy under load: a quarter of the
# aiogram bot's time). Holding the answer type of each method the bot calls keeps them built.
RESPONSE_TYPES = tuple(
    Response[method.__returning__]  # type: ignore[name-defined]  # a runtime type, as aiogram does
    for method in (
        SendText,
        methods.SendMessage,
        methods.SendPhoto,
        methods.SendDocument,
        methods.EditMessageText,
        methods.AnswerCallbackQuery,
        methods.GetUpdates,
        methods.GetMe,
        methods.SetMyCommands,
        methods.SetWebhook,
        methods.DeleteWebhook,
    )
)


async def has_content(message: Message) -> bool:
    """The messages the core reads: text, a photo or a location. Async on purpose: aiogram runs a plain
    function or magic filter (F.text | ...) on a worker thread, one thread hand-over per message."""
    return bool(message.text or message.photo or message.location)


def map_error(error: Exception) -> DeliveryError:
    """aiogram's errors as the sender understands them."""
    if isinstance(error, TelegramRetryAfter):
        return RetryLater(float(error.retry_after))
    if isinstance(error, TelegramForbiddenError):
        return Unreachable(error.message)
    if isinstance(error, TelegramBadRequest) and "not modified" in error.message:
        return MessageNotModified(error.message)
    return DeliveryError(type(error).__name__)


def _markup(buttons: Keyboard) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=b.text, callback_data=b.data) for b in row] for row in buttons
        ]
    )


def _reply_to(message_id: int | None) -> ReplyParameters | None:
    # The original may have been deleted: sending without the thread beats not sending.
    if message_id is None:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


class AiogramMessenger(BaseMessenger):
    def __init__(self, bot: Bot, limiter: RateLimiter | None = None) -> None:
        super().__init__(limiter)
        self._bot = bot

    async def send_text(self, chat_id: int, text: str, buttons: Keyboard, reply_to: int | None) -> int:
        try:
            method = SendText.model_validate(
                {
                    "chat_id": chat_id,
                    "text": text,
                    "reply_markup": _markup(buttons),
                    "reply_parameters": _reply_to(reply_to),
                }
            )
            message = cast(SentMessageId, await self._bot(method))
        except (AiogramError, TimeoutError) as error:
            raise map_error(error) from error
        return message.message_id

    async def send_photo(
        self, chat_id: int, photo: str, caption: str | None, buttons: Keyboard, reply_to: int | None
    ) -> int:
        try:
            message = await self._bot.send_photo(
                chat_id,
                photo,
                caption=caption,
                reply_markup=_markup(buttons),
                reply_parameters=_reply_to(reply_to),
            )
        except (AiogramError, TimeoutError) as error:
            raise map_error(error) from error
        return message.message_id

    async def send_file(
        self, chat_id: int, file: Attachment, caption: str | None, buttons: Keyboard, reply_to: int | None
    ) -> int:
        send = self._bot.send_photo if file.kind is AttachmentKind.PHOTO else self._bot.send_document
        try:
            message = await send(
                chat_id,
                BufferedInputFile(file.data, filename=file.filename),
                caption=caption,
                reply_markup=_markup(buttons),
                reply_parameters=_reply_to(reply_to),
            )
        except (AiogramError, TimeoutError) as error:
            raise map_error(error) from error
        return message.message_id

    async def edit_text(self, chat_id: int, message_id: int, text: str, buttons: Keyboard) -> None:
        try:
            await self._bot.edit_message_text(
                text=text, chat_id=chat_id, message_id=message_id, reply_markup=_markup(buttons)
            )
        except (AiogramError, TimeoutError) as error:
            raise map_error(error) from error


class UpdatesSession(AiohttpSession):
    """aiogram's HTTP session, which also keeps getUpdates' answer as Telegram sent it: the journal stores
    that, and the update aiogram parsed is handled without being dumped and parsed again (~4 % of the bot's
    CPU under load: py-spy, issue 16)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.updates_sent: list[dict[str, Any]] = []

    def check_response(
        self, bot: Bot, method: methods.TelegramMethod[Any], status_code: int, content: str
    ) -> Response[Any]:
        response = super().check_response(bot, method, status_code, content)
        if isinstance(method, methods.GetUpdates):  # parsed without error: a list of updates
            self.updates_sent = json.loads(content)["result"]
        return response


class AiogramTransport:
    """The aiogram side of the Telegram runner (see bot.telegram.base.Transport)."""

    # Updates fetched and parsed, by id, until handled (`process`); a replayed one is parsed from the journal.
    PARSED_KEPT = 1_000

    def __init__(
        self, token: str, api_url: str, handle: HandleFn, limiter: RateLimiter | None = None
    ) -> None:
        self._handle = handle
        self.session = UpdatesSession(api=TelegramAPIServer.from_base(api_url.rstrip("/")))
        self.bot = Bot(token, session=self.session)
        self._parsed: dict[int, Update] = {}
        self.dispatcher = Dispatcher()
        router = Router(name="gridbot")
        router.callback_query.register(self._on_callback)
        router.message.register(self._on_message, has_content)
        self.dispatcher.include_router(router)
        self.messenger = AiogramMessenger(self.bot, limiter)

    async def start(self) -> None:
        await self.bot.me()

    async def close(self) -> None:
        await self.bot.session.close()

    async def fetch(self, offset: int | None, poll_seconds: int) -> list[dict[str, Any]]:
        updates = await self.bot.get_updates(
            offset=offset,
            timeout=poll_seconds,
            allowed_updates=list(ALLOWED_UPDATES),
            request_timeout=poll_seconds + 10,
        )
        if len(self._parsed) > self.PARSED_KEPT:  # updates never processed (given up): not kept for ever
            self._parsed.clear()
        self._parsed.update((u.update_id, u) for u in updates)
        sent = self.session.updates_sent
        if [p.get("update_id") for p in sent] == [u.update_id for u in updates]:
            return sent  # the journal keeps the updates as Telegram sent them
        # Back to the wire format (aliases such as "from" restored), should the two ever differ.
        return [u.model_dump(mode="json", by_alias=True, exclude_none=True) for u in updates]

    async def process(self, payload: dict[str, Any]) -> None:
        update = self._parsed.pop(int(payload["update_id"]), None)
        if update is None:  # replayed from the journal (a restart, another replica's): parsed here
            update = Update.model_validate(payload, context={"bot": self.bot})
        # feed_update raises when a handler fails and no error handler took it: the runner must know.
        await self.dispatcher.feed_update(self.bot, update)

    async def _on_message(self, message: Message) -> None:
        """Hand a resident's or member's message to the core."""
        incoming = incoming_from_message(message)
        if incoming is not None:
            await self._handle(incoming)

    async def _on_callback(self, query: CallbackQuery) -> None:
        """Hand a button press to the core and answer it (a refusal is the answer's text)."""
        outcome = await self._handle(incoming_from_callback(query))
        with contextlib.suppress(AiogramError):  # a replayed press: the query expired
            await query.answer(outcome.callback_answer)

    async def set_commands(self, commands: Sequence[tuple[str, str]], chat_id: int | None) -> None:
        scope = BotCommandScopeDefault() if chat_id is None else BotCommandScopeChat(chat_id=chat_id)
        await self.bot.set_my_commands(
            [BotCommand(command=c, description=d) for c, d in commands], scope=scope
        )

    async def set_webhook(self, url: str, secret: str) -> None:
        await self.bot.set_webhook(url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES))

    async def delete_webhook(self) -> None:
        await self.bot.delete_webhook()
