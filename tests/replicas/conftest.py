"""Replica tests: several `gridbot run --webhook` processes on one PostgreSQL database and one Redis."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ptb_timedelta

__all__ = ["ptb_timedelta"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "replicas: starts several bot processes (PostgreSQL and Redis)")
