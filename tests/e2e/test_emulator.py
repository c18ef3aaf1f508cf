"""The Bot API emulator: wire format with raw HTTP, then the real PTB and aiogram stacks against it."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram.types import BufferedInputFile
from aiohttp import web
from telegram import Bot as PTBBot
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from tools.echo_bots import build_aiogram_echo, running_aiogram_echo, running_ptb_echo
from tools.emulator.server import Emulator, RateLimit
from tools.emulator.wire import tiny_png


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


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


# ----------------------------------------------------------------------------- envelope and routing


async def test_get_me_over_get_post_and_any_case(emu: Emulator, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{emu.url}/bot{emu.token}/getMe") as resp:
        assert resp.status == 200
        me = (await resp.json())["result"]
    assert me["is_bot"] is True
    assert me["id"] == int(emu.token.split(":")[0])
    assert (await ok(http, emu, "GETME"))["username"] == me["username"]


async def test_unknown_method_and_bad_token(emu: Emulator, http: aiohttp.ClientSession) -> None:
    assert await call(http, emu, "sendTelepathy") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    async with http.post(f"{emu.url}/bot999:WRONG/getMe") as resp:
        assert resp.status == 401
        assert await resp.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


# ----------------------------------------------------------------------------- getUpdates


async def test_offset_confirms_and_negative_offset_keeps_the_tail(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    ids = [emu.user_sends_text(7, f"m{i}")["update_id"] for i in range(4)]
    assert [u["update_id"] for u in await ok(http, emu, "getUpdates")] == ids  # nothing confirmed yet
    assert [u["update_id"] for u in await ok(http, emu, "getUpdates", limit=2)] == ids[:2]
    # offset = last seen + 1 confirms everything before it, for good.
    assert [u["update_id"] for u in await ok(http, emu, "getUpdates", offset=ids[1] + 1)] == ids[2:]
    assert [u["update_id"] for u in await ok(http, emu, "getUpdates")] == ids[2:]
    assert [u["update_id"] for u in await ok(http, emu, "getUpdates", offset=-1)] == ids[3:]
    assert await ok(http, emu, "getUpdates", offset=ids[3] + 1) == []


async def test_allowed_updates_persist_and_filter_new_updates(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    emu.user_sends_text(5, "hi")
    await ok(http, emu, "getUpdates", allowed_updates=["message"], offset=-1)
    first = (await ok(http, emu, "getUpdates"))[0]
    msg = await ok(
        http,
        emu,
        "sendMessage",
        chat_id=5,
        text="pick",
        reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
    )
    emu.user_presses_button(5, msg["message_id"], "a")  # filtered: only "message" allowed
    emu.user_sends_text(5, "again")
    updates = await ok(http, emu, "getUpdates", offset=first["update_id"] + 1)
    assert [list(u)[1] for u in updates] == ["message"]


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(ok(http, emu, "getUpdates", timeout=10))
    await emu.wait_until_polling()  # the server is now holding the request
    emu.user_sends_text(1, "wake up")
    updates = await asyncio.wait_for(poll, 2)
    assert updates[0]["message"]["text"] == "wake up"
    assert time.monotonic() - started < 5  # far below the 10 s poll timeout


async def test_long_poll_times_out_empty_and_a_second_poller_conflicts(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    older = asyncio.create_task(call(http, emu, "getUpdates", timeout=5))
    await emu.wait_until_polling()
    started = time.monotonic()
    assert await ok(http, emu, "getUpdates", timeout=1) == []
    assert 0.9 <= time.monotonic() - started < 5
    status, body = await older
    assert status == 409
    assert body["description"].startswith("Conflict: terminated by other getUpdates request")


# ----------------------------------------------------------------------------- sending


async def test_send_message_returns_full_message_with_per_chat_ids(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    user_msg = emu.user_sends_text(11, "报修: 3号楼漏水", first_name="王")["message"]
    emu.user_sends_text(22, "hello")
    first = await ok(
        http, emu, "sendMessage", chat_id=11, text="收到", reply_to_message_id=user_msg["message_id"]
    )
    second = await ok(
        http,
        emu,
        "sendMessage",
        form=True,  # PTB's encoding: form fields, objects as JSON strings
        chat_id=11,
        text="请选择",
        reply_parameters={"message_id": first["message_id"]},
        reply_markup={"inline_keyboard": [[{"text": "接单", "callback_data": "acc:1"}]]},
    )
    other = await ok(http, emu, "sendMessage", chat_id=22, text="hi")
    assert (first["message_id"], second["message_id"], other["message_id"]) == (2, 3, 2)
    assert first["from"]["is_bot"] is True
    assert first["chat"] == {"id": 11, "type": "private", "first_name": "王"}
    assert first["reply_to_message"]["text"] == "报修: 3号楼漏水"
    assert isinstance(first["date"], int)
    assert second["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "acc:1"
    recorded = emu.sent(11)
    assert [m.text for m in recorded] == ["收到", "请选择"]
    assert recorded[0].reply_to_message_id == user_msg["message_id"]
    assert recorded[1].button("接单").callback_data == "acc:1"
    assert emu.counts["sendMessage"] == 3


@pytest.mark.parametrize(
    ("params", "status", "description"),
    [
        ({"chat_id": 11, "text": " "}, 400, "Bad Request: message text is empty"),
        ({"chat_id": 11, "text": "x" * 4097}, 400, "Bad Request: message is too long"),
        ({"chat_id": 404, "text": "x"}, 400, "Bad Request: chat not found"),
        ({"chat_id": 33, "text": "x"}, 403, "Forbidden: bot can't initiate conversation with a user"),
        (
            {"chat_id": 11, "text": "x", "reply_to_message_id": 99},
            400,
            "Bad Request: message to be replied not found",
        ),
        (
            {
                "chat_id": 11,
                "text": "x",
                "reply_markup": {"inline_keyboard": [[{"text": "t", "callback_data": "d" * 65}]]},
            },
            400,
            "Bad Request: BUTTON_DATA_INVALID",
        ),
    ],
)
async def test_send_message_refusals(
    emu: Emulator, http: aiohttp.ClientSession, params: dict[str, Any], status: int, description: str
) -> None:
    emu.user_sends_text(11, "hi")
    emu.add_user(33)  # known user who never opened the chat
    assert await call(http, emu, "sendMessage", **params) == (
        status,
        {"ok": False, "error_code": status, "description": description},
    )
    assert emu.sent() == []


async def test_photo_upload_file_id_and_download(emu: Emulator, http: aiohttp.ClientSession) -> None:
    update = emu.user_sends_photo(11, caption="楼道堆物")
    user_photo = update["message"]["photo"][-1]
    file = await ok(http, emu, "getFile", file_id=user_photo["file_id"])
    async with http.get(f"{emu.url}/file/bot{emu.token}/{file['file_path']}") as resp:
        assert await resp.read() == tiny_png(4, 3)
    assert (user_photo["width"], user_photo["height"]) == (4, 3)

    form = aiohttp.FormData()
    form.add_field("chat_id", "11")
    form.add_field("caption", "已处理")
    form.add_field("photo", tiny_png(8, 8), filename="done.png", content_type="image/png")
    async with http.post(f"{emu.url}/bot{emu.token}/sendPhoto", data=form) as resp:
        uploaded = (await resp.json())["result"]
    reused = await ok(http, emu, "sendPhoto", chat_id=11, photo=user_photo["file_id"])
    assert uploaded["photo"][-1]["width"] == 8
    assert reused["photo"][-1]["file_id"] == user_photo["file_id"]
    assert [(m.method, m.caption) for m in emu.sent(11)] == [("sendPhoto", "已处理"), ("sendPhoto", None)]
    assert (await call(http, emu, "sendPhoto", chat_id=11, photo="https://example.com/a.jpg"))[0] == 400


async def test_edits_callbacks_and_location(emu: Emulator, http: aiohttp.ClientSession) -> None:
    emu.user_shares_location(11, 31.23, 121.47)
    keyboard = {"inline_keyboard": [[{"text": "满意", "callback_data": "rate:5"}]]}
    msg = await ok(http, emu, "sendMessage", chat_id=11, text="请评价", reply_markup=keyboard)
    press = emu.user_presses_button(11, msg["message_id"], "rate:5")
    query = press["callback_query"]
    assert query["message"]["message_id"] == msg["message_id"]
    with pytest.raises(ValueError, match="no button"):
        emu.user_presses_button(11, msg["message_id"], "rate:1")  # a real client can't send that
    tampered = emu.user_presses_button(11, msg["message_id"], "rate:1", verify=False)

    assert await ok(http, emu, "answerCallbackQuery", callback_query_id=query["id"], text="谢谢") is True
    status, body = await call(http, emu, "answerCallbackQuery", callback_query_id=query["id"])
    assert (status, body["description"]) == (
        400,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    )
    assert (await emu.wait_for_callback_answer(query["id"])).text == "谢谢"
    assert tampered["callback_query"]["data"] == "rate:1"

    edited = await ok(http, emu, "editMessageText", chat_id=11, message_id=msg["message_id"], text="已评价")
    assert "reply_markup" not in edited  # an edit without reply_markup drops the keyboard, as on Telegram
    status, body = await call(
        http, emu, "editMessageText", chat_id=11, message_id=msg["message_id"], text="已评价"
    )
    assert status == 400
    assert body["description"].startswith("Bad Request: message is not modified")
    await ok(
        http, emu, "editMessageReplyMarkup", chat_id=11, message_id=msg["message_id"], reply_markup=keyboard
    )
    edit = await emu.wait_for_edit(11, msg["message_id"])
    assert edit.method == "editMessageText"
    assert emu.message(11, msg["message_id"])["reply_markup"] == keyboard
    assert await ok(http, emu, "sendChatAction", chat_id=11, action="typing") is True
    assert (await ok(http, emu, "getChat", chat_id=11))["type"] == "private"


async def test_commands_per_scope(emu: Emulator, http: aiohttp.ClientSession) -> None:
    resident = [{"command": "report", "description": "报事"}]
    staff = [{"command": "dispatch", "description": "派单"}]
    staff_scope = {"type": "chat", "chat_id": 77}
    await ok(http, emu, "setMyCommands", commands=resident)
    assert await ok(http, emu, "setMyCommands", form=True, commands=staff, scope=staff_scope) is True
    assert await ok(http, emu, "getMyCommands") == resident
    assert await ok(http, emu, "getMyCommands", scope=staff_scope) == staff
    assert emu.commands(staff_scope) == staff
    await ok(http, emu, "deleteMyCommands", scope=staff_scope)
    assert await ok(http, emu, "getMyCommands", scope=staff_scope) == []
    status, body = await call(
        http, emu, "setMyCommands", commands=[{"command": "Bad-Cmd", "description": "x"}]
    )
    assert (status, body["description"]) == (400, "Bad Request: BOT_COMMAND_INVALID")


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

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook", got, script
    finally:
        await runner.cleanup()


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


async def test_webhook_answer_can_carry_a_method(emu: Emulator, http: aiohttp.ClientSession) -> None:
    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        chat_id = update["message"]["chat"]["id"]
        return web.json_response({"method": "sendMessage", "chat_id": chat_id, "text": "answered inline"})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    try:
        await ok(http, emu, "setWebhook", url=f"http://127.0.0.1:{sock.getsockname()[1]}/hook")
        emu.user_sends_text(11, "hi")
        assert (await emu.wait_for_message(11)).text == "answered inline"
        assert emu.calls("sendMessage")[0].via == "webhook-response"
    finally:
        await runner.cleanup()


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


def test_network_guard_refuses_non_loopback(no_network: list[str]) -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("192.0.2.1", 80), timeout=0.1)  # TEST-NET-1, never routable
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("api.telegram.org", 443)
    assert len(no_network) == 2
    no_network.clear()  # expected violations; don't fail the fixture


# ----------------------------------------------------------------------------- real frameworks


async def test_ptb_echo_bot_polls_for_real(emu: Emulator) -> None:
    async with running_ptb_echo(emu.url, emu.token):
        emu.user_sends_text(42, "你好")
        assert (await emu.wait_for_message(42)).text == "你好"
        emu.user_sends_text(42, "再见")
        assert (await emu.wait_for_message(42)).text == "再见"
    # PTB deletes any webhook first, and confirms fetched updates on stop.
    assert emu.calls("deleteWebhook")
    assert not emu.bot.pending
    send = emu.calls("sendMessage")[0]
    assert send.content_type == "application/x-www-form-urlencoded"


async def test_aiogram_echo_bot_polls_for_real(emu: Emulator) -> None:
    async with running_aiogram_echo(emu.url, emu.token):
        emu.user_sends_text(42, "你好")
        assert (await emu.wait_for_message(42)).text == "你好"
        emu.user_sends_text(42, "再见")
        assert (await emu.wait_for_message(42)).text == "再见"
    polls = emu.calls("getUpdates")
    assert polls[0].params["allowed_updates"] == ["message"]  # resolved from its handlers
    assert emu.calls("sendMessage")[0].content_type == "application/x-www-form-urlencoded"
    assert not emu.bot.pending


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_frameworks_confirm_with_the_next_get_updates(emu: Emulator, framework: str) -> None:
    """Both confirm an update by polling again with offset = update_id + 1, without waiting for the handler."""
    runner = running_ptb_echo if framework == "ptb" else running_aiogram_echo
    async with runner(emu.url, emu.token):
        await emu.wait_until_polling()
        update = emu.user_sends_text(42, "one")
        await emu.wait_for_message(42)
    # The confirming poll may be the long poll cut short by the stop, recorded when it ends.
    await emu.wait_for_request("getUpdates", lambda r: int(r.params.get("offset", 0)) > update["update_id"])
    assert not emu.bot.pending


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_echo_bots_honour_429_on_send(emu: Emulator, framework: str) -> None:
    runner = running_ptb_echo if framework == "ptb" else running_aiogram_echo
    async with runner(emu.url, emu.token):
        emu.inject_429("sendMessage", retry_after=1, chat_id=42)
        emu.user_sends_text(42, "flood")
        assert (await emu.wait_for_message(42)).text == "flood"
    refused, accepted = emu.calls("sendMessage")
    assert refused.error_code == 429
    assert accepted.time - refused.time >= 1.0  # not retried too early


@pytest.mark.parametrize(
    ("framework", "retry_after", "min_wait", "max_wait"),
    [("ptb", 1, 1.5, None), ("aiogram", 10, 0.85, 5.0)],
)
async def test_polling_loop_after_429_on_get_updates(
    emu: Emulator, framework: str, retry_after: int, min_wait: float, max_wait: float | None
) -> None:
    """PTB sleeps retry_after + 0.5 s; aiogram ignores retry_after and uses its own backoff (~1-1.3 s)."""
    emu.inject_429("getUpdates", retry_after=retry_after)
    runner = running_ptb_echo if framework == "ptb" else running_aiogram_echo
    async with runner(emu.url, emu.token):
        emu.user_sends_text(42, "after flood")
        assert (await emu.wait_for_message(42)).text == "after flood"
    refused, retried = emu.calls("getUpdates")[:2]
    assert refused.error_code == 429
    assert retried.ok
    waited = retried.time - refused.time
    assert waited >= min_wait
    if max_wait is not None:  # aiogram came back long before the 10 s Telegram asked for
        assert waited < max_wait


async def test_frameworks_upload_download_and_keyboards(emu: Emulator) -> None:
    photo = emu.user_sends_photo(42, caption="漏水")["message"]["photo"][-1]
    async with PTBBot(emu.token, base_url=f"{emu.url}/bot", base_file_url=f"{emu.url}/file/bot") as ptb:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("接单", callback_data="acc:1")]])
        sent = await ptb.send_photo(42, tiny_png(5, 5), caption="ptb", reply_markup=markup)
        assert sent.photo[-1].width == 5
        data = await (await ptb.get_file(photo["file_id"])).download_as_bytearray()
        assert bytes(data) == tiny_png(4, 3)
        await ptb.set_my_commands([("report", "报事")])
    bot, _dp = build_aiogram_echo(emu.url, emu.token)
    async with bot:
        sent2 = await bot.send_photo(42, BufferedInputFile(tiny_png(6, 6), "p.png"), caption="aiogram")
        assert sent2.photo is not None
        assert sent2.photo[-1].width == 6
        buffer = await bot.download(photo["file_id"])
        assert buffer is not None
        assert buffer.read() == tiny_png(4, 3)
        assert [c.command for c in await bot.get_my_commands()] == ["report"]
    assert [m.caption for m in emu.sent(42)] == ["ptb", "aiogram"]
    assert emu.sent(42)[0].button("接单").callback_data == "acc:1"
    assert {r.content_type for r in emu.calls("sendPhoto")} == {"multipart/form-data"}
