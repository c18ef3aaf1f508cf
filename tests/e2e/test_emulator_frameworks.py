"""The real PTB and aiogram stacks against the Bot API emulator: polling, offsets, 429s, files, keyboards."""

from __future__ import annotations

import pytest
from aiogram.types import BufferedInputFile
from telegram import Bot as PTBBot
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from tools.echo_bots import build_aiogram_echo, running_aiogram_echo, running_ptb_echo
from tools.emulator.server import Emulator
from tools.emulator.wire import tiny_png

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
