"""The offline guard: any connection from the test process to an address outside this machine fails the test.

Tests talk to the Bot API emulator, PostgreSQL and Redis on loopback only. A test that would reach the real
Telegram API (a forgotten `telegram_api_url`, a default URL) must fail loudly rather than hang or, worse, send.
Like PTB's `OfflineRequest`, the guard calls `pytest.fail`, which no `except Exception` in the code under test
can swallow. It checks addresses before any packet is sent and resolves no names of its own.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

import pytest

# What the guard refused, for the after-test check: frameworks run their network calls in background tasks and
# may swallow even pytest's failure there (aiogram's polling loop logs and backs off), so a refusal is also kept.
violations: list[str] = []

_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", ""})


def is_local(host: object) -> bool:
    """Loopback (127.0.0.0/8, ::1) or a local name; anything else is the outside world."""
    if not isinstance(host, str):
        return False
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def check(address: Any) -> None:
    """Fail the running test when `address` (a socket address) is not on this machine."""
    if isinstance(address, tuple) and address and not is_local(address[0]):
        violations.append(f"connect {address[0]!r}")
        pytest.fail(f"offline guard: a test tried to connect to {address[0]!r} (only loopback is allowed)")


def _guarded(connect: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            check(address)
        return connect(self, address)

    return guarded


def _guarded_getaddrinfo(getaddrinfo: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, bytes):
            host = host.decode("idna")
        if host is not None and not is_local(host):
            violations.append(f"resolve {host!r}")
            pytest.fail(f"offline guard: a test tried to resolve {host!r} (only loopback is allowed)")
        return getaddrinfo(host, *args, **kwargs)

    return guarded


def install() -> None:
    """Guard every socket connect and name lookup made by this process (idempotent)."""
    if getattr(socket.socket.connect, "_offline_guard", False):
        return
    for name in ("connect", "connect_ex"):
        guarded = _guarded(getattr(socket.socket, name))
        guarded._offline_guard = True  # type: ignore[attr-defined]
        setattr(socket.socket, name, guarded)
    lookup = _guarded_getaddrinfo(socket.getaddrinfo)
    lookup._offline_guard = True  # type: ignore[attr-defined]
    socket.getaddrinfo = lookup
