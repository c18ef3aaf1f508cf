"""A tiny round-robin reverse proxy for webhook replicas (what nginx does with `proxy_next_upstream error`).

In a test: ``proxy = RoundRobinProxy([url1, url2]); await proxy.start()`` and set ``proxy.url`` as the
webhook. Standalone (benchmarks, so it does not share the load generator's event loop)::

    python -m tools.proxy http://127.0.0.1:8001/telegram http://127.0.0.1:8002/telegram

prints its URL once it listens, then serves until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import signal
import socket
from collections import Counter

import aiohttp
from aiohttp import web

__all__ = ["RoundRobinProxy", "main"]

_SECRET_HEADER = "x-telegram-bot-api-secret-token"


class RoundRobinProxy:
    """Forward each webhook POST to the next replica; on a connection error try the other one."""

    def __init__(self, upstreams: list[str], *, port: int = 0) -> None:
        self.upstreams = upstreams
        self.port = port  # 0: a free port, known after start()
        self._turn = itertools.count()
        self.forwarded: Counter[str] = Counter()
        self.retried = 0
        self._client: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        self._client = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_post("/telegram", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        # Bind first, then read the port: no window in which another process could take it.
        sock = socket.socket()
        sock.bind(("127.0.0.1", self.port))
        self.port = int(sock.getsockname()[1])
        await web.SockSite(self._runner, sock).start()
        self.url = f"http://127.0.0.1:{self.port}/telegram"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._client is not None:
            await self._client.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._client is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() in {"content-type", _SECRET_HEADER}}
        first = next(self._turn) % len(self.upstreams)
        for attempt in range(len(self.upstreams)):
            upstream = self.upstreams[(first + attempt) % len(self.upstreams)]
            try:
                async with self._client.post(
                    upstream, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
                ) as answer:
                    payload = await answer.read()
                    self.forwarded[upstream] += 1
                    return web.Response(status=answer.status, body=payload)
            except (aiohttp.ClientConnectionError, TimeoutError):
                self.retried += 1  # nginx: proxy_next_upstream error timeout
        return web.Response(status=502)


async def _serve(upstreams: list[str], port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    proxy = RoundRobinProxy(upstreams, port=port)
    await proxy.start()
    try:
        print(proxy.url, flush=True)  # noqa: T201  -- the parent process reads the URL from here
        await stop.wait()
    finally:
        await proxy.close()


def main(argv: list[str] | None = None) -> None:
    """``python -m tools.proxy [--port N] UPSTREAM...``: print the proxy's URL, serve until interrupted."""
    parser = argparse.ArgumentParser(description="Round-robin webhook proxy over bot replicas.")
    parser.add_argument(
        "upstreams", nargs="+", help="replica webhook URLs, e.g. http://127.0.0.1:8001/telegram"
    )
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.upstreams, args.port))


if __name__ == "__main__":
    main()
