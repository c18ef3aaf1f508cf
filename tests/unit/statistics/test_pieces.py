"""The small pure parts: histogram percentiles, formula escaping, weights, months, claims vs hand-overs."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest

from handlers.statistics.assessment import Weights, score
from handlers.statistics.cells import escape_formula, looks_like_formula
from handlers.statistics.facts import contributions
from handlers.statistics.histogram import bucket, merge, percentile
from handlers.statistics.metrics import Counters
from handlers.statistics.periods import month_bounds
from handlers.statistics.ports import EventRecord, OrderRecord
from handlers.statistics.sheets import Pct, Sheet
from handlers.statistics.writers import write_workbook
from tests.unit.statistics.scenario import ZONE, at


def test_buckets_are_exact_below_1000_minutes_and_three_digits_above() -> None:
    assert [bucket(m) for m in (0, 59, 999, 1000, 1009, 2880, 11130, 123456)] == [
        0,
        59,
        999,
        1000,
        1000,
        2880,
        11100,
        123000,
    ]


def test_nearest_rank_percentiles() -> None:
    values = merge([{10: 1, 20: 1}, {30: 1, 40: 1}])
    assert percentile(values, 0.5) == 20  # the lower middle of an even count
    assert percentile(values, 0.9) == 40
    assert percentile({5: 9, 500: 1}, 0.9) == 5  # nine of ten at or below 5
    assert percentile({}, 0.5) is None


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("=1+2", "'=1+2"),
        ("+86 1", "'+86 1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=cmd", "'\t=cmd"),
        ("  =1", "'  =1"),
        ("路灯不亮", "路灯不亮"),
        ("楼道=堆物", "楼道=堆物"),
    ],
)
def test_formula_looking_text_is_escaped(text: str, escaped: str) -> None:
    assert escape_formula(text) == escaped
    assert looks_like_formula(text) == (escaped != text)


def test_a_formula_looking_cell_is_text_with_a_quote_prefix_in_xlsx() -> None:
    stream = io.BytesIO()
    sheet = Sheet("s", ["a", "b", "c"], [["=SUM(1,2)", Pct(0.5), at(10, 1, 9, 30)], ["plain", 3, None]])
    write_workbook([sheet], stream, ZONE)
    book = openpyxl.load_workbook(io.BytesIO(stream.getvalue()))
    cell = book["s"]["A2"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == ("=SUM(1,2)", "s", True)
    assert book["s"]["A3"].quotePrefix is False
    assert book["s"]["B2"].value == 0.5
    assert book["s"]["C2"].value.strftime("%Y-%m-%d %H:%M") == "2026-10-01 09:30"  # local time
    assert book["s"]["B3"].value == 3


def test_weights_parse_and_score() -> None:
    assert Weights.parse("30,35,35") == Weights()
    assert Weights.parse("1/1/2") == Weights(1, 1, 2)
    for bad in ("30,35", "a,b,c", "0,0,0", "-1,1,1"):
        with pytest.raises(ValueError, match="weights"):
            Weights.parse(bad)
    perfect = Counters(accept_judged=1, accept_on_time=1, resolve_judged=2, resolve_on_time=1)
    assert score(perfect, Weights(30, 35, 35)) == pytest.approx((30 * 100 + 35 * 50) / 65)
    assert score(Counters(), Weights()) is None


def test_month_bounds() -> None:
    assert month_bounds("2026-12") == (date(2026, 12, 1), date(2026, 12, 31))
    assert month_bounds("2028-02") == (date(2028, 2, 1), date(2028, 2, 29))
    for bad in ("2026-1", "202610", "2026-13", "abcd-ef"):
        with pytest.raises(ValueError, match="not a month"):
            month_bounds(bad)


def _order(*events: EventRecord) -> OrderRecord:
    return OrderRecord(1, at(10, 12, 9), "repair", 1, 1, 7, None, None, events)


def test_a_claim_from_the_group_chat_is_not_a_hand_over_but_a_transfer_is() -> None:
    claimed = _order(
        EventRecord(at(10, 12, 9), "assigned", "system", None, "person:7"),
        EventRecord(at(10, 12, 10), "transferred", "person", 8, "person:8"),
        EventRecord(at(10, 12, 10), "accepted", "person", 8),
        EventRecord(at(10, 12, 11), "resolved", "person", 8),
        EventRecord(at(10, 12, 12), "rated", "resident", 1, "satisfied"),
        EventRecord(at(10, 12, 12), "closed", "resident", 1),
    )
    slots, _ = contributions(claimed, ZONE)
    day = date(2026, 10, 12)
    assert slots[(day, 8)].first_time == 1
    assert slots[(day, 8)].accepted == 1
    assert slots[(day, 7)].new == 1  # the first assignee received it
    assert sum(c.transferred for c in slots.values()) == 0
    handed = _order(
        EventRecord(at(10, 12, 9), "assigned", "system", None, "person:7"),
        EventRecord(at(10, 12, 10), "transferred", "person", 7, "person:8"),  # 7 hands it to 8
        EventRecord(at(10, 12, 10), "accepted", "person", 8),
        EventRecord(at(10, 12, 11), "resolved", "person", 8),
        EventRecord(at(10, 12, 12), "rated", "resident", 1, "satisfied"),
        EventRecord(at(10, 12, 12), "closed", "resident", 1),
    )
    slots, _ = contributions(handed, ZONE)
    assert slots[(day, 8)].first_time == 0
    assert slots[(day, 7)].transferred == 1


def test_no_history_of_assignments_credits_the_current_assignee() -> None:
    # Imported history may carry no "person:N" notes: the order's assignee is credited.
    order = _order(
        EventRecord(at(10, 12, 9), "assigned"),
        EventRecord(at(10, 12, 9, 40), "accepted"),
        EventRecord(at(10, 13, 9), "resolved"),
    )
    slots, _ = contributions(order, ZONE)
    assert slots[(date(2026, 10, 12), 7)].accept_minutes == {40: 1}
    assert slots[(date(2026, 10, 13), 7)].resolve_minutes == {1440: 1}
    assert sum(c.new for c in slots.values()) == 1
    assert all(person == 7 for _, person in slots)


def test_unrated_is_not_rated_and_a_phone_follow_up_counts_as_a_rating_by_phone() -> None:
    """未评价 (closed without a rating) is counted apart and never in 满意率; staff's 回访 answer (a rating by a
    person) is a rating, on the resolution's day, and moves the order out of 未评价."""
    resolved = (
        EventRecord(at(10, 12, 9), "assigned", "system", None, "person:7"),
        EventRecord(at(10, 12, 10), "accepted", "person", 7),
        EventRecord(at(10, 12, 11), "resolved", "person", 7),
        EventRecord(at(10, 13, 11), "rating_reminded", "system"),
        EventRecord(at(10, 19, 11), "closed", "system", None, "unrated"),
    )
    slots, _ = contributions(_order(*resolved), ZONE)
    day = slots[(date(2026, 10, 12), 7)]
    assert (day.resolved, day.rated, day.unrated, day.phone_rated) == (1, 0, 1, 0)
    assert day.satisfaction_rate is None
    assert day.rating_rate == 0
    assert slots[(date(2026, 10, 19), 7)].closed == 1
    phoned = (*resolved, EventRecord(at(10, 21, 15), "rated", "person", 3, "unsatisfied"))
    slots, _ = contributions(_order(*phoned), ZONE)
    day = slots[(date(2026, 10, 12), 7)]
    assert (day.rated, day.unsatisfied, day.unrated, day.phone_rated) == (1, 1, 0, 1)
    assert day.satisfaction_rate == 0
    by_resident = (*resolved[:3], EventRecord(at(10, 12, 12), "rated", "resident", 1, "satisfied"))
    slots, _ = contributions(_order(*by_resident, EventRecord(at(10, 12, 12), "closed", "resident", 1)), ZONE)
    day = slots[(date(2026, 10, 12), 7)]
    assert (day.rated, day.satisfied, day.unrated, day.phone_rated) == (1, 1, 0, 0)
