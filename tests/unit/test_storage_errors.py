"""Database failures worth another attempt are told apart from bugs (the core replays only the former)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError

from storage.errors import transient


class _Orig(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("SELECT 1", {}, _Orig("57P01")),
        DBAPIError("SELECT 1", {}, _Orig("40001")),  # serialization failure
        DBAPIError("SELECT 1", {}, _Orig("40P01")),  # deadlock
        DBAPIError("SELECT 1", {}, _Orig("08006")),  # connection failure
        DBAPIError("SELECT 1", {}, _Orig("XX000"), connection_invalidated=True),
        ConnectionResetError(),
        TimeoutError(),
    ],
)
def test_passing_failures_are_retried(error: Exception) -> None:
    assert transient(error)


@pytest.mark.parametrize(
    "error",
    [
        IntegrityError("INSERT", {}, _Orig("23505")),
        ProgrammingError("SELEC", {}, _Orig("42601")),
        DBAPIError("INSERT", {}, _Orig("22001")),  # value too long: the same input fails again
        ValueError("bad input"),
    ],
)
def test_deterministic_failures_are_not(error: Exception) -> None:
    assert not transient(error)
