"""Kill a sender process in the middle of a 1,000-recipient broadcast, restart it, and count at the emulator.

The sender runs as a subprocess (`python -m bot.cli.broadcast send`) with the Telegram adapters' aiogram
messenger, against the emulator on loopback, on a SQLite file both processes share.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.broadcasts.model import Campaign, Topic
from handlers.broadcasts.planning import approve, create, plan_due
from handlers.broadcasts.requests import BroadcastRequest
from handlers.community.model import Resident
from storage.database import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.queues.broadcasts import SqlDeliveryQueue
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClock
from tools.emulator.server import Emulator

RECIPIENTS = 1_000
CHATS = range(70_000_001, 70_000_001 + RECIPIENTS)
ROOT = Path(__file__).resolve().parents[2]


async def _prepare(url: str) -> tuple[SqlDeliveryQueue, int, AsyncEngine]:
    engine = make_engine(url)
    await upgrade(engine)
    clock = FakeClock()
    factory = SqlUnitOfWorkFactory(make_session_factory(engine), clock)
    async with factory() as uow:
        for chat in CHATS:
            await uow.residents.save(Resident(None, chat, "居民", consented_at=clock.now()))
        await uow.broadcasts.save_campaign(Campaign("c", "燃气安全小提醒", Topic.GAS_SAFETY, "用完关阀门。"))
        made = await create(uow, clock, BroadcastRequest(campaign="c"), None)
        assert made.id is not None
        await approve(uow, clock, made.id, None)
        await uow.commit()
    assert await plan_due(factory, clock) == 1
    return SqlDeliveryQueue(factory.session_factory, clock), made.id, engine


async def _sender(url: str, emu: Emulator) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "GRIDBOT_DATABASE_URL": url,
        "GRIDBOT_BOT_TOKEN": emu.token,
        "GRIDBOT_TELEGRAM_API_URL": emu.url,
        "GRIDBOT_BROADCAST_RATE_PER_SECOND": "400",
        "GRIDBOT_BROADCAST_SENDER_NAME": "e2e-sender",
        "GRIDBOT_LOG_LEVEL": "WARNING",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli.broadcast",
        "send",
        "--until-idle",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _finish(process: asyncio.subprocess.Process) -> str:
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def _kill(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGKILL)
    await process.communicate()
    assert process.returncode == -signal.SIGKILL


async def test_sigkill_while_waiting_out_a_429_then_restart_sends_each_message_exactly_once(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'broadcast.db'}"
    queue, broadcast_id, engine = await _prepare(url)
    async with Emulator(strict_chats=False) as emu:
        first = await _sender(url, emu)
        await emu.wait_for_messages(400, timeout=60, since=0)
        # The next send is refused with a 429: nothing is in flight while the sender waits it out,
        # so killing it now must lose nothing and repeat nothing.
        mark = emu.checkpoint()
        emu.inject_429("sendMessage", retry_after=5)
        await emu.wait_for_request("sendMessage", lambda r: r.error_code == 429, since=mark, timeout=30)
        await _kill(first)
        sent_before = len(emu.sent())
        assert 400 <= sent_before < RECIPIENTS

        output = await _finish(await _sender(url, emu))
        assert f"sent {RECIPIENTS - sent_before}," in output

        per_chat = Counter(m.chat_id for m in emu.sent())
    assert set(per_chat) == set(CHATS)
    assert max(per_chat.values()) == 1  # verified at the emulator: nobody got it twice
    ledger = await queue.deliveries_per_chat(broadcast_id)
    assert len(ledger) == RECIPIENTS
    assert all(statuses == ["sent"] for statuses in ledger.values())
    await engine.dispose()


async def test_sigkill_at_any_moment_repeats_at_most_the_one_message_in_flight(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'broadcast.db'}"
    queue, broadcast_id, engine = await _prepare(url)
    async with Emulator(strict_chats=False) as emu:
        first = await _sender(url, emu)
        await emu.wait_for_messages(300, timeout=60, since=0)
        await _kill(first)
        await _finish(await _sender(url, emu))
        per_chat = Counter(m.chat_id for m in emu.sent())
    assert set(per_chat) == set(CHATS)
    assert sum(1 for n in per_chat.values() if n > 1) <= 1  # the documented window: one in-flight message
    assert max(per_chat.values()) <= 2
    ledger = await queue.deliveries_per_chat(broadcast_id)
    assert len(ledger) == RECIPIENTS
    assert all(statuses == ["sent"] for statuses in ledger.values())
    await engine.dispose()
