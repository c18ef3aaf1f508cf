"""The classifier's labelled examples (handlers/labels): the learning loop of issue 11 item 6."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, TZDateTime


class ClassificationLabelRow(Base):
    """A message's text with the category a person chose for it, who and when, and what the classifier said.

    `resident_id` is whose words the text is, `order_id` the order it came from: erasing the resident and
    redacting the order (retention) delete the row (storage/repositories/privacy.py).
    """

    __tablename__ = "classification_labels"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(24))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    classifier_category: Mapped[str] = mapped_column(String(32))
    classifier_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    model_category: Mapped[str] = mapped_column(String(32), default="")
    model_probability: Mapped[float] = mapped_column(Float, default=0.0)
