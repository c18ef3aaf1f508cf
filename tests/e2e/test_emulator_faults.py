"""The Bot API emulator over raw HTTP: injected faults and flood limits, webhook delivery, the control API,
and the e2e network guard."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.e2e.raw_api import call, ok
from tools.emulator.server import Emulator, RateLimit

# ----------------------------------------------------------------------------- faults and limits


async def test_injected_429_and_403(emu: Emulator, http: aiohttp.ClientSession) -> None:
    emu.user_sends_text(11, "hi")
    emu.user_sends_text(12, "hi")
    emu.inject_429("sendMessage", retry_after=7)
    emu.inject_403("sendMessage", chat_id=12)
    assert await call(http, emu, "sendMessage", chat_id=11, text="a") == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        },
    )
    await ok(http, emu, "sendMessage", chat_id=11, text="a")  # the fault was for one call only
    assert (await call(http, emu, "sendMessage", chat_id=12, text="b"))[1]["description"] == (
        "Forbidden: bot was blocked by the user"
    )
    emu.block(11)
    assert (await call(http, emu, "sendMessage", chat_id=11, text="c"))[0] == 403
    emu.unblock(11)
    await ok(http, emu, "sendMessage", chat_id=11, text="d")
    assert [(r.ok, r.error_code) for r in emu.calls("sendMessage")] == [
        (False, 429),
        (True, None),
        (False, 403),
        (False, 403),
        (True, None),
    ]


async def test_rate_limit_answers_retry_after(emu: Emulator, http: aiohttp.ClientSession) -> None:
    emu.set_rate_limit(RateLimit(overall_per_second=3, per_group_per_minute=2))
    emu.user_sends_text(11, "hi")
    emu.user_sends_text(11, "hi", chat_id=-100500, chat_type="supergroup", chat_title="一网格")
    for _ in range(2):
        await ok(http, emu, "sendMessage", chat_id=-100500, text="group")
    status, body = await call(http, emu, "sendMessage", chat_id=-100500, text="group")
    assert status == 429
    assert 1 <= body["parameters"]["retry_after"] <= 60  # 20/min per group: wait for the window
    await ok(http, emu, "sendMessage", chat_id=11, text="private")  # third message overall
    status, body = await call(http, emu, "sendMessage", chat_id=11, text="private")
    assert (status, body["parameters"]["retry_after"]) == (429, 1)


# ----------------------------------------------------------------------------- webhook


Hook = Callable[[web.Request], Awaitable[web.Response]]


@asynccontextmanager
async def serving(hook: Hook) -> AsyncIterator[str]:
    """A webhook receiver on loopback answering with `hook`; yields its URL."""
    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    finally:
        await runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[
    tuple[str, asyncio.Queue[tuple[dict[str, Any], str | None]], list[int]]
]:
    """A webhook receiver on loopback: records (update, secret header); answers statuses from a script."""
    got: asyncio.Queue[tuple[dict[str, Any], str | None]] = asyncio.Queue()
    script: list[int] = []  # statuses to answer first, then 200

    async def hook(request: web.Request) -> web.Response:
        await got.put((await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        status = script.pop(0) if script else 200
        return web.json_response({}, status=status)

    async with serving(hook) as url:
        yield url, got, script


async def test_webhook_delivery_with_secret_and_retries(
    emu: Emulator,
    http: aiohttp.ClientSession,
    receiver: tuple[str, asyncio.Queue[tuple[dict[str, Any], str | None]], list[int]],
) -> None:
    url, got, script = receiver
    script.append(500)  # first delivery refused: Telegram retries the same update
    await ok(http, emu, "setWebhook", url=url, secret_token="s3cr3t-Token_1")
    status, body = await call(http, emu, "getUpdates")
    assert status == 409
    assert "webhook is active" in body["description"]
    update = emu.user_sends_text(11, "via webhook")
    first, second = [await asyncio.wait_for(got.get(), 2) for _ in range(2)]
    assert first == second == (update, "s3cr3t-Token_1")
    await emu.webhook_deliveries.wait(lambda d: d.status == 200, count=1, since=0, timeout=2)
    info = await ok(http, emu, "getWebhookInfo")
    assert info["url"] == url
    assert info["pending_update_count"] == 0
    assert info["last_error_message"] == "Wrong response from the webhook: 500"
    await ok(http, emu, "deleteWebhook")
    assert (await ok(http, emu, "getWebhookInfo"))["url"] == ""
    assert await ok(http, emu, "getUpdates") == []


async def test_webhook_delivers_chats_at_once_and_each_chat_in_order(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    """As Telegram's server: several chats' updates in flight together (up to max_connections), one chat's
    next update only after its previous one was answered; a refused update holds only its own chat."""
    arrived: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    release: dict[str, asyncio.Event] = {}
    refuse = {"refused once"}

    async def hook(request: web.Request) -> web.Response:
        message = (await request.json())["message"]
        text = message["text"]
        await arrived.put((message["chat"]["id"], text))
        if text in refuse:
            refuse.discard(text)
            return web.json_response({}, status=502)
        await release.setdefault(text, asyncio.Event()).wait()
        return web.json_response({})

    async def next_arrival() -> tuple[int, str]:
        return await asyncio.wait_for(arrived.get(), 2)

    async with serving(hook) as url:
        try:
            await ok(http, emu, "setWebhook", url=url)
            emu.user_sends_text(11, "11 first")
            emu.user_sends_text(11, "11 second")
            emu.user_sends_text(12, "12 first")
            emu.user_sends_text(13, "refused once")
            # Chat 11's first and chat 12's and 13's are posted together; 11's second waits for its first.
            assert {await next_arrival() for _ in range(3)} == {
                (11, "11 first"),
                (12, "12 first"),
                (13, "refused once"),
            }
            assert await next_arrival() == (13, "refused once")  # retried while 11 and 12 are still open
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(arrived.get(), 0.3)
            release.setdefault("11 first", asyncio.Event()).set()
            assert await next_arrival() == (11, "11 second")
            for text in ("11 second", "12 first", "refused once"):
                release.setdefault(text, asyncio.Event()).set()
            await emu.webhook_deliveries.wait(lambda d: d.status == 200, count=4, since=0, timeout=2)
            assert (await ok(http, emu, "getWebhookInfo"))["pending_update_count"] == 0
        finally:
            for event in release.values():
                event.set()


async def test_webhook_answer_can_carry_a_method(emu: Emulator, http: aiohttp.ClientSession) -> None:
    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        chat_id = update["message"]["chat"]["id"]
        return web.json_response({"method": "sendMessage", "chat_id": chat_id, "text": "answered inline"})

    async with serving(hook) as url:
        await ok(http, emu, "setWebhook", url=url)
        emu.user_sends_text(11, "hi")
        assert (await emu.wait_for_message(11)).text == "answered inline"
        assert emu.calls("sendMessage")[0].via == "webhook-response"


# ----------------------------------------------------------------------------- control API and guard


async def test_control_api(emu: Emulator, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{emu.url}/_emulator/user/text", json={"user_id": 5, "text": "hi"}) as resp:
        update = (await resp.json())["update"]
    async with http.post(
        f"{emu.url}/_emulator/inject", json={"method": "sendMessage", "retry_after": 2}
    ) as resp:
        assert resp.status == 200
    assert (await call(http, emu, "sendMessage", chat_id=5, text="x"))[0] == 429
    waiter = asyncio.create_task(http.post(f"{emu.url}/_emulator/wait", json={"count": 1, "chat_id": 5}))
    await ok(
        http, emu, "sendMessage", chat_id=5, text="echo", reply_to_message_id=update["message"]["message_id"]
    )
    async with await waiter as resp:
        [message] = await resp.json()
    assert (message["text"], message["reply_to_message_id"]) == ("echo", 1)
    async with http.get(f"{emu.url}/_emulator/stats") as resp:
        assert (await resp.json())["counts"]["sendMessage"] == 2
