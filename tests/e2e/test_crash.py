"""Crash test: `gridbot run` (polling) is SIGKILLed with residents' messages journaled but not handled yet,
then restarted.

Every message must produce exactly one work order, and every resident exactly one confirmation. Stock
PTB/aiogram polling confirms fetched updates to Telegram before handling them, so the ones fetched but not
handled at the kill would be lost; here the journal replays them. With the journal disabled this test
fails (tried: confirmations and orders go missing).

The one physical limit: the Bot API has no idempotent send, so a message Telegram accepted in the instant
before the kill, not yet marked sent, goes out again after the restart. The sender has one message on the
wire at a time and marks it sent as soon as Telegram answers, so the bound is stated and checked here: at
most one resent message per sender (one sender per process).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from handlers.community.settings import ResidentSpec
from storage.database import make_engine, make_session_factory
from storage.models import OutboxRow, TelegramUpdateRow, WorkOrderRow
from tests.e2e.gridbot_harness import FAST_SENDING, open_chats
from tools.emulator.server import Emulator
from tools.example_community import example_spec, prepare_database

ROOT = Path(__file__).resolve().parents[2]
N = 40
FIRST_RESIDENT = 9100


def _tag(i: int) -> str:
    # Letters only: digits in a report would be read as building or room numbers.
    return "".join(chr(ord("a") + int(d)) for d in f"{i:02d}")


def _report(i: int) -> str:
    return f"楼道灯坏了，晚上很黑 {_tag(i)}"


def _start_bot(emu: Emulator, url: str, adapter: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "GRIDBOT_DATABASE_URL": url,
        "GRIDBOT_TRANSPORT": adapter,
        "GRIDBOT_BOT_TOKEN": emu.token,
        "GRIDBOT_TELEGRAM_API_URL": emu.url,
        "GRIDBOT_POLLING_TIMEOUT": "2",
        "GRIDBOT_LOG_LEVEL": "INFO",
        "GRIDBOT_HEALTH_PORT": "0",  # a free port: runs side by side must not collide on 9090
        "PTB_TIMEDELTA": "1",
        **{f"GRIDBOT_{k.upper()}": str(v) for k, v in FAST_SENDING.items()},
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli.run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def _confirmation(text: str | None) -> bool:
    return "已为您生成工单" in (text or "")


@pytest.mark.parametrize("adapter", ["ptb", "aiogram"])
async def test_sigkill_with_journaled_updates_loses_nothing_and_repeats_at_most_one_message(
    emu: Emulator, tmp_path: Path, adapter: str
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gridbot.db'}"
    spec = example_spec()
    # One resident per building: the same problem in one building would be offered as a duplicate.
    homes = [(c.name, b.number) for c in spec.compounds for b in c.buildings]
    residents = tuple(
        ResidentSpec(f"居民{i}", FIRST_RESIDENT + i, *homes[i], None, None, consented=True) for i in range(N)
    )
    await prepare_database(url, dataclasses.replace(spec, residents=spec.residents + residents))
    open_chats(emu)
    # Waiting before the bot starts: its first getUpdates fetches (and journals) all of them at once.
    for i in range(N // 2):
        emu.user_sends_text(FIRST_RESIDENT + i, _report(i))
    log = tmp_path / "bot.log"
    bot = _start_bot(emu, url, adapter, log)
    try:
        # Kill it as soon as two work orders exist: the rest of the batch is journaled, not handled.
        # Generous: start-up alone has taken 30 s+ on a saturated 2-core machine.
        await _orders_at_least(tmp_path / "gridbot.db", 2, bot, within=90)
        bot.send_signal(signal.SIGKILL)
        await _exited(bot, 10)
        at_kill = await _snapshot(url)
        on_the_wire = _sent_but_not_marked(emu, at_kill)
        # Messages keep arriving while the bot is down.
        for i in range(N // 2, N):
            emu.user_sends_text(FIRST_RESIDENT + i, _report(i))
        bot = _start_bot(emu, url, adapter, log)
        await emu.wait_for_messages(N, predicate=lambda m: _confirmation(m.text), since=0, timeout=120)
        bot.send_signal(signal.SIGTERM)  # graceful: drains what is in flight
        assert await _exited(bot, 20) == 0, log.read_text(errors="replace")[-3000:]
    finally:
        if bot.poll() is None:
            bot.kill()
            await _exited(bot, 10)

    # The kill landed where stock polling loses messages: fetched (confirmed to Telegram), not handled.
    assert at_kill["journaled_unhandled"] > 0, at_kill
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            orders = list(await session.scalars(select(WorkOrderRow)))
            unhandled = list(
                await session.scalars(select(TelegramUpdateRow).where(TelegramUpdateRow.handled_at.is_(None)))
            )
    finally:
        await engine.dispose()
    # Exactly one work order per message: none lost, none twice.
    assert sorted(o.text for o in orders) == sorted(_report(i) for i in range(N))
    assert unhandled == []
    # One confirmation per report.
    counts = {
        FIRST_RESIDENT + i: sum(_confirmation(m.text) for m in emu.sent(FIRST_RESIDENT + i)) for i in range(N)
    }
    # The in-flight bound: at most one message per sender (one here) was accepted by Telegram and not yet
    # marked sent when the process died; only that one may go out twice, and nothing else repeats.
    assert len(on_the_wire) <= 1, on_the_wire
    repeated = _repeated(emu)
    assert len(repeated) <= 1, repeated
    assert set(repeated) <= on_the_wire, (repeated, on_the_wire)
    resent = Counter(chat for chat, text in repeated if _confirmation(text))
    assert counts == {chat: 1 + resent[chat] for chat in counts}, counts


async def _orders_at_least(path: Path, count: int, bot: subprocess.Popen[bytes], *, within: float) -> None:
    """Watch the database until `count` orders exist: one plain connection kept open, reading outside any
    transaction, so it never waits for the bot's write lock nor holds it up (WAL: readers do not block)."""
    with contextlib.closing(sqlite3.connect(path, timeout=0.1, isolation_level=None)) as db:
        async with asyncio.timeout(within):
            while bot.poll() is None:
                try:
                    (found,) = db.execute("SELECT count(*) FROM work_orders").fetchone()
                except sqlite3.OperationalError:  # busy for a moment
                    found = 0
                if found >= count:
                    return
                await asyncio.sleep(0.003)
    raise AssertionError("the bot stopped before it opened any order")


