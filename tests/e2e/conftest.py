"""Fixtures for the end-to-end tests: the emulator, and a guard against any non-loopback network use."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tools.emulator.server import Emulator

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True


def _is_loopback(host: Any) -> bool:
    if host is None or host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail the test if anything resolves or connects to a non-loopback address.

    Violations raise in the caller *and* are collected, because frameworks swallow errors in their
    polling loops (aiogram logs and backs off), so a raise alone could go unnoticed.
    """
    violations: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(address: Any) -> None:
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            violations.append(f"connect to {address!r}")
            raise ConnectionRefusedError(f"e2e tests must stay on loopback, not {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        check(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        # An IP literal resolves without DNS; connect() decides about it.
        if not _is_loopback(name) and not _is_ip_literal(str(name)):
            violations.append(f"resolve {host!r}")
            raise socket.gaierror(socket.EAI_NONAME, f"e2e tests must not resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield violations
    assert not violations, f"non-loopback network access: {violations}"


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
