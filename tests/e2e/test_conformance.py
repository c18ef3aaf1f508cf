"""One conformance suite, run against both Telegram adapters (python-telegram-bot and aiogram).

Each test starts the real bot in-process (`TelegramRunner`, as `gridbot run` does) against the Bot API
emulator on loopback, with a fresh SQLite database holding the example community, and plays the people.
"""

# ruff: noqa: RUF001  -- resident-facing Chinese text uses full-width punctuation on purpose.

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from handlers import texts
from handlers.labels import texts as label_texts
from handlers.workorders import texts as order_texts
from tests.driver import MEMBER_LI, MEMBER_QIAN, MEMBER_ZHANG, NEWCOMER, RESIDENT_CHEN, RESIDENT_ZHANG
from tests.e2e.gridbot_harness import RunningBot, running_bot, shared_classifier
from tools.emulator.records import BotMessage
from tools.emulator.server import Emulator
from tools.example_community import GROUP_FIRST_GRID
from tools.loopback import free_port


@pytest.fixture(params=["ptb", "aiogram"])
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def bot(emu: Emulator, tmp_path: Path, adapter: str) -> AsyncIterator[RunningBot]:
    async with running_bot(emu, tmp_path, adapter, shared_classifier()) as running:
        yield running


def has_text(fragment: str):  # type: ignore[no-untyped-def]
    return lambda m: fragment in (m.text or m.caption or "")


async def press(
    emu: Emulator, user: int, message: BotMessage, label: str, *, chat_id: int | None = None
) -> str:
    """Press the button labelled `label` under `message`; return the text the bot answered with."""
    update = emu.user_presses_button(
        user, message.message_id, message.button(label).callback_data or "", chat_id=chat_id
    )
    answer = await emu.wait_for_callback_answer(update["callback_query"]["id"])
    return answer.text or ""


async def test_registration_by_buttons_and_menus(bot: RunningBot, emu: Emulator) -> None:
    emu.user_sends_command(NEWCOMER, "start", first_name="小王")
    welcome, privacy = await emu.wait_for_messages(2, NEWCOMER)
    assert welcome.text == texts.WELCOME
    assert privacy.text == texts.PRIVACY
    await press(emu, NEWCOMER, privacy, texts.BTN_AGREE)
    ask = await emu.wait_for_message(NEWCOMER)
    assert ask.text == texts.ASK_REGISTER
    await press(emu, NEWCOMER, ask, texts.BTN_REGISTER)
    compounds = await emu.wait_for_message(NEWCOMER)
    await press(emu, NEWCOMER, compounds, "兴泰小区")
    buildings = await emu.wait_for_message(NEWCOMER)
    await press(emu, NEWCOMER, buildings, "5号楼")
    units = await emu.wait_for_message(NEWCOMER)
    await press(emu, NEWCOMER, units, "2单元")
    room = await emu.wait_for_message(NEWCOMER)
    assert room.text == texts.ASK_ROOM
    emu.user_sends_text(NEWCOMER, "501")
    done = await emu.wait_for_message(NEWCOMER)
    assert done.text == texts.registered("兴泰小区5号楼2单元501")
    # Menus: residents get the default scope, members and staff their own per chat.
    assert [c["command"] for c in emu.commands()] == [c for c, _ in texts.COMMANDS_RESIDENT]
    member_scope = {"type": "chat", "chat_id": MEMBER_LI}
    assert [c["command"] for c in emu.commands(member_scope)] == [c for c, _ in texts.COMMANDS_MEMBER]
    staff_scope = {"type": "chat", "chat_id": 1001}
    assert emu.commands(staff_scope)[0]["description"] == texts.COMMANDS_STAFF[0][1]


