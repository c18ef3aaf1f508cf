"""Two `gridbot run --webhook` replicas behind a round-robin proxy, one PostgreSQL database, one Redis.

The emulator's webhook points at a tiny proxy (like nginx with `proxy_next_upstream error`): each update
goes to the next replica, and to the other one when the connection fails. Residents stream reports while a
broadcast goes out to every resident; one replica is SIGKILLed mid-way and never comes back. The survivor
takes over what the dead one held: journaled but unhandled updates (after the lease), claimed outbox rows
and claimed broadcast deliveries (after the lease). Counted at the emulator and in the database:

- every report made exactly one work order, and its resident exactly one confirmation;
- every broadcast recipient got the broadcast exactly once;
- nothing is left pending (journal, outbox, deliveries).

The one window Telegram leaves open (no idempotency key): a message sent at the instant of the kill, not
yet recorded as sent, is sent again by the survivor. So at most one repeated confirmation (the killed
outbox sender's message in flight) and one repeated broadcast message (its broadcast sender's) are allowed,
and each only to a chat the killed replica held in "sending" at the kill.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from handlers.broadcasts.model import Campaign, Topic
from handlers.broadcasts.planning import approve, create, plan_due
from handlers.broadcasts.requests import BroadcastRequest
from handlers.community.model import Resident
from handlers.community.settings import ResidentSpec
from storage.database import make_engine, make_session_factory
from storage.models import BroadcastDeliveryRow, OutboxRow, TelegramUpdateRow, WorkOrderRow
from storage.uow import SqlUnitOfWorkFactory
from tests.e2e.gridbot_harness import open_chats
from tests.fakes import FakeClock
from tests.services import require
from tools.emulator.server import Emulator
from tools.example_community import example_spec, prepare_database
from tools.loopback import free_port, listening
from tools.proxy import RoundRobinProxy

pytestmark = [pytest.mark.replicas, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
ADMIN_URL = os.environ.get("GRIDBOT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("GRIDBOT_TEST_REPLICAS_REDIS_URL", "redis://127.0.0.1:6379/14")
REPORTERS = 60
FIRST_REPORTER = 9100
RECIPIENTS = 200
FIRST_RECIPIENT = 80_000_001
BROADCAST_TEXT = "天然气使用后请关闭阀门，谨防泄漏。"
SECRET = "replica-secret_0123456789"
LEASE_SECONDS = 4


def _report(i: int) -> str:
    # Letters only as a tag: digits would be read as building or room numbers.
    return "楼道灯坏了，晚上很黑 " + "".join(chr(ord("a") + int(d)) for d in f"{i:02d}")


def _broadcast(message_text: str | None) -> bool:
    return BROADCAST_TEXT in (message_text or "")


def _confirmation(message_text: str | None) -> bool:
    return "已为您生成工单" in (message_text or "")


async def _service_problems() -> str | None:
    from redis.asyncio import Redis

    engine = make_engine(ADMIN_URL)
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=1.0)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("select 1"))
        await client.ping()
        return None
    except Exception as error:  # any failure to connect means "not available"
        return f"{type(error).__name__}: {error}"
    finally:
        await engine.dispose()
        await client.aclose()


@pytest.fixture
async def database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for both replicas (dropped afterwards), Redis keys cleaned."""
    problem = await _service_problems()
    require(problem, "PostgreSQL and Redis")
    name = f"gridbot_replicas_{uuid.uuid4().hex[:8]}"
    admin = make_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
        from redis.asyncio import Redis

        client = Redis.from_url(REDIS_URL)
        try:
            keys = [key async for key in client.scan_iter("gridbot:rl:*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


async def _prepare(url: str) -> None:
    """Migrate, import the community with the reporters, add the broadcast audience, plan the broadcast."""
    spec = example_spec()
    # One reporter per building: the same problem twice in one building would be offered as a duplicate.
    homes = [(c.name, b.number) for c in spec.compounds for b in c.buildings]
    reporters = tuple(
        ResidentSpec(f"居民{i}", FIRST_REPORTER + i, *homes[i], None, None, consented=True)
        for i in range(REPORTERS)
    )
    await prepare_database(url, dataclasses.replace(spec, residents=spec.residents + reporters))
    engine = make_engine(url)
    clock = FakeClock()  # a weekday morning: no quiet hours in the way of planning
    try:
        factory = SqlUnitOfWorkFactory(make_session_factory(engine), clock)
        async with factory() as uow:
            for chat in range(FIRST_RECIPIENT, FIRST_RECIPIENT + RECIPIENTS):
                await uow.residents.save(Resident(None, chat, "居民", consented_at=clock.now()))
            await uow.broadcasts.save_campaign(Campaign("gas", "燃气安全", Topic.GAS_SAFETY, BROADCAST_TEXT))
            made = await create(uow, clock, BroadcastRequest(campaign="gas"), None)
            assert made.id is not None
            await approve(uow, clock, made.id, None)
            await uow.commit()
        assert await plan_due(factory, clock) == 1
    finally:
        await engine.dispose()


def _start_replica(
    name: str, adapter: str, url: str, emu: Emulator, proxy: RoundRobinProxy, port: int, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "GRIDBOT_DATABASE_URL": url,
        "GRIDBOT_TRANSPORT": adapter,
        "GRIDBOT_BOT_TOKEN": emu.token,
        "GRIDBOT_TELEGRAM_API_URL": emu.url,
        "GRIDBOT_WEBHOOK_URL": proxy.url,
        "GRIDBOT_WEBHOOK_SECRET": SECRET,
        "GRIDBOT_WEBHOOK_HOST": "127.0.0.1",
        "GRIDBOT_WEBHOOK_PORT": str(port),
        "GRIDBOT_WEBHOOK_PATH": "/telegram",
        "GRIDBOT_REDIS_URL": REDIS_URL,
        "GRIDBOT_UPDATE_WORKERS": "4",
        "GRIDBOT_SHUTDOWN_TIMEOUT": "5",
        "GRIDBOT_LOG_LEVEL": "INFO",
        # Shared by both replicas through Redis: fast enough for a short test, slow enough that the
        # broadcast is still going when a replica is killed.
        "GRIDBOT_SEND_OVERALL_PER_SECOND": "80",
        "GRIDBOT_SEND_PER_CHAT_PER_SECOND": "20",
        "GRIDBOT_SEND_PER_CHAT_BURST": "20",
        "GRIDBOT_BROADCAST_RATE_PER_SECOND": "60",
        "GRIDBOT_BROADCAST_BATCH_SIZE": "10",
        "GRIDBOT_BROADCAST_SENDER_NAME": name,
        "GRIDBOT_BROADCAST_LEASE_SECONDS": str(LEASE_SECONDS),
        "PTB_TIMEDELTA": "1",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli.run", "--webhook"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def _counts(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            outbox = dict(
                (
                    await session.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status))
                ).all()
            )
            deliveries = dict(
                (
                    await session.execute(
                        select(BroadcastDeliveryRow.status, func.count()).group_by(
                            BroadcastDeliveryRow.status
                        )
                    )
                ).all()
            )
            unhandled = await session.scalar(
                select(func.count())
                .select_from(TelegramUpdateRow)
                .where(TelegramUpdateRow.handled_at.is_(None))
            )
            sending_chats = set(
                await session.scalars(select(OutboxRow.chat_id).where(OutboxRow.status == "sending"))
            ) | set(
                await session.scalars(
                    select(BroadcastDeliveryRow.chat_id).where(BroadcastDeliveryRow.status == "sending")
                )
            )
            orders = list(await session.scalars(select(WorkOrderRow.text)))
    finally:
        await engine.dispose()
    return {
        "outbox": outbox,
        "deliveries": deliveries,
        "unhandled": int(unhandled or 0),
        "sending_chats": sending_chats,
        "orders": orders,
    }


