"""Fixtures and guards for every test folder."""

from __future__ import annotations

import pytest

from tests import offline


def pytest_configure(config: pytest.Config) -> None:
    # Before any test (and any fixture that starts a server or opens a pool) runs.
    offline.install()
