"""Store a labelled example in the transaction of the choice or correction that made it."""

from __future__ import annotations

from handlers.community.model import Person
from handlers.community.texts import REDACTED
from handlers.context import Context
from handlers.labels.model import ClassificationLabel, LabelSource
from handlers.workorders.model import WorkOrder
from nlp.types import Category


def correction_source(person: Person) -> LabelSource:
    """Staff correct as staff; anyone else who may handle the order (grid member, leader) as a member."""
    return LabelSource.STAFF_CORRECTION if person.is_staff else LabelSource.MEMBER_CORRECTION


async def record_label(
    ctx: Context,
    order: WorkOrder,
    source: LabelSource,
    chosen: Category,
    text: str | None = None,
    author_id: int | None = None,
) -> ClassificationLabel | None:
    """Keep `chosen` as the label of the order's text (or of `text`, what the classifier was given when that
    was more than the order's text), with who chose it, when, and what the classifier says about it.

    `author_id` is the resident whose words `text` is when they are not the order's reporter (a "me too").
    None when there are no words left to learn from (the order's text was redacted: retention, erasure)."""
    seen = order.text if text is None else text
    if not seen.strip() or seen == REDACTED:
        return None
    said = ctx.classifier.classify(seen)
    vote = said.model
    actor = ctx.actor
    label = ClassificationLabel(
        id=None,
        text=seen,
        category=chosen,
        source=source,
        actor_kind=actor.kind,
        actor_id=actor.id,
        created_at=ctx.clock.now(),
        order_id=order.id,
        resident_id=order.resident_id if author_id is None else author_id,
        classifier_category=said.category,
        classifier_confidence=said.confidence,
        model_category=vote.category.value if vote is not None else "",
        model_probability=vote.probability if vote is not None else 0.0,
    )
    return await ctx.uow.labels.add(label)
