"""The offline guard refuses the outside world and lets loopback through.

These tests never send a packet off this machine, even with the guard removed: the "outside" address they use is
0.0.0.0 (not loopback, so the guard refuses it, but on Linux a connect to it stays on this host and is refused),
and the name lookup is checked against a stand-in resolver.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from tests import offline

NOT_LOOPBACK = "0.0.0.0"  # noqa: S104 - never sent anywhere: see the module docstring


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_connection_outside_loopback_fails_the_test() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(pytest.fail.Exception):
        sock.connect((NOT_LOOPBACK, _free_port()))
    assert offline.violations == [f"connect {NOT_LOOPBACK!r}"]
    offline.violations.clear()  # expected: don't fail the after-test check


async def test_an_asyncio_connection_outside_loopback_fails_the_test() -> None:
    with pytest.raises(pytest.fail.Exception):
        await asyncio.open_connection(NOT_LOOPBACK, _free_port())
    offline.violations.clear()


def test_name_lookups_are_guarded_for_the_whole_process() -> None:
    assert getattr(socket.getaddrinfo, "_offline_guard", False)
    resolved: list[str] = []

    def resolver(host: str, *args: Any, **kwargs: Any) -> list[Any]:
        resolved.append(host)
        return []

    lookup = offline._guarded_getaddrinfo(resolver)
    with pytest.raises(pytest.fail.Exception):
        lookup("api.telegram.org", 443)
    lookup("localhost", 443)
    assert resolved == ["localhost"]
    offline.violations.clear()


def test_the_guard_is_not_an_ordinary_exception() -> None:
    # Code under test often catches Exception around network calls; the guard must get through that.
    try:
        offline.check(("203.0.113.7", 443))
    except Exception:
        pytest.fail("the guard raised an ordinary exception")
    except BaseException:
        pass
    else:
        pytest.fail("the guard let an outside address through")
    offline.violations.clear()


async def test_loopback_is_allowed() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        _, writer = await asyncio.open_connection("localhost", port)
        writer.close()
    assert offline.is_local("127.0.0.1")
    assert offline.is_local("::1")
    assert offline.is_local("127.5.6.7")
    assert not offline.is_local("10.0.0.1")
