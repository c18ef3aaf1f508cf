"""The event loop a long-running process serves on: uvloop where it is installed, else asyncio's own.

uvloop (libuv underneath) runs the same asyncio code with a cheaper loop and socket layer: every report is
a webhook request in, a dozen database round trips and two or three Bot API requests out, each an await
that goes back to the loop. Measured (README, "Benchmarks"), alternated with asyncio's loop three times at
60 reports/s: a replica's CPU a report 10.56 -> 10.06 ms (median), the emulator's 2.58 -> 2.19; at
saturation no difference beyond the host's own drift.

GRIDBOT_EVENT_LOOP=asyncio keeps asyncio's own loop (to compare, or should a library misbehave on uvloop);
=uvloop insists on it (an error at start if it is missing); auto (the default) takes it when it is there.
The benchmarks' reference processes (the echo bots, the emulator) choose the same way, so that a ratio
compares like with like.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from enum import StrEnum
from typing import Any, TypeVar

T = TypeVar("T")


class EventLoop(StrEnum):
    AUTO = "auto"
    UVLOOP = "uvloop"
    ASYNCIO = "asyncio"


class EventLoopUnavailable(RuntimeError):
    """GRIDBOT_EVENT_LOOP=uvloop, and uvloop is not installed."""


def loop_factory(choice: EventLoop) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The loop to create for `choice`; None is asyncio's own."""
    if choice is EventLoop.ASYNCIO:
        return None
    try:
        import uvloop
    except ImportError as error:
        if choice is EventLoop.UVLOOP:
            raise EventLoopUnavailable(
                "GRIDBOT_EVENT_LOOP=uvloop, but uvloop is not installed (pip install uvloop)"
            ) from error
        return None
    return uvloop.new_event_loop


def loop_name(choice: EventLoop) -> str:
    return "asyncio" if loop_factory(choice) is None else "uvloop"


def run(main: Coroutine[Any, Any, T], choice: EventLoop = EventLoop.AUTO) -> T:
    """`asyncio.run(main)` on the loop `choice` names."""
    with asyncio.Runner(loop_factory=loop_factory(choice)) as runner:
        return runner.run(main)


def from_environment() -> EventLoop:
    """GRIDBOT_EVENT_LOOP for processes without Settings (tools: the emulator, the echo bots); a value
    that is not a choice is an error, as it is for `gridbot run`."""
    return EventLoop(os.environ.get("GRIDBOT_EVENT_LOOP", EventLoop.AUTO.value).strip().lower())
