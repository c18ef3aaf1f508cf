"""`gridbot run`'s event loop: uvloop when installed (GRIDBOT_EVENT_LOOP=auto), asyncio's own on request,
and a one-line error when uvloop is insisted on but missing."""

from __future__ import annotations

import asyncio
import sys

import pytest

from bot.cli import run as run_cli
from bot.ops import loop
from bot.ops.loop import EventLoop, EventLoopUnavailable


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_auto_and_uvloop_serve_on_uvloop_asyncio_on_asyncios_own() -> None:
    assert loop.run(_loop_module(), EventLoop.AUTO).startswith("uvloop")
    assert loop.run(_loop_module(), EventLoop.UVLOOP).startswith("uvloop")
    assert loop.run(_loop_module(), EventLoop.ASYNCIO).startswith("asyncio")
    assert loop.loop_name(EventLoop.AUTO) == "uvloop"


def test_without_uvloop_auto_falls_back_and_uvloop_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # `import uvloop` raises ImportError
    assert loop.run(_loop_module(), EventLoop.AUTO).startswith("asyncio")
    with pytest.raises(EventLoopUnavailable, match="GRIDBOT_EVENT_LOOP=uvloop"):
        loop.loop_factory(EventLoop.UVLOOP)


def test_tools_read_the_same_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRIDBOT_EVENT_LOOP", raising=False)
    assert loop.from_environment() is EventLoop.AUTO
    monkeypatch.setenv("GRIDBOT_EVENT_LOOP", " AsyncIO ")
    assert loop.from_environment() is EventLoop.ASYNCIO
    monkeypatch.setenv("GRIDBOT_EVENT_LOOP", "trio")
    with pytest.raises(ValueError, match="trio"):
        loop.from_environment()


@pytest.mark.parametrize(("choice", "expected"), [("auto", "uvloop"), ("asyncio", "asyncio")])
def test_gridbot_run_serves_on_the_chosen_loop(
    monkeypatch: pytest.MonkeyPatch, choice: str, expected: str
) -> None:
    seen: list[str] = []

    async def serve(_settings: object, *, webhook: bool) -> None:
        seen.append(await _loop_module())

    monkeypatch.setenv("GRIDBOT_EVENT_LOOP", choice)
    monkeypatch.setattr(run_cli, "serve", serve)
    run_cli.run_command(webhook=False)
    assert len(seen) == 1
    assert seen[0].startswith(expected)
