"""The learning loop as people in chats meet it, on any storage (fakes here, SQLite and PostgreSQL in
tests/integration/labels): each scenario drives the chat and returns what it needs to check."""

from __future__ import annotations

from typing import Protocol

from handlers.labels import texts as label_texts
from handlers.labels.export import stored_labels
from handlers.labels.model import ClassificationLabel
from handlers.ports import UnitOfWork
from handlers.workorders import texts as order_texts
from nlp.categories import SHIPPED
from nlp.types import Category
from tests.driver import RESIDENT_ZHANG, ChatDriver, Sent

UNKNOWABLE = "家里那台啵啵机又咕噜咕噜了"  # no rule knows it: the resident is asked which kind it is
LAMP = "楼道灯坏了，晚上看不见"  # a repair, by the rules


class Factory(Protocol):
    def __call__(self) -> UnitOfWork: ...


async def labels(uow_factory: Factory) -> list[ClassificationLabel]:
    async with uow_factory() as uow:
        return await stored_labels(uow)


async def resident_chooses(
    driver: ChatDriver, text: str = UNKNOWABLE, choice: Category = Category.REPAIR
) -> None:
    """The classifier cannot tell; she picks the category from the buttons; the order opens."""
    await driver.text(RESIDENT_ZHANG, text)
    assert driver.last(RESIDENT_ZHANG).text.startswith("为了更快交给合适的人处理")
    await driver.press_button(RESIDENT_ZHANG, SHIPPED.label(choice))
    assert "已为您生成工单" in driver.last(RESIDENT_ZHANG).text


async def member_corrects(
    driver: ChatDriver, to: Category, text: str = LAMP, resident: int = RESIDENT_ZHANG
) -> int:
    """A resident reports; the grid member who gets the card presses 改类别 on it and picks `to`. Returns
    the member's chat."""
    await driver.text(resident, text)
    card = next(
        s for s in reversed(driver.sent) if text in s.text and order_texts.BTN_ACCEPT in _labels_of(s)
    )
    await driver.press(card.chat_id, card.button(label_texts.BTN_RECATEGORISE).data, on=card)
    await driver.press_button(card.chat_id, SHIPPED.label(to))
    return card.chat_id


def _labels_of(sent: Sent) -> list[str]:
    return [b.text for row in sent.reply.buttons for b in row]
