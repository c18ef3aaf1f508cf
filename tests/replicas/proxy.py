"""A tiny round-robin reverse proxy for webhook replicas (what nginx does with `proxy_next_upstream error`)."""

from __future__ import annotations

import itertools
from collections import Counter

import aiohttp
from aiohttp import web

from tests.e2e.gridbot_harness import free_port

_SECRET_HEADER = "x-telegram-bot-api-secret-token"


class RoundRobinProxy:
    """Forward each webhook POST to the next replica; on a connection error try the other one."""

    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = upstreams
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
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}/telegram"

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
