"""The partial indexes of migrations 0006 and 0021 name their states and event kinds as literals: keep them in
step."""

from __future__ import annotations

from handlers.workorders.model import EventKind, OrderState
from storage.models import OPEN_ORDER, OPEN_STATES, OVER_STATES, RATING_EVENT, RATING_EVENT_KINDS, TO_REDACT


def test_open_order_index_covers_exactly_the_open_states() -> None:
    assert set(OPEN_STATES) == {s.value for s in OrderState if s.is_open}
    assert all(f"'{s}'" in str(OPEN_ORDER) for s in OPEN_STATES)


def test_rating_event_index_names_real_event_kinds() -> None:
    assert set(RATING_EVENT_KINDS) == {EventKind.RATED.value, EventKind.REOPENED.value}
    assert all(f"'{k}'" in str(RATING_EVENT) for k in RATING_EVENT_KINDS)


def test_to_redact_index_covers_exactly_the_states_that_are_over() -> None:
    assert set(OVER_STATES) == {s.value for s in OrderState if not s.is_open}
    assert all(f"'{s}'" in str(TO_REDACT) for s in OVER_STATES)