async def test_report_accept_relay_resolve_rate(bot: RunningBot, emu: Emulator) -> None:
    emu.user_sends_text(RESIDENT_ZHANG, "5号楼2单元楼道灯坏了，晚上看不见")
    confirmation = await emu.wait_for_message(RESIDENT_ZHANG)
    assert "已为您生成工单" in (confirmation.text or "")
    card = await emu.wait_for_message(MEMBER_LI, has_text("📋 新工单"))
    assert [b.text for b in card.buttons] == [
        order_texts.BTN_ACCEPT,
        order_texts.BTN_TRANSFER,
        order_texts.BTN_RETURN,
        label_texts.BTN_RECATEGORISE,
    ]

    answer = await press(emu, MEMBER_LI, card, order_texts.BTN_ACCEPT)
    assert answer.startswith("已接单")
    edit = await emu.wait_for_edit(MEMBER_LI, card.message_id)
    assert order_texts.BTN_RESOLVE in [b.text for b in edit.buttons]
    accepted = await emu.wait_for_message(RESIDENT_ZHANG, has_text("接单"))
    await bot.idle()

    # Member -> resident: a reply to the card is relayed, threaded under the resident's order message.
    emu.user_sends_text(MEMBER_LI, "明天上午九点来换灯泡", reply_to_message_id=card.message_id)
    relayed = await emu.wait_for_message(RESIDENT_ZHANG)
    assert "明天上午九点来换灯泡" in (relayed.text or "")
    await bot.idle()  # the relayed message is linked to its order once marked sent
    assert relayed.reply_to_message_id == accepted.message_id
    # Resident -> member: a reply to the relayed message comes back threaded under the card.
    emu.user_sends_text(RESIDENT_ZHANG, "好的，谢谢", reply_to_message_id=relayed.message_id)
    back = await emu.wait_for_message(MEMBER_LI, has_text("好的，谢谢"))
    assert back.reply_to_message_id == card.message_id

    await press(emu, MEMBER_LI, edit_as_message(emu, MEMBER_LI, card.message_id), order_texts.BTN_RESOLVE)
    await emu.wait_for_message(MEMBER_LI, has_text(order_texts.ASK_RESOLVE_NOTE))
    emu.user_sends_text(MEMBER_LI, "已更换灯泡")
    rating = await emu.wait_for_message(RESIDENT_ZHANG, has_text("请您对这次服务做个评价"))
    await press(emu, RESIDENT_ZHANG, rating, "满意")
    thanks = await emu.wait_for_message(RESIDENT_ZHANG, has_text("感谢您的评价"))
    assert "满意" in (thanks.text or "")
    await bot.idle()
    (order,) = await bot.orders()
    assert (order.state, order.satisfaction) == ("closed", "satisfied")
    assert "member_replied" in await bot.events(order.id)


def edit_as_message(emu: Emulator, chat_id: int, message_id: int) -> BotMessage:
    """The current state of a bot message (after edits), as a BotMessage for `press`."""
    raw = emu.message(chat_id, message_id)
    return BotMessage(
        0, 0.0, 0, "", chat_id, message_id, raw.get("text"), None, raw.get("reply_markup"), None, None, raw
    )


async def test_tampered_and_stale_buttons_are_refused_politely(bot: RunningBot, emu: Emulator) -> None:
    emu.user_sends_text(RESIDENT_ZHANG, "5号楼2单元楼道灯坏了")
    card = await emu.wait_for_message(MEMBER_LI, has_text("📋 新工单"))
    confirmation = await emu.wait_for_message(RESIDENT_ZHANG, has_text("已为您生成工单"), since=0)
    accept = card.button(order_texts.BTN_ACCEPT).callback_data or ""
    # The resident forges the member's accept button under their own message.
    forged = emu.user_presses_button(RESIDENT_ZHANG, confirmation.message_id, accept, verify=False)
    assert (await emu.wait_for_callback_answer(forged["callback_query"]["id"])).text == texts.NOT_ALLOWED
    garbage = emu.user_presses_button(RESIDENT_ZHANG, confirmation.message_id, "zz:1:2:3", verify=False)
    assert (await emu.wait_for_callback_answer(garbage["callback_query"]["id"])).text == texts.STALE_BUTTON
    # Pressing 接单 twice: the second press finds the order already accepted.
    await press(emu, MEMBER_LI, card, order_texts.BTN_ACCEPT)
    again = emu.user_presses_button(MEMBER_LI, card.message_id, accept, verify=False)
    assert (await emu.wait_for_callback_answer(again["callback_query"]["id"])).text == texts.STATE_CHANGED
    await bot.idle()
    (order,) = await bot.orders()
    assert order.state == "accepted"


async def test_429_pauses_sending_for_retry_after(bot: RunningBot, emu: Emulator) -> None:
    emu.inject_429("sendMessage", retry_after=1)
    emu.user_sends_text(RESIDENT_ZHANG, "5号楼2单元楼道灯坏了")
    await emu.wait_for_message(RESIDENT_ZHANG, has_text("已为您生成工单"), timeout=10)
    await bot.idle()
    sends = emu.calls("sendMessage")
    refused = [r for r in sends if r.error_code == 429]
    assert len(refused) == 1
    after = [r for r in sends if r.seq > refused[0].seq]
    assert after, "nothing was sent after the 429"
    # Nothing at all went out before retry_after elapsed, not even to other chats.
    assert min(r.time for r in after) - refused[0].time >= 1.0
    assert all(r.ok for r in after)
    # The refused message itself was sent again (bounded retries, not dropped).
    retried = [r for r in after if r.params.get("chat_id") == refused[0].params.get("chat_id")]
    assert retried
    assert retried[0].params.get("text") == refused[0].params.get("text")


