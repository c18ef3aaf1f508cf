"""Issue 11 item 6 on fakes: a resident's choice after `unknown`, a grid member's 改类别 and a staff
correction on the desk each store a labelled example, in the same transaction as the change."""

from __future__ import annotations

from handlers import verbs
from handlers.community.model import Person
from handlers.community.texts import REDACTED
from handlers.context import Context
from handlers.desk.actions import change_category
from handlers.labels import texts as label_texts
from handlers.labels.model import LabelSource
from handlers.messages import Incoming
from handlers.verbs import Verb
from handlers.workorders import texts as order_texts
from handlers.workorders.model import EventKind
from nlp.categories import SHIPPED
from nlp.types import Category, Priority
from tests.driver import (
    MEMBER_LI,
    MEMBER_QIAN,
    POLICE_WU,
    RESIDENT_CHEN,
    RESIDENT_ZHANG,
    STAFF_LIU,
    ChatDriver,
)
from tests.fakes import FakeClock, FakeUnitOfWorkFactory, KeywordClassifier
from tests.unit.labels.scenarios import LAMP, UNKNOWABLE, labels, member_corrects, resident_chooses


async def test_the_residents_choice_after_unknown_is_a_labelled_example(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    await resident_chooses(driver, choice=Category.SANITATION)
    (label,) = await labels(uow_factory)
    (order,) = uow_factory.store.orders.values()
    resident = uow_factory.store.residents[order.resident_id]
    assert (label.text, label.category, label.source) == (
        UNKNOWABLE,
        Category.SANITATION,
        LabelSource.RESIDENT_CHOICE,
    )
    assert (label.actor_kind, label.actor_id, label.resident_id, label.order_id) == (
        "resident",
        resident.id,
        resident.id,
        order.id,
    )
    assert (label.classifier_category, label.created_at) == (Category.UNKNOWN, clock.now())
    assert order.category is Category.SANITATION


async def test_a_sure_classification_stores_no_label(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(RESIDENT_ZHANG, LAMP)
    assert uow_factory.store.orders
    assert await labels(uow_factory) == []


async def test_the_grid_member_corrects_the_category_from_the_card(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(RESIDENT_ZHANG, LAMP)
    card = driver.last(MEMBER_LI)
    await driver.press(MEMBER_LI, card.button(label_texts.BTN_RECATEGORISE).data, on=card)
    menu = driver.last(MEMBER_LI)
    offered = [b.text for row in menu.reply.buttons for b in row]
    assert SHIPPED.label(Category.REPAIR) not in offered
    assert SHIPPED.label(Category.UNKNOWN) not in offered
    assert len(offered) == len(SHIPPED.choosable) - 1  # every choosable category but the current one
    resident_heard = len(driver.inbox(RESIDENT_ZHANG))

    outcome = await driver.press_button(MEMBER_LI, SHIPPED.label(Category.SAFETY_HAZARD))

    (order,) = uow_factory.store.orders.values()
    assert (order.category, order.priority) == (Category.SAFETY_HAZARD, Priority.HIGH)
    (event,) = [e for e in uow_factory.store.events[order.id or 0] if e.kind is EventKind.RECATEGORISED]
    assert event.note == "repair->safety_hazard"
    (label,) = await labels(uow_factory)
    li = next(p for p in uow_factory.store.people.values() if p.chat_id == MEMBER_LI)
    assert (label.text, label.category, label.source) == (
        LAMP,
        Category.SAFETY_HAZARD,
        LabelSource.MEMBER_CORRECTION,
    )
    assert (label.actor_kind, label.actor_id, label.order_id) == ("person", li.id, order.id)
    assert label.classifier_category is Category.REPAIR
    assert label.classifier_confidence == 0.9
    assert outcome.callback_answer == label_texts.recategorised(
        order.number, SHIPPED.label(Category.SAFETY_HAZARD)
    )
    assert len(driver.inbox(RESIDENT_ZHANG)) == resident_heard  # the resident is told nothing


async def test_a_category_routed_to_others_says_so_and_leaves_the_order_where_it_is(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await member_corrects(driver, Category.FRAUD)
    (order,) = uow_factory.store.orders.values()
    li = next(p for p in uow_factory.store.people.values() if p.chat_id == MEMBER_LI)
    assert (order.category, order.assignee_id) == (Category.FRAUD, li.id)
    assert driver.last(MEMBER_LI).text.endswith(label_texts.handled_by_others("反诈", "社区民警"))
    assert driver.inbox(POLICE_WU) == []


async def test_every_press_is_authorised_again(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(RESIDENT_ZHANG, LAMP)
    (order,) = uow_factory.store.orders.values()
    assert order.id is not None
    for chat in (MEMBER_QIAN, RESIDENT_ZHANG):  # another grid's member, the resident herself
        for data in (
            verbs.encode(Verb.RECATEGORISE_MENU, order.id),
            verbs.encode(Verb.RECATEGORISE_TO, order.id, "fraud"),
        ):
            outcome = await driver.press(chat, data)
            assert outcome.callback_answer is not None
    assert order.category is Category.REPAIR
    assert uow_factory.store.orders[order.id].category is Category.REPAIR
    assert await labels(uow_factory) == []
    # Tampered data (a category no button offers) is a stale button, never an exception.
    assert verbs.decode(f"kt:{order.id}:unknown") is None


async def test_the_same_category_stores_nothing(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(RESIDENT_ZHANG, LAMP)
    (order,) = uow_factory.store.orders.values()
    assert order.id is not None
    outcome = await driver.press(MEMBER_LI, verbs.encode(Verb.RECATEGORISE_TO, order.id, "repair"))
    assert outcome.callback_answer == label_texts.SAME_CATEGORY
    assert await labels(uow_factory) == []


async def _staff_changes(
    uow_factory: FakeUnitOfWorkFactory, clock: FakeClock, order_id: int, category: Category
) -> Person:
    """Staff change the order's category on the desk (the desk's use case, as web/ calls it)."""
    staff = next(p for p in uow_factory.store.people.values() if p.chat_id == STAFF_LIU)
    async with uow_factory() as uow:
        ctx = Context(
            uow=uow,
            clock=clock,
            classifier=KeywordClassifier({}),
            incoming=Incoming(chat_id=STAFF_LIU, sender_id=STAFF_LIU, text=""),
            person=staff,
            resident=None,
        )
        await change_category(ctx, order_id, category)
        await uow.commit()
    return staff


async def test_staff_correcting_on_the_desk_store_a_staff_label(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    await driver.text(RESIDENT_ZHANG, LAMP)
    (order,) = uow_factory.store.orders.values()
    assert order.id is not None
    staff = await _staff_changes(uow_factory, clock, order.id, Category.SANITATION)
    (label,) = await labels(uow_factory)
    assert (label.category, label.source, label.actor_id) == (
        Category.SANITATION,
        LabelSource.STAFF_CORRECTION,
        staff.id,
    )
    assert uow_factory.store.orders[order.id].category is Category.SANITATION


async def test_a_later_correction_is_a_second_label(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await resident_chooses(driver, choice=Category.REPAIR)
    (order,) = uow_factory.store.orders.values()
    assert order.id is not None
    await driver.press(MEMBER_LI, verbs.encode(Verb.RECATEGORISE_TO, order.id, "sanitation"))
    found = await labels(uow_factory)
    assert [(lb.source, lb.category) for lb in found] == [
        (LabelSource.RESIDENT_CHOICE, Category.REPAIR),
        (LabelSource.MEMBER_CORRECTION, Category.SANITATION),
    ]


async def test_deleting_her_data_deletes_her_labels(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await resident_chooses(driver)
    await member_corrects(driver, Category.SAFETY_HAZARD)
    assert len(await labels(uow_factory)) == 2
    await driver.text(RESIDENT_ZHANG, "/deletedata")
    await driver.press_button(RESIDENT_ZHANG, "确认删除")
    assert await labels(uow_factory) == []


async def test_a_redacted_order_teaches_nothing(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory, clock: FakeClock
) -> None:
    await driver.text(RESIDENT_ZHANG, LAMP)
    (order,) = uow_factory.store.orders.values()
    assert order.id is not None
    order.text = REDACTED  # what retention leaves of a closed order's words
    await _staff_changes(uow_factory, clock, order.id, Category.SANITATION)
    assert uow_factory.store.orders[order.id].category is Category.SANITATION
    assert await labels(uow_factory) == []


async def test_mydata_counts_her_labels(driver: ChatDriver) -> None:
    await resident_chooses(driver)
    await member_corrects(driver, Category.SAFETY_HAZARD)
    await driver.text(RESIDENT_ZHANG, "/mydata")
    assert "用来帮助机器人学习分类的您的留言：2 条" in driver.last(RESIDENT_ZHANG).text


async def test_a_choice_that_joins_a_similar_order_is_labelled_as_the_joiners_words(
    driver: ChatDriver, uow_factory: FakeUnitOfWorkFactory
) -> None:
    await driver.text(RESIDENT_ZHANG, "兴泰5号楼楼道灯坏了")
    await driver.text(RESIDENT_CHEN, "兴泰5号楼那个啵啵机咕噜咕噜")  # unknown: he is asked, picks 维修报修
    await driver.press_button(RESIDENT_CHEN, SHIPPED.label(Category.REPAIR))
    await driver.press_button(RESIDENT_CHEN, order_texts.BTN_JOIN)  # "me too" on her order
    (order,) = uow_factory.store.orders.values()
    chen = next(r for r in uow_factory.store.residents.values() if r.chat_id == RESIDENT_CHEN)
    (label,) = await labels(uow_factory)
    assert (label.text, label.category, label.source) == (
        "兴泰5号楼那个啵啵机咕噜咕噜",
        Category.REPAIR,
        LabelSource.RESIDENT_CHOICE,
    )
    assert (label.order_id, label.resident_id, label.actor_id) == (order.id, chen.id, chen.id)
    await driver.text(RESIDENT_CHEN, "/deletedata")
    await driver.press_button(RESIDENT_CHEN, "确认删除")
    assert await labels(uow_factory) == []
