"""The desk's search for a two-character word on PostgreSQL: the bigram index (migration 0020) for a word few
orders contain, the newest orders walked for a common one (SQLite has neither index and always scans)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from handlers.desk.queries import OrderFilter, Scope
from storage.models import WorkOrderRow
from storage.repositories import desk_orders
from storage.repositories.desk_orders import SqlDeskOrderQueries, _filtered
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClock
from tests.integration.desk.orders import add_orders

EVERYONE = Scope(person_id=0, everything=True)


async def test_a_rare_two_character_word_goes_through_the_bigram_index(database, uow_factory) -> None:  # type: ignore[no-untyped-def]
    """Trigrams cannot answer two characters: without the bigram index a word nobody wrote read every order."""
    if database.kind != "postgresql":
        pytest.skip("SQLite has neither index and scans")
    wanted = OrderFilter(search="燃气")
    query = _filtered(select(WorkOrderRow.id), EVERYONE, wanted, datetime.now(UTC), [], bigrams=True)
    async with uow_factory() as uow:
        await uow.session.execute(text("SET LOCAL enable_seqscan = off"))  # a test's table is tiny
        compiled = query.compile(uow.session.get_bind(), compile_kwargs={"literal_binds": True})
        plan = "\n".join(await uow.session.scalars(text(f"EXPLAIN {compiled}")))
    assert "ix_work_orders_text_bigrams" in plan, plan


async def test_only_a_word_few_orders_contain_is_searched_by_its_bigrams(
    database,
    uow_factory: SqlUnitOfWorkFactory,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    # A common word through the bigram index made the planner pick plans 20-70x slower than walking the
    # newest orders; the decision comes from the statistics of the index's expression.
    texts = [*(f"{n}号楼厨房漏水了" for n in range(40)), "楼道里有燃气味"]
    await add_orders(
        uow_factory, [(words, clock.now() - timedelta(minutes=n)) for n, words in enumerate(texts)]
    )
    async with uow_factory() as uow:
        if database.kind == "postgresql":
            await uow.session.execute(text("ANALYZE work_orders"))
        queries = SqlDeskOrderQueries(uow.session)
        monkeypatch.setattr(desk_orders, "COMMON_WORD_SHARE", 0.2)  # of 41 orders: more than 8 is common
        decided = {word: await queries._bigram_search(word) for word in ("漏水", "燃气", "电梯", "厨房漏水")}
        postgres = database.kind == "postgresql"
        assert decided == {"漏水": False, "燃气": postgres, "电梯": postgres, "厨房漏水": False}
        for word, found in (("漏水", 40), ("燃气", 1), ("电梯", 0)):
            page = await queries.page(EVERYONE, OrderFilter(search=word), clock.now(), limit=50)
            assert len(page.lines) == found, word
