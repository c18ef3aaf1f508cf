"""Ports on loopback: pick a free one for a process to come, wait until a started one accepts connections."""

from __future__ import annotations

import asyncio
import socket

__all__ = ["free_port", "listening"]


def free_port() -> int:
    """A port nobody listens on right now (the OS picks it; a process started next can bind it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
