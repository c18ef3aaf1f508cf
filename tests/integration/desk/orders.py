"""Work orders written straight into storage for the desk's queries to find (texts and report times chosen)."""

from __future__ import annotations

from datetime import datetime

from handlers.workorders.model import Actor, OrderLocation, WorkOrder
from nlp.types import Category, Priority
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import RESIDENT_ZHANG


async def add_orders(uow_factory: SqlUnitOfWorkFactory, reported: list[tuple[str, datetime]]) -> None:
    """One open repair order of the example resident 张 for each (text, report time), numbered in order."""
    async with uow_factory() as uow:
        resident = await uow.residents.by_chat(RESIDENT_ZHANG)
        assert resident is not None
        assert resident.id is not None
        for n, (words, at) in enumerate(reported):
            order = WorkOrder(
                id=None,
                number=f"GD20261129-{n + 1:04d}",
                resident_id=resident.id,
                resident_chat_id=resident.chat_id,
                text=words,
                category=Category.REPAIR,
                priority=Priority.NORMAL,
                location=OrderLocation(building_id=resident.building_id),
                created_at=at,
            )
            order.open(Actor("resident", resident.id), at)
            await uow.orders.add(order)
        await uow.commit()
