"""The neutral language between transports and the core: what came in, what goes out.

A transport (console, python-telegram-bot, aiogram) turns its update into an `Incoming`, calls the core,
and renders each `Reply`. Nothing here knows a chat framework.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum


class ChatKind(StrEnum):
    PRIVATE = "private"
    GROUP = "group"


@dataclass(frozen=True)
class Incoming:
    """One thing a person did in a chat: a text, a photo, a location, or a button press."""

    chat_id: int
    sender_id: int
    sender_name: str = ""
    chat_kind: ChatKind = ChatKind.PRIVATE
    message_id: int | None = None
    text: str | None = None
    photo: str | None = None  # transport file reference (Telegram file_id)
    location: tuple[float, float] | None = None  # (latitude, longitude)
    callback_data: str | None = None
    callback_message_id: int | None = None  # the message the pressed button was on
    reply_to_message_id: int | None = None
    # Identifies the update for exactly-once handling (e.g. "m:<chat>:<message id>" or "cb:<query id>").
    dedupe_key: str | None = None

    @property
    def is_command(self) -> bool:
        return bool(self.text) and self.text is not None and self.text.startswith("/")


@dataclass(frozen=True)
class Button:
    text: str
    data: str  # callback data: short, opaque, re-authorised on every press


class DeliveryPriority(IntEnum):
    """How soon a queued message must go out; a larger number goes first (the outbox's `priority`).

    The same scale as broadcast deliveries (an /alert is 100, a campaign 0). Within one chat, messages of
    one priority keep their order; a higher one overtakes what is queued below it.
    """

    NORMAL = 0
    # The first seconds of an emergency: advice, alerts, the "is it happening now?" question.
    URGENT = 100


class AttachmentKind(StrEnum):
    DOCUMENT = "document"  # any file, kept as sent (a workbook)
    PHOTO = "photo"  # an image shown inline (a chart)


# What one attachment may weigh: its bytes travel in the outbox row with the reply (crash-safe, no second
# store), so they are kept small. A month's workbook is tens to hundreds of KB, a chart tens of KB.
MAX_ATTACHMENT_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Attachment:
    """A file the core sends with a reply (uploaded by the transport; the reply's text is its caption)."""

    data: bytes
    filename: str
    kind: AttachmentKind = AttachmentKind.DOCUMENT

    def __post_init__(self) -> None:
        if not self.data or len(self.data) > MAX_ATTACHMENT_BYTES:
            raise ValueError(f"an attachment has 1..{MAX_ATTACHMENT_BYTES} bytes, not {len(self.data)}")

    def __repr__(self) -> str:  # never dump the bytes into a log
        return f"Attachment({self.kind.value}, {self.filename!r}, {len(self.data)} bytes)"


@dataclass(frozen=True)
class Reply:
    """A message the core wants a chat to receive."""

    chat_id: int
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    # The work order this message is about: replies to it in that chat are relayed (member <-> resident).
    order_id: int | None = None
    # Thread under the latest message about `order_id` in this chat (Telegram reply_to_message).
    thread: bool = False
    photo: str | None = None
    # A file to upload (a document, or a photo from bytes); `text` becomes its caption when short enough.
    attachment: Attachment | None = None
    # Replace the text and buttons of this earlier message instead of sending a new one.
    edit_message_id: int | None = None
    priority: DeliveryPriority = DeliveryPriority.NORMAL

    @property
    def urgent(self) -> bool:
        return self.priority >= DeliveryPriority.URGENT


@dataclass
class Outcome:
    """What handling one `Incoming` produced beyond the queued replies."""

    callback_answer: str | None = None  # short toast for a button press
    duplicate: bool = False
    # What the committed transaction queued (the transport wakes its sender at once for urgent ones).
    replies: list[Reply] = field(default_factory=list)
    # Handling failed unexpectedly: nothing was kept, the person was told, and this number is in the log.
    # The update counts as handled all the same (replaying it would fail the same way).
    incident: str | None = None