def _sent_but_not_marked(emu: Emulator, at_kill: dict[str, Any]) -> set[tuple[int, str]]:
    """Rows still "sending" at the kill whose message Telegram (the emulator) had already accepted."""
    delivered = {(m.chat_id, m.text or "") for m in emu.sent()}
    return {row for row in at_kill["sending_rows"] if row in delivered}


def _repeated(emu: Emulator) -> dict[tuple[int, str], int]:
    """Messages that reached a chat more than once (every message here is unique: order numbers)."""
    seen = Counter((m.chat_id, m.text or "") for m in emu.sent())
    return {key: n - 1 for key, n in seen.items() if n > 1}


async def _snapshot(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            sending = list(await session.scalars(select(OutboxRow).where(OutboxRow.status == "sending")))
            journaled = len(
                list(
                    await session.scalars(
                        select(TelegramUpdateRow).where(TelegramUpdateRow.handled_at.is_(None))
                    )
                )
            )
    finally:
        await engine.dispose()
    return {
        "sending_rows": {(row.chat_id, str(row.payload.get("text", ""))) for row in sending},
        "journaled_unhandled": journaled,
    }


async def _exited(process: subprocess.Popen[bytes], within: float) -> int:
    # In a thread: the emulator shares this event loop and must keep answering the bot meanwhile.
    return await asyncio.to_thread(process.wait, within)