async def test_403_marks_unreachable_and_never_retries(bot: RunningBot, emu: Emulator) -> None:
    emu.block(RESIDENT_CHEN)
    emu.user_sends_text(RESIDENT_CHEN, "6号楼电梯坏了，困了好几个人")
    card = await emu.wait_for_message(MEMBER_QIAN, has_text("工单"))
    await bot.idle()
    assert await bot.unreachable() == {RESIDENT_CHEN}
    attempts = [r for r in emu.calls("sendMessage") if str(r.params.get("chat_id")) == str(RESIDENT_CHEN)]
    assert len(attempts) == 1
    assert attempts[0].error_code == 403
    # Later messages for the blocked resident are not even attempted.
    await press(emu, MEMBER_QIAN, card, order_texts.BTN_ACCEPT)
    await bot.idle()
    attempts = [r for r in emu.calls("sendMessage") if str(r.params.get("chat_id")) == str(RESIDENT_CHEN)]
    assert len(attempts) == 1
    failed = [row for row in await bot.outbox() if row.chat_id == RESIDENT_CHEN]
    assert failed
    assert all(row.status == "failed" for row in failed)
    # Writing again means they unblocked us: the mark is lifted and they get answers again.
    emu.unblock(RESIDENT_CHEN)
    emu.user_sends_command(RESIDENT_CHEN, "my")
    await emu.wait_for_message(RESIDENT_CHEN, has_text("您最近的工单"))
    assert await bot.unreachable() == set()


async def test_long_text_is_split_with_buttons_on_the_last_part(bot: RunningBot, emu: Emulator) -> None:
    long_report = "5号楼2单元楼道灯坏了。" + "楼道里很黑，老人上下楼很不方便，" * 300
    emu.user_sends_text(RESIDENT_ZHANG, long_report)
    first, second = await emu.wait_for_messages(2, MEMBER_LI, timeout=10)
    assert all(len(m.text or "") <= 4096 for m in (first, second))
    assert first.buttons == []
    assert order_texts.BTN_ACCEPT in [b.text for b in second.buttons]
    assert (first.text or "").startswith("📋 新工单")
    assert len(first.text or "") + len(second.text or "") >= len(long_report)


