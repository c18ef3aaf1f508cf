"""How a neutral `Reply` becomes Telegram messages, whatever the framework: the shared rules.

Adapters implement four primitives (send text, send photo, upload a file, edit) and map their framework's errors to
`bot.delivery.replies` errors; splitting, captions and threading are decided here once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod

from bot.delivery.ratelimit import RateLimiter
from bot.delivery.replies import DeliveryError, RetryLater
from handlers.messages import Attachment, Button, Reply

log = logging.getLogger(__name__)

MAX_TEXT = 4096  # Telegram's limit for a message text, in characters
MAX_CAPTION = 1024
Keyboard = tuple[tuple[Button, ...], ...]
Media = str | Attachment  # a Telegram file_id, or a file to upload


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut `text` into parts of at most `limit` characters, preferring line breaks, then spaces."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut <= limit // 2:
            cut = rest.rfind(" ", 0, limit + 1)
        if cut <= limit // 2:
            cut = limit  # Chinese has no spaces: a hard cut is the honest fallback
        parts.append(rest[:cut])
        rest = rest[cut:].lstrip("\n") if rest[cut : cut + 1] == "\n" else rest[cut:]
    if rest or not parts:
        parts.append(rest)
    return parts


class MessageNotModified(DeliveryError):
    """An edit that changes nothing: Telegram refuses it, but for us it is already done."""


class BaseMessenger(ABC):
    """Implements `bot.delivery.replies.Messenger` on top of three framework calls."""

    def __init__(self, limiter: RateLimiter | None = None, *, max_part_retries: int = 3) -> None:
        self._limiter = limiter
        self._max_part_retries = max_part_retries

    @abstractmethod
    async def send_text(self, chat_id: int, text: str, buttons: Keyboard, reply_to: int | None) -> int:
        """Send one text message; return its message id."""

    @abstractmethod
    async def send_photo(
        self, chat_id: int, photo: str, caption: str | None, buttons: Keyboard, reply_to: int | None
    ) -> int:
        """Send one photo (a Telegram file_id) with an optional caption; return its message id."""

    @abstractmethod
    async def send_file(
        self, chat_id: int, file: Attachment, caption: str | None, buttons: Keyboard, reply_to: int | None
    ) -> int:
        """Upload one file (multipart sendDocument, or sendPhoto for a photo); return its message id."""

    @abstractmethod
    async def edit_text(self, chat_id: int, message_id: int, text: str, buttons: Keyboard) -> None:
        """Replace the text and buttons of an earlier message."""

    async def send(self, reply: Reply, reply_to_message_id: int | None) -> int | None:
        """Deliver one reply; the returned id is the message carrying the buttons (the last part)."""
        if reply.edit_message_id is not None:
            # Not modified: e.g. the same button pressed twice, the card already shows this.
            with contextlib.suppress(MessageNotModified):
                await self.edit_text(
                    reply.chat_id, reply.edit_message_id, split_text(reply.text)[0], reply.buttons
                )
            return None
        steps: list[tuple[Media | None, str | None]] = []  # (photo or file, text) per message
        media: Media | None = reply.attachment if reply.attachment is not None else reply.photo
        if media is not None:
            if len(reply.text) <= MAX_CAPTION:
                steps.append((media, reply.text or None))
            else:
                steps.append((media, None))
                steps += [(None, part) for part in split_text(reply.text)]
        else:
            steps += [(None, part) for part in split_text(reply.text)]
        message_id = 0
        for index, (medium, text) in enumerate(steps):
            last = index == len(steps) - 1
            buttons = reply.buttons if last else ()
            reply_to = reply_to_message_id if index == 0 else None
            message_id = await self._step(reply.chat_id, index, medium, text, buttons, reply_to)
        return message_id

    async def _step(
        self,
        chat_id: int,
        index: int,
        media: Media | None,
        text: str | None,
        buttons: Keyboard,
        reply_to: int | None,
    ) -> int:
        attempt = 0
        while True:
            if index > 0 and self._limiter is not None:
                await self._limiter.acquire(chat_id)  # the sender paced only the first part
            try:
                if isinstance(media, Attachment):
                    return await self.send_file(chat_id, media, text, buttons, reply_to)
                if media is not None:
                    return await self.send_photo(chat_id, media, text, buttons, reply_to)
                assert text is not None
                return await self.send_text(chat_id, text, buttons, reply_to)
            except RetryLater as error:
                # The first part failing means nothing went out: the sender retries the whole reply.
                # A later part is retried here, or the earlier parts would be sent twice.
                attempt += 1
                if index == 0 or attempt > self._max_part_retries:
                    raise
                log.warning("part %d rate limited, retry in %.1fs", index + 1, error.seconds)
                if self._limiter is not None:
                    self._limiter.pause(error.seconds)
                else:
                    await asyncio.sleep(error.seconds)
