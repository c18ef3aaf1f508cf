"""/deletedata deletes: after it, no text anywhere in the database (every table, JSON included) holds the
resident's name, phone or words; their orders remain as anonymous statistics. And the retention tick
deletes old sent messages and redacts closed orders' texts. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from bot.schedule.retention import retention_tick
from bot.settings import ResidentsSettings
from handlers.community import texts as own_texts
from handlers.labels import texts as label_texts
from handlers.workorders import texts as order_texts
from nlp.categories import SHIPPED
from nlp.types import Category
from storage.migrate import downgrade, upgrade
from storage.models import (
    CheckinRow,
    ClassificationLabelRow,
    LedgerEntryRow,
    OutboxRow,
    ResidentRow,
    TelegramUpdateRow,
    WorkOrderRow,
)
from storage.repositories.retention import SqlRetention, to_redact
from storage.repositories.telegram import JournaledUpdate, SqlUpdateJournal
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import MEMBER_LI, RESIDENT_CHEN, RESIDENT_ZHANG, STAFF_LIU, ChatDriver
from tests.fakes import FakeClock
from tests.integration.conftest import Database
from tests.integration.reliability.tables import every_text
from tests.unit.labels.scenarios import member_corrects

NAME = "欧阳娜娜"  # nobody else in the example community is called this
PHONE = "13912345678"
PHRASE = "紫色长颈鹿"  # words only she wrote
REPLY = "蓝色小火车"  # and her reply to the grid member


async def _as_unique_resident(uow_factory: SqlUnitOfWorkFactory) -> int:
    async with uow_factory() as uow:
        resident = await uow.residents.by_chat(RESIDENT_ZHANG)
        assert resident is not None
        assert resident.id is not None
        resident.name, resident.phone, resident.phone_consent = NAME, PHONE, True
        await uow.residents.save(resident)
        await uow.commit()
        return resident.id


async def _everything(driver: ChatDriver, uow_factory: SqlUnitOfWorkFactory, clock: FakeClock) -> int:
    """She reports (words and phone), joins a neighbour's order ("me too"), replies to her grid member, is in
    the ledger, has check-ins (and an alert about her), a topic switched off, updates in the journal."""
    rid = await _as_unique_resident(uow_factory)
    await driver.text(RESIDENT_CHEN, "兴泰5号楼楼道灯坏了")
    await driver.text(RESIDENT_ZHANG, f"兴泰5号楼的灯也坏了，{PHRASE}")
    await driver.press_button(RESIDENT_ZHANG, order_texts.BTN_JOIN)
    await driver.text(RESIDENT_ZHANG, f"兴泰5号楼门口垃圾堆了三天了，{PHRASE}，电话{PHONE}")
    card = next(s for s in reversed(driver.sent) if PHRASE in s.text and s.chat_id != RESIDENT_ZHANG)
    await driver.press(card.chat_id, card.button(order_texts.BTN_ACCEPT).data, on=card)
    # Her grid member corrects the category from the card: her words become a labelled example.
    await driver.press(card.chat_id, card.button(label_texts.BTN_RECATEGORISE).data, on=card)
    await driver.press_button(card.chat_id, SHIPPED.label(Category.SAFETY_HAZARD))
    await driver.text(card.chat_id, "我下午过去看看", reply_to=card.message_id)
    relayed = driver.last(RESIDENT_ZHANG)
    await driver.text(RESIDENT_ZHANG, f"好的，{REPLY}", reply_to=relayed.message_id)
    await driver.text(STAFF_LIU, f"/ledger_add {rid} 独居老人 paper")
    await driver.text(RESIDENT_ZHANG, "/checkin")
    await driver.core.run_checkins()  # asked at 9:00
    clock.advance(hours=4)
    await driver.core.run_checkins()  # unanswered: her grid members are alerted, with her name
    await driver.deliver_now()
    await driver.text(RESIDENT_ZHANG, "/subscriptions")
    await driver.press(RESIDENT_ZHANG, "sb:activity")
    journal = SqlUpdateJournal(uow_factory.session_factory, clock)
    sender = {"id": RESIDENT_ZHANG, "first_name": NAME}
    message = {"message_id": 5, "from": sender, "chat": {**sender, "type": "private"}, "text": PHRASE}
    await journal.record([JournaledUpdate(777, {"update_id": 777, "message": message})])
    return rid


def _hers(found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(table, text) for table, text in found if any(w in text for w in (NAME, PHONE, PHRASE, REPLY))]


async def test_after_deletion_nothing_of_hers_is_anywhere(
    database: Database, driver: ChatDriver, uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    rid = await _everything(driver, uow_factory, clock)
    before = _hers(await every_text(database.engine))
    tables = {table for table, _ in before}
    # The scenario put her data in every kind of place it can be (so the check below means something).
    assert {"residents", "work_orders", "order_events", "outbox", "telegram_updates"} <= tables, tables
    assert "classification_labels" in tables, tables

    await driver.text(RESIDENT_ZHANG, "/deletedata")
    await driver.press_button(RESIDENT_ZHANG, own_texts.BTN_DELETE)

    left = _hers(await every_text(database.engine))
    assert left == []
    said = driver.last(RESIDENT_ZHANG).text
    assert said.startswith("已删除您的个人信息")
    assert "匿名保留" not in said
    async with uow_factory() as uow:
        session = uow.session
        assert await session.get(LedgerEntryRow, rid) is None
        assert await session.scalar(select(func.count()).where(CheckinRow.resident_id == rid)) == 0
        assert await session.scalar(select(func.count()).where(TelegramUpdateRow.update_id == 777)) == 0
        record = await session.get(ResidentRow, rid)
        assert record is not None
        assert record.chat_id < 0
        assert (record.phone, record.building_id, record.consented_at) == (None, None, None)
        orders = (await session.scalars(select(WorkOrderRow).where(WorkOrderRow.resident_id == rid))).all()
        # The statistics keep category (as corrected), place, time.
        assert [o.category for o in orders] == ["safety_hazard"]
        assert await session.scalar(select(func.count()).select_from(ClassificationLabelRow)) == 0
        assert (orders[0].building_number, orders[0].room, orders[0].state) == ("5", None, "cancelled")
        assert orders[0].redacted_at == clock.now()  # retention will not take it again
        followed = (await session.scalars(select(WorkOrderRow).where(WorkOrderRow.resident_id != rid))).all()
        assert all(rid not in o.followers for o in followed)
    # Staff's ledger and the next day's check-ins no longer know her.
    await driver.text(STAFF_LIU, "/ledger")
    assert NAME not in driver.last(STAFF_LIU).text
    clock.advance(days=1)
    driver.clear()
    await driver.core.run_checkins()
    await driver.deliver_now()
    assert driver.sent == []


async def _resolved(driver: ChatDriver, note: str) -> None:
    """Her report, accepted and resolved by the grid member with `note`: waiting for her rating."""
    await driver.text(RESIDENT_ZHANG, f"兴泰5号楼楼道灯坏了，{PHRASE}")
    await driver.press_button(MEMBER_LI, order_texts.BTN_ACCEPT)
    await driver.press_button(MEMBER_LI, order_texts.BTN_RESOLVE)
    await driver.text(MEMBER_LI, note)


async def test_retention_deletes_old_sent_messages_and_redacts_closed_orders(
    database: Database, driver: ChatDriver, uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    await _resolved(driver, f"换好了灯泡，{REPLY}")
    await driver.press_button(MEMBER_LI, label_texts.BTN_RECATEGORISE)  # a labelled example of each
    await driver.press_button(MEMBER_LI, SHIPPED.label(Category.SAFETY_HAZARD))
    await driver.press_button(RESIDENT_ZHANG, "满意")  # closed
    # Still open, and corrected too.
    await member_corrects(driver, Category.ORDER_DISPUTE, f"森源华府6号楼垃圾没人收，{PHRASE}", RESIDENT_CHEN)
    settings = ResidentsSettings(keep_sent_messages_days=30, keep_closed_order_texts_days=365)
    tick = retention_tick(uow_factory.session_factory, clock, settings)

    assert await tick.job() == 0  # nothing is old enough yet
    clock.advance(days=31)
    await driver.text(RESIDENT_CHEN, "/my")  # a recent message, kept
    pruned = await tick.job()
    async with uow_factory() as uow:
        kept = (await uow.session.scalars(select(OutboxRow))).all()
    assert pruned > 0
    assert [row.chat_id for row in kept] == [RESIDENT_CHEN]

    clock.advance(days=365)
    assert await tick.job() == 2  # the closed order (the open one keeps its text) and the /my answer
    async with uow_factory() as uow:
        closed = (await uow.session.scalars(select(WorkOrderRow).where(WorkOrderRow.state == "closed"))).one()
        open_ = (await uow.session.scalars(select(WorkOrderRow).where(WorkOrderRow.state != "closed"))).one()
        history = [e.note for e in await uow.orders.history(closed.id)]
    assert (closed.text, closed.resolution_note, closed.category) == (own_texts.REDACTED, "", "safety_hazard")
    assert (closed.redacted_at, open_.redacted_at) == (clock.now(), None)
    assert not any(REPLY in note for note in history)
    assert "satisfied" in history  # ratings are statistics, not words
    assert PHRASE in open_.text
    async with uow_factory() as uow:
        (label,) = await uow.labels.page()  # the closed order's example went with its text
    assert (label.order_id, label.category) == (open_.id, "order_dispute")
    assert await tick.job() == 0  # done once


async def test_pruning_sent_messages_stops_at_the_first_one_written_after_the_cutoff(
    database: Database, uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    """Ids follow the time messages are written, so the hourly search stops at the first young one instead
    of reading every retained message (65 ms at 300,000 on SQLite, the loop held). One written out of that
    order (a replica's clock behind) waits for a later tick; none goes before its time."""
    now = clock.now()
    ages = [("sent", 40), ("failed", 40), ("pending", 40), ("sent", 1), ("sent", 40), ("sent", 0)]
    async with uow_factory() as uow:
        uow.session.add_all(
            OutboxRow(chat_id=i, payload={}, status=status, created_at=now - timedelta(days=days))
            for i, (status, days) in enumerate(ages)
        )
        await uow.commit()
    retention = SqlRetention(uow_factory.session_factory)

    async def left() -> list[int]:
        async with uow_factory() as uow:
            return sorted((await uow.session.scalars(select(OutboxRow.chat_id))).all())

    assert await retention.prune_sent(now - timedelta(days=30)) == 2
    assert await left() == [2, 3, 4, 5]  # the pending one stays; the one behind the young one waits
    assert await retention.prune_sent(now - timedelta(hours=1)) == 2
    assert await left() == [2, 5]


async def test_retention_reads_the_orders_to_redact_from_their_index(
    database: Database, uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    """Without ix_work_orders_to_redact (or with a query it cannot answer) every hourly tick read and sorted
    every closed order, redacted ones included: 140-190 ms at 100,000 orders with the bot's loop held."""
    query = to_redact(clock.now(), 500)
    async with uow_factory() as uow:
        compiled = query.compile(uow.session.get_bind(), compile_kwargs={"literal_binds": True})
        if database.kind == "postgresql":
            await uow.session.execute(text("SET LOCAL enable_seqscan = off"))  # a test's table is tiny
            plan = "\n".join(await uow.session.scalars(text(f"EXPLAIN {compiled}")))
        else:
            rows = await uow.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
            plan = "\n".join(str(row[-1]) for row in rows)
    assert "ix_work_orders_to_redact" in plan, plan
    assert "Sort" not in plan, plan  # PostgreSQL reads it in the index's order...
    assert "TEMP B-TREE" not in plan, plan  # ... and so does SQLite


async def test_migration_0021_marks_the_orders_redacted_before_it(
    database: Database, driver: ChatDriver, uow_factory: SqlUnitOfWorkFactory, clock: FakeClock
) -> None:
    await _resolved(driver, "换好了灯泡")
    await driver.press_button(RESIDENT_ZHANG, "满意")  # closed
    await driver.text(RESIDENT_CHEN, "森源华府6号楼垃圾没人收")  # closed later, its text still there
    settings = ResidentsSettings(keep_sent_messages_days=30, keep_closed_order_texts_days=365)
    tick = retention_tick(uow_factory.session_factory, clock, settings)
    clock.advance(days=366)
    assert await tick.job() > 0
    await downgrade(database.engine, "0020")  # as 0020 stored it: the placeholder was the only mark
    async with database.engine.begin() as connection:
        await connection.execute(text("UPDATE work_orders SET state = 'closed' WHERE state != 'closed'"))
    assert await upgrade(database.engine) == ["0021"]
    async with uow_factory() as uow:
        rows = await uow.session.execute(
            select(WorkOrderRow.text, WorkOrderRow.redacted_at, WorkOrderRow.updated_at)
        )
        marks = {row.text: row.redacted_at == row.updated_at for row in rows}
    assert marks == {own_texts.REDACTED: True, "森源华府6号楼垃圾没人收": False}
    assert await tick.job() == 1  # the order closed later; the one redacted before 0021 is not taken again
