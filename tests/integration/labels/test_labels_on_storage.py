"""The learning loop on SQLite and PostgreSQL: a resident's choice and a grid member's 改类别 store their
labelled examples with what the classifier (and its learned model) said; the CLI's reading of them."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from sqlalchemy import update

from handlers.community import texts as own_texts
from handlers.labels.export import examples, write_csv
from handlers.labels.model import LabelSource
from nlp import load_classifier
from nlp.classifier import DEFAULT_MODEL
from nlp.learned.model import NEVER
from nlp.types import Category
from storage.models import WorkOrderRow
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import RESIDENT_CHEN, RESIDENT_ZHANG, ChatDriver
from tests.fakes import FakeClock
from tests.integration.conftest import RecordingMessenger, build_driver
from tests.unit.labels.scenarios import LAMP, UNKNOWABLE, labels, member_corrects, resident_chooses


@pytest.fixture
async def with_model(
    uow_factory: SqlUnitOfWorkFactory, clock: FakeClock, messenger: RecordingMessenger
) -> ChatDriver:
    """The chat with the classifier the bot runs: the rules and the shipped learned model."""
    async with uow_factory() as uow:
        compounds = {c.name: list(c.aliases) for c in await uow.community.compounds()}
    classifier = load_classifier(None, compounds, model=DEFAULT_MODEL)
    # The shipped policy lets the model decide wherever it knows a word, so a resident is rarely asked; the
    # rules-first policy (the model decides only when it is sure) gives a choice with a model vote to store.
    opinion = classifier.second_opinion
    assert opinion is not None
    opinion.model.policy = replace(
        opinion.model.policy, rules_unsure_below=0.0, decide_at=0.9, override_at=NEVER
    )
    return build_driver(uow_factory, clock, messenger, classifier)


async def test_choices_and_corrections_are_stored_with_what_the_classifier_said(
    with_model: ChatDriver, uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    await resident_chooses(with_model, choice=Category.REPAIR)
    member_chat = await member_corrects(with_model, Category.SAFETY_HAZARD)

    chosen, corrected = await labels(uow_factory)
    async with uow_factory() as uow:
        first, second = await uow.orders.open_orders()
        member = await uow.community.person_by_chat(member_chat)
    assert member is not None
    assert (chosen.text, chosen.category, chosen.source) == (
        UNKNOWABLE,
        Category.REPAIR,
        LabelSource.RESIDENT_CHOICE,
    )
    assert (chosen.actor_kind, chosen.actor_id, chosen.order_id) == ("resident", first.resident_id, first.id)
    assert (chosen.classifier_category, chosen.classifier_confidence) == (Category.UNKNOWN, 0.0)
    # The shipped model was asked (the rules said unknown) but was not sure enough to decide.
    assert chosen.model_category == "repair"
    assert 0.5 < chosen.model_probability < 0.8
    assert chosen.created_at == clock.now()
    assert (corrected.text, corrected.category, corrected.source) == (
        LAMP,
        Category.SAFETY_HAZARD,
        LabelSource.MEMBER_CORRECTION,
    )
    assert (corrected.actor_kind, corrected.actor_id, corrected.order_id) == ("person", member.id, second.id)
    assert corrected.resident_id == second.resident_id
    assert corrected.classifier_category is Category.REPAIR
    assert corrected.classifier_confidence == 1.0
    assert (corrected.model_category, corrected.model_probability) == ("", 0.0)  # the rules were sure
    assert second.category is Category.SAFETY_HAZARD

    stream = io.StringIO()
    assert write_csv([chosen, corrected], stream) == 2
    assert examples([chosen, corrected]) == [(UNKNOWABLE, "repair"), (LAMP, "safety_hazard")]


async def test_labels_are_read_a_page_at_a_time_in_id_order(
    driver: ChatDriver, uow_factory: SqlUnitOfWorkFactory
) -> None:
    for text in (UNKNOWABLE, "啵啵机今天又咕噜咕噜", "那个啵啵机还在咕噜"):
        await resident_chooses(driver, text, Category.OTHER)
    async with uow_factory() as uow:
        everything = await uow.labels.page()
        first = await uow.labels.page(0, 2)
        rest = await uow.labels.page(first[-1].id or 0, 2)
    assert [lb.id for lb in first + rest] == [lb.id for lb in everything]
    assert [lb.text for lb in everything] == [UNKNOWABLE, "啵啵机今天又咕噜咕噜", "那个啵啵机还在咕噜"]


async def test_erasure_deletes_her_labels_even_from_orders_no_longer_hers(
    driver: ChatDriver, uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    """An order she left to a "me too" follower is the follower's now; its label from before still quotes her."""
    await resident_chooses(driver, choice=Category.OTHER)  # her own order's label
    await resident_chooses(driver, "啵啵机咕噜了一晚上", Category.OTHER)
    async with uow_factory() as uow:
        zhang = await uow.residents.by_chat(RESIDENT_ZHANG)
        chen = await uow.residents.by_chat(RESIDENT_CHEN)
        assert zhang is not None
        assert chen is not None
        _, second = await uow.orders.open_orders()
        handed_over = update(WorkOrderRow).where(WorkOrderRow.id == second.id).values(resident_id=chen.id)
        await uow.session.execute(handed_over)
        await uow.commit()
    await driver.text(RESIDENT_ZHANG, "/mydata")
    assert "用来帮助机器人学习分类的您的留言：2 条" in driver.last(RESIDENT_ZHANG).text  # both quote her
    await driver.text(RESIDENT_ZHANG, "/deletedata")
    await driver.press_button(RESIDENT_ZHANG, own_texts.BTN_DELETE)
    assert await labels(uow_factory) == []
