"""Tables of the edges: the reply outbox, the Telegram update journal and unreachable chats."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, TZDateTime


class OutboxRow(Base):
    """Messages to send, written in the same transaction as the change that caused them."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_id", "status", "id"),
        Index("ix_outbox_chat_status", "chat_id", "status"),  # "is this chat being sent to?" per claim
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column()
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    # handlers.messages.DeliveryPriority: a larger number is claimed first (an emergency's advice and
    # alerts); a chat's rows of one priority keep their id order. Migration 0011.
    priority: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    # The lease of a row in "sending": which process took it and when (a dead one's rows go back).
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class TelegramUpdateRow(Base):
    """Raw Telegram updates, journaled before they are acknowledged (offset advanced / webhook answered).

    `handled_at` is set once the core has handled the update; rows without it are replayed at start-up.
    """

    __tablename__ = "telegram_updates"
    __table_args__ = (Index("ix_telegram_updates_handled_at", "handled_at"),)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[dict[str, Any]] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(TZDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    # Failed handlings so far; at the limit the update is given up (handled_at set) instead of replayed forever.
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class UnreachableChatRow(Base):
    """Chats Telegram refused with 403 (bot blocked, kicked from a group): nothing is sent until they write again."""

    __tablename__ = "unreachable_chats"
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    since: Mapped[datetime] = mapped_column(TZDateTime)
    reason: Mapped[str] = mapped_column(String(200), default="")
