"""Files from the bot, on both adapters against the emulator: staff's /report brings the month's workbook
(multipart sendDocument) and /stats a chart (multipart sendPhoto), each queued in the outbox with its bytes."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import openpyxl
import pytest
from PIL import Image

from handlers.statistics.rollup import roll_up
from tests.driver import RESIDENT_ZHANG, STAFF_LIU
from tests.e2e.gridbot_harness import RunningBot, running_bot, shared_classifier
from tools.emulator.server import Emulator


@pytest.fixture(params=["ptb", "aiogram"])
async def bot(request: pytest.FixtureRequest, emu: Emulator, tmp_path: Path) -> AsyncIterator[RunningBot]:
    async with running_bot(emu, tmp_path, str(request.param), shared_classifier()) as running:
        yield running


async def test_report_sends_the_workbook_and_stats_a_chart(bot: RunningBot, emu: Emulator) -> None:
    emu.user_sends_text(RESIDENT_ZHANG, "5号楼2单元楼道灯坏了，晚上看不见")
    await emu.wait_for_message(RESIDENT_ZHANG)
    await bot.idle()
    await roll_up(bot.app.uow_factory, bot.app.clock, max_days=None)  # what the scheduler's tick does
    month = bot.app.clock.now().strftime("%Y-%m")

    emu.user_sends_text(STAFF_LIU, f"/report {month}")
    sent = await emu.wait_for_message(STAFF_LIU, lambda m: m.document is not None, timeout=15)
    assert sent.raw["document"]["file_name"] == f"月报_{month}.xlsx"
    assert "工作报告" in (sent.caption or "")
    book = openpyxl.load_workbook(io.BytesIO(emu.files[sent.document or ""].data), read_only=True)
    summary = {row[0]: row[1] for row in book["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["新增"] == 1
    (upload,) = emu.calls("sendDocument")
    assert upload.content_type == "multipart/form-data"

    emu.user_sends_text(STAFF_LIU, "/stats 7")
    chart = await emu.wait_for_message(STAFF_LIU, lambda m: m.photo is not None, timeout=15)
    assert "工单趋势" in (chart.caption or "")
    image = Image.open(io.BytesIO(emu.files[chart.photo or ""].data))
    assert image.format == "PNG"
    assert image.size == (1280, 520)
    words = await emu.wait_for_message(STAFF_LIU, lambda m: "近 7 天" in (m.text or ""))
    assert words.message_id > chart.message_id  # the figures in words follow the chart
    assert all(c.content_type == "multipart/form-data" for c in emu.calls("sendPhoto"))
    await bot.idle()
    assert await bot.outbox() == [] or all(row.status == "sent" for row in await bot.outbox())
