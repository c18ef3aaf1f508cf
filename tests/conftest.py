"""Fixtures and guards for every test folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import offline


def pytest_configure(config: pytest.Config) -> None:
    # Before any test (and any fixture that starts a server or opens a pool) runs.
    offline.install()


@pytest.fixture(autouse=True)
def stays_offline() -> Iterator[None]:
    """Fail a test whose code reached for the outside world, even where a framework swallowed the refusal."""
    offline.violations.clear()
    yield
    refused, offline.violations[:] = list(offline.violations), []
    if refused:
        pytest.fail(f"offline guard: non-loopback network use: {refused}")
