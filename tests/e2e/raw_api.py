"""Call the emulator's Bot API over plain HTTP, as a framework would, but with no framework in between."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from tools.emulator.server import Emulator


async def call(
    http: aiohttp.ClientSession, emu: Emulator, method: str, *, form: bool = False, **params: Any
) -> tuple[int, dict[str, Any]]:
    """Call a method with a JSON body, or form-encoded (objects as JSON strings, like PTB)."""
    url = f"{emu.url}/bot{emu.token}/{method}"
    if form:
        data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        async with http.post(url, data=data) as resp:
            return resp.status, await resp.json()
    async with http.post(url, json=params) as resp:
        return resp.status, await resp.json()


async def ok(http: aiohttp.ClientSession, emu: Emulator, method: str, **params: Any) -> Any:
    status, body = await call(http, emu, method, **params)
    assert status == 200, body
    assert body["ok"] is True
    return body["result"]
