"""Fixtures for the end-to-end tests: the emulator. (tests/offline.py keeps every test on loopback.)"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tools.emulator.server import Emulator


@pytest.fixture(autouse=True)
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB's future durations (``datetime.timedelta``), read at each use.

    PTB 22 otherwise emits PTBDeprecationWarning whenever it builds a RetryAfter (its __init__ reads
    ``retry_after``), which filterwarnings=error turns into a crash inside PTB's request code on any
    429. Opting in fixes the cause instead of hiding the warning.
    """
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    """A fresh emulator per test on an ephemeral loopback port."""
    async with Emulator() as emulator:
        yield emulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client, for calling the emulator with no framework in between (see raw_api.py)."""
    async with aiohttp.ClientSession() as session:
        yield session
