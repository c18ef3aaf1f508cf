"""Telegram objects -> `Incoming`, for both frameworks.

python-telegram-bot and aiogram both mirror the Bot API's field names (message.chat.id, from_user.full_name,
photo[-1].file_id, ...), so one translation serves both; these protocols name exactly what it reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from handlers.messages import ChatKind, Incoming


class _User(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def is_bot(self) -> bool: ...
    @property
    def full_name(self) -> str: ...


class _Chat(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def type(self) -> str: ...


class _Photo(Protocol):
    @property
    def file_id(self) -> str: ...


class _Location(Protocol):
    @property
    def latitude(self) -> float: ...
    @property
    def longitude(self) -> float: ...


class _AnyMessage(Protocol):
    """What even an inaccessible message (an old button's) still tells."""

    @property
    def chat(self) -> _Chat: ...
    @property
    def message_id(self) -> int: ...


class TelegramMessage(_AnyMessage, Protocol):
    @property
    def from_user(self) -> _User | None: ...
    @property
    def text(self) -> str | None: ...
    @property
    def caption(self) -> str | None: ...
    @property
    def photo(self) -> Sequence[_Photo] | None: ...
    @property
    def location(self) -> _Location | None: ...
    @property
    def reply_to_message(self) -> _AnyMessage | None: ...


class TelegramCallback(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def from_user(self) -> _User: ...
    @property
    def data(self) -> str | None: ...
    @property
    def message(self) -> _AnyMessage | None: ...


def chat_kind(chat_type: str) -> ChatKind:
    return ChatKind.PRIVATE if chat_type == "private" else ChatKind.GROUP


def incoming_from_message(message: TelegramMessage) -> Incoming | None:
    """A text, photo or location message as the core sees it; None when it has no human sender."""
    user = message.from_user
    if user is None or user.is_bot:
        return None
    chat = message.chat
    location = message.location
    return Incoming(
        chat_id=chat.id,
        sender_id=user.id,
        sender_name=user.full_name,
        chat_kind=chat_kind(chat.type),
        message_id=message.message_id,
        text=message.text if message.text is not None else message.caption,
        photo=message.photo[-1].file_id if message.photo else None,
        location=(location.latitude, location.longitude) if location else None,
        reply_to_message_id=message.reply_to_message.message_id if message.reply_to_message else None,
        # Stable across redelivery (polling replay, webhook retry): the chat's own message id.
        dedupe_key=f"tg:m:{chat.id}:{message.message_id}",
    )


def incoming_from_callback(query: TelegramCallback) -> Incoming:
    message = query.message
    user = query.from_user
    return Incoming(
        chat_id=message.chat.id if message is not None else user.id,
        sender_id=user.id,
        sender_name=user.full_name,
        chat_kind=chat_kind(message.chat.type) if message is not None else ChatKind.PRIVATE,
        callback_data=query.data or "",
        callback_message_id=message.message_id if message is not None else None,
        dedupe_key=f"tg:cb:{query.id}",
    )
