"""Issue 17 on both adapters: the fire advice jumps the resident's own queue.

A resident has just sent many reports; their confirmations are queued behind Telegram's pace of about one
message a second in a chat. Then they write that the stairwell is on fire: the 119 advice must arrive
before the confirmations still queued, within seconds, and the grid leader and staff hear at once.
(Before the emergency lane it waited behind every one of them.)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.driver import LEADER_WANG, RESIDENT_ZHANG, STAFF_LIU
from tests.e2e.gridbot_harness import running_bot, shared_classifier
from tools.emulator.records import BotMessage
from tools.emulator.server import Emulator

REPORTS = 15  # under the flood limit of reports per hour (emergencies are never limited)
# Telegram's real pace in one chat: these tests otherwise send fast (gridbot_harness.FAST_SENDING).
REAL_CHAT_PACE: dict[str, Any] = {"send_per_chat_per_second": 1.0, "send_per_chat_burst": 3}


def _tag(i: int) -> str:
    return "".join(chr(ord("a") + int(d)) for d in f"{i:02d}")  # no digits: they would read as rooms


def _confirmation(message: BotMessage) -> bool:
    return "已为您生成工单" in (message.text or "")


def _advice(message: BotMessage) -> bool:
    return "119" in (message.text or "") and "已为您生成工单" not in (message.text or "")


@pytest.fixture(params=["ptb", "aiogram"])
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_fire_advice_arrives_before_the_queued_confirmations(
    emu: Emulator, tmp_path: Path, adapter: str
) -> None:
    async with running_bot(emu, tmp_path, adapter, shared_classifier(), **REAL_CHAT_PACE) as bot:
        for i in range(REPORTS):
            emu.user_sends_text(RESIDENT_ZHANG, f"楼道灯坏了，晚上很黑 {_tag(i)}")
        # The first confirmations are out (the chat's burst): the rest are queued, about one a second.
        await emu.wait_for_messages(2, RESIDENT_ZHANG, _confirmation, since=0, timeout=15)
        written = time.monotonic()
        emu.user_sends_text(RESIDENT_ZHANG, "楼道里着火了，好多烟，快来人")
        advice = await emu.wait_for_message(RESIDENT_ZHANG, _advice, timeout=30)  # the old code: ~15 s
        leader = await emu.wait_for_message(LEADER_WANG, lambda m: "🆘" in (m.text or ""), timeout=10)
        staff = await emu.wait_for_message(STAFF_LIU, lambda m: "🆘" in (m.text or ""), timeout=10)
        before = [m for m in emu.sent(RESIDENT_ZHANG) if _confirmation(m) and m.seq < advice.seq]
        assert len(before) < REPORTS - 5, f"the advice waited behind {len(before)} confirmations"
        assert advice.time - written < 2.0, advice.time - written
        assert max(leader.time, staff.time) - written < 3.0
        # Nothing was lost or repeated meanwhile: every report still gets its one confirmation.
        await emu.wait_for_messages(REPORTS, RESIDENT_ZHANG, _confirmation, since=0, timeout=30)
        await bot.idle(within=10)
        assert sum(_confirmation(m) for m in emu.sent(RESIDENT_ZHANG)) == REPORTS
