"""Local services the tests need (PostgreSQL, Redis, a process's port): skip on a laptop, fail in CI."""

from __future__ import annotations

import asyncio
import os

import pytest


def require(problem: str | None, what: str) -> None:
    """Skip when `what` is unreachable on a developer's machine; fail under CI, which must provide it."""
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI but not reachable: {problem}")
    pytest.skip(f"{what} not reachable ({problem})")


async def listening(port: int, within: float) -> None:
    """Wait until something accepts connections on 127.0.0.1:`port` (a started subprocess)."""
    async with asyncio.timeout(within):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            writer.close()
            await writer.wait_closed()
            return
