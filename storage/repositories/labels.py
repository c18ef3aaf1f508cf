"""The classifier's labelled examples on SQL (the LabelRepository port of handlers/ports.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.labels.model import ClassificationLabel, LabelSource
from nlp.types import Category
from storage.models import ClassificationLabelRow


class SqlLabelRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, label: ClassificationLabel) -> ClassificationLabel:
        row = ClassificationLabelRow(
            text=label.text,
            category=label.category.value,
            source=label.source.value,
            actor_kind=label.actor_kind,
            actor_id=label.actor_id,
            created_at=label.created_at,
            order_id=label.order_id,
            resident_id=label.resident_id,
            classifier_category=label.classifier_category.value,
            classifier_confidence=label.classifier_confidence,
            model_category=label.model_category,
            model_probability=label.model_probability,
        )
        self._session.add(row)
        await self._session.flush()
        return _label(row)

    async def page(self, after: int = 0, limit: int = 1000) -> list[ClassificationLabel]:
        rows = await self._session.scalars(
            select(ClassificationLabelRow)
            .where(ClassificationLabelRow.id > after)
            .order_by(ClassificationLabelRow.id)
            .limit(limit)
        )
        return [_label(row) for row in rows]


def _label(row: ClassificationLabelRow) -> ClassificationLabel:
    return ClassificationLabel(
        id=row.id,
        text=row.text,
        category=Category(row.category),
        source=LabelSource(row.source),
        actor_kind=row.actor_kind,
        actor_id=row.actor_id,
        created_at=row.created_at,
        order_id=row.order_id,
        resident_id=row.resident_id,
        classifier_category=Category(row.classifier_category),
        classifier_confidence=row.classifier_confidence,
        model_category=row.model_category,
        model_probability=row.model_probability,
    )
