"""The Bot API emulator's wire format over raw HTTP: envelopes and routing, getUpdates, sending and commands."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from tests.e2e.raw_api import call, ok
from tools.emulator.server import Emulator
from tools.emulator.wire import tiny_png

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


async def test_document_upload_is_recorded_and_downloadable(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    emu.add_chat(11)
    workbook = b"PK\x03\x04" + bytes(range(256)) * 8
    form = aiohttp.FormData(quote_fields=False)  # names as they are, as aiogram sends them
    form.add_field("chat_id", "11")
    form.add_field("caption", "2026年10月月报")
    form.add_field(
        "document", workbook, filename="月报_2026-10.xlsx", content_type="application/octet-stream"
    )
    async with http.post(f"{emu.url}/bot{emu.token}/sendDocument", data=form) as resp:
        answer = await resp.json()
    assert answer.get("ok"), answer
    sent = answer["result"]
    assert sent["document"]["file_name"] == "月报_2026-10.xlsx"
    assert sent["document"]["file_size"] == len(workbook)
    (message,) = emu.sent(11)
    assert (message.method, message.caption, message.document) == (
        "sendDocument",
        "2026年10月月报",
        sent["document"]["file_id"],
    )
    file = await ok(http, emu, "getFile", file_id=sent["document"]["file_id"])
    async with http.get(f"{emu.url}/file/bot{emu.token}/{file['file_path']}") as resp:
        assert await resp.read() == workbook
    assert (await call(http, emu, "sendDocument", chat_id=11))[0] == 400  # no document
    assert (await call(http, emu, "sendDocument", chat_id=11, document="no-such-file"))[0] == 400


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