async def _exited(process: subprocess.Popen[bytes], within: float) -> int:
    # In a thread: the emulator and the proxy share this event loop and must keep answering.
    return await asyncio.to_thread(process.wait, within)


async def test_two_replicas_one_killed_nothing_lost_nothing_twice(database: str, tmp_path: Path) -> None:
    url = database
    await _prepare(url)
    ports = [free_port(), free_port()]
    proxy = RoundRobinProxy([f"http://127.0.0.1:{p}/telegram" for p in ports])
    await proxy.start()
    replicas: list[subprocess.Popen[bytes]] = []
    logs = [tmp_path / "replica-a.log", tmp_path / "replica-b.log"]
    async with Emulator(strict_chats=False) as emu:
        try:
            open_chats(emu)
            replicas = [
                _start_replica("replica-a", "aiogram", url, emu, proxy, ports[0], logs[0]),
                _start_replica("replica-b", "ptb", url, emu, proxy, ports[1], logs[1]),
            ]
            for port in ports:
                await listening(port, 30)
            await emu.wait_for_request("setWebhook", timeout=30, since=0)

            first_half = REPORTERS // 2
            for i in range(first_half):
                emu.user_sends_text(FIRST_REPORTER + i, _report(i))
            # Kill replica A while both are busy: confirmations going out and the broadcast under way.
            await emu.wait_for_messages(10, predicate=lambda m: _confirmation(m.text), since=0, timeout=30)
            await emu.wait_for_messages(30, predicate=lambda m: _broadcast(m.text), since=0, timeout=30)
            replicas[0].send_signal(signal.SIGKILL)
            await _exited(replicas[0], 10)
            at_kill = await _counts(url)
            for i in range(first_half, REPORTERS):
                emu.user_sends_text(FIRST_REPORTER + i, _report(i))

            # The survivor finishes everything, including what the dead replica held (after its lease).
            await emu.wait_for_messages(
                REPORTERS, predicate=lambda m: _confirmation(m.text), since=0, timeout=40
            )
            async with asyncio.timeout(40):
                while True:
                    now = await _counts(url)
                    settled = (
                        now["unhandled"] == 0
                        and set(now["outbox"]) <= {"sent"}
                        and set(now["deliveries"]) == {"sent"}
                    )
                    if settled:
                        break
                    await asyncio.sleep(0.25)
            replicas[1].send_signal(signal.SIGTERM)
            assert await _exited(replicas[1], 20) == 0, logs[1].read_text(errors="replace")[-3000:]
        finally:
            for process in replicas:
                if process.poll() is None:
                    process.kill()
                    await _exited(process, 10)
            await proxy.close()
        sent = emu.sent()

    final = await _counts(url)
    # Both replicas did share the work, and the proxy moved on from the dead one.
    assert len(proxy.forwarded) == 2, proxy.forwarded
    # Exactly one work order per report.
    assert sorted(final["orders"]) == sorted(_report(i) for i in range(REPORTERS))
    assert final["unhandled"] == 0
    # The audience: our residents plus the example community's own (one delivery row each, all sent).
    assert set(final["deliveries"]) == {"sent"}
    assert final["deliveries"]["sent"] >= RECIPIENTS + REPORTERS
    assert set(final["outbox"]) == {"sent"}

    confirmations = Counter(m.chat_id for m in sent if _confirmation(m.text))
    assert set(confirmations) == {FIRST_REPORTER + i for i in range(REPORTERS)}
    broadcast = Counter(m.chat_id for m in sent if _broadcast(m.text))
    audience = {FIRST_REPORTER + i for i in range(REPORTERS)} | set(
        range(FIRST_RECIPIENT, FIRST_RECIPIENT + RECIPIENTS)
    )
    assert audience <= set(broadcast)
    # The documented window: only a message the killed replica had in flight may repeat, once.
    for counts in (confirmations, broadcast):
        repeated = {chat for chat, n in counts.items() if n > 1}
        assert len(repeated) <= 1, repeated
        assert max(counts.values()) <= 2
        assert repeated <= at_kill["sending_chats"], (repeated, at_kill["sending_chats"])