async def test_webhook_requires_the_secret(emu: Emulator, tmp_path: Path, adapter: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    async with running_bot(
        emu,
        tmp_path,
        adapter,
        shared_classifier(),
        webhook=True,
        webhook_port=port,
        webhook_url=url,
        webhook_secret="s3cret-token_1",
    ) as bot:
        update = {
            "update_id": 1,
            "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}},
        }
        async with aiohttp.ClientSession() as client:
            async with client.post(url, json=update) as response:
                assert response.status == 403
            headers = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
            async with client.post(url, json=update, headers=headers) as response:
                assert response.status == 403
        assert await bot.runner.journal.unhandled() == []
        # Telegram (the emulator) delivers with the secret it was given in setWebhook.
        emu.user_sends_text(RESIDENT_ZHANG, "5号楼2单元楼道灯坏了")
        confirmation = await emu.wait_for_message(RESIDENT_ZHANG, timeout=10)
        assert "已为您生成工单" in (confirmation.text or "")
        assert any(d.status == 200 for d in emu.webhook_deliveries.records)
        await bot.idle()
        assert len(await bot.orders()) == 1


async def test_claim_in_the_grid_group(bot: RunningBot, emu: Emulator) -> None:
    emu.user_sends_text(RESIDENT_ZHANG, "5号楼2单元楼道灯坏了，电话13912345678")
    post = await emu.wait_for_message(GROUP_FIRST_GRID, has_text("认领"))
    assert "139****5678" in (post.text or "")
    assert "13912345678" not in (post.text or "")
    await emu.wait_for_message(MEMBER_LI, has_text("📋 新工单"))
    # A member of another grid may not claim it.
    refused = emu.user_presses_button(
        MEMBER_QIAN, post.message_id, post.button("认领").callback_data or "", chat_id=GROUP_FIRST_GRID
    )
    assert (await emu.wait_for_callback_answer(refused["callback_query"]["id"])).text == texts.NOT_ALLOWED
    # 张伟 (第一网格) claims the order routed to 李娜.
    answer = await press(emu, MEMBER_ZHANG, post, "认领", chat_id=GROUP_FIRST_GRID)
    assert answer.startswith("您已认领工单")
    edit = await emu.wait_for_edit(GROUP_FIRST_GRID, post.message_id)
    assert "已由网格员 张伟认领" in (edit.text or "")
    assert edit.buttons == []
    card = await emu.wait_for_message(MEMBER_ZHANG, has_text("📋 已认领"))
    assert order_texts.BTN_RESOLVE in [b.text for b in card.buttons]
    await emu.wait_for_message(MEMBER_LI, has_text("在网格群里认领"))
    await emu.wait_for_message(RESIDENT_ZHANG, has_text("已由网格员 张伟接单"))
    # Claimed already: a second press is refused.
    late = emu.user_presses_button(MEMBER_LI, post.message_id, "cl:1", chat_id=GROUP_FIRST_GRID, verify=False)
    assert (await emu.wait_for_callback_answer(late["callback_query"]["id"])).text == texts.STATE_CHANGED
    await bot.idle()
    (order,) = await bot.orders()
    assert order.state == "accepted"
    async with bot.app.uow_factory() as uow:
        zhang = await uow.community.person_by_chat(MEMBER_ZHANG)
    assert zhang is not None
    assert order.assignee_id == zhang.id


async def test_photos_join_reports_and_reach_the_assignee(bot: RunningBot, emu: Emulator) -> None:
    # A photo with a caption is a report; the card goes out as a photo.
    emu.user_sends_photo(RESIDENT_ZHANG, "5号楼2单元楼道灯坏了")
    card = await emu.wait_for_message(MEMBER_LI, lambda m: m.method == "sendPhoto")
    assert "📋 新工单" in (card.caption or "")
    assert card.buttons
    await emu.wait_for_message(RESIDENT_ZHANG, has_text("已为您生成工单"))
    await bot.idle()
    # A photo without words joins the open order; the assignee gets it, threaded under the card.
    emu.user_sends_photo(RESIDENT_ZHANG)
    added = await emu.wait_for_message(MEMBER_LI, lambda m: m.method == "sendPhoto")
    assert "补充了一张照片" in (added.caption or "")
    assert added.reply_to_message_id == card.message_id
    await emu.wait_for_message(RESIDENT_ZHANG, has_text("照片已补充到工单"))
    await bot.idle()
    (order,) = await bot.orders()
    assert len(order.photos) == 2
    assert "photo_added" in await bot.events(order.id)
    # No open order: the photo waits for the words, then joins the new report.
    emu.user_sends_photo(RESIDENT_CHEN)
    await emu.wait_for_message(RESIDENT_CHEN, has_text(order_texts.PHOTO_NEEDS_WORDS))
    emu.user_sends_text(RESIDENT_CHEN, "电梯坏了")
    await emu.wait_for_message(
        MEMBER_QIAN, lambda m: m.method == "sendPhoto" and "电梯坏了" in (m.caption or "")
    )
    await bot.idle()
    assert len((await bot.orders())[-1].photos) == 1


async def test_shared_location_names_the_nearest_compound(bot: RunningBot, emu: Emulator) -> None:
    async with bot.app.uow_factory() as uow:
        compound = await uow.community.compound_by_name("森源华府")
    assert compound is not None
    assert compound.latitude is not None
    assert compound.longitude is not None
    emu.user_shares_location(NEWCOMER, compound.latitude + 0.0004, compound.longitude - 0.0003)
    await emu.wait_for_message(NEWCOMER, has_text("离您最近的是森源华府"))
    emu.user_sends_text(NEWCOMER, "3号楼电梯坏了", first_name="小王")
    consent = await emu.wait_for_message(NEWCOMER, has_text("同意"))
    await press(emu, NEWCOMER, consent, texts.BTN_AGREE)
    await emu.wait_for_message(NEWCOMER, has_text("已为您生成工单"))
    await bot.idle()
    (order,) = await bot.orders()
    assert order.compound_id == compound.id
    assert order.building_number == "3"
    # Far from every compound: not guessed.
    emu.user_shares_location(NEWCOMER, compound.latitude + 1.0, compound.longitude)
    await emu.wait_for_message(NEWCOMER, has_text("附近好像不是本社区"))
