"""Broadcast delivery against the Bot API emulator: achieved rate vs the configured limit, 429s, duplicates, losses.

Two runs, each on a fresh SQLite database (or --database-url) with N recipients:
1. the emulator enforces 30 msg/s and the sender is configured for 30 msg/s (Telegram's limit);
2. both raised to 1,000 msg/s, to show the sender's own ceiling (one message in flight, one commit each).

The emulator runs as its own process (standalone mode) so it does not share an event loop with the sender;
counts are taken at the emulator. At 30 msg/s, 10,000 recipients take about 5.5 minutes.

Run: make bench-broadcast   (or .venv/bin/python benchmarks/bench_broadcast.py --recipients 10000)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadkit import emulator  # noqa: E402  (after the path set-up so the script runs from anywhere)
from sqlalchemy import insert  # noqa: E402

from bot.delivery.broadcasts import BroadcastSender, telegram_messenger  # noqa: E402
from bot.settings import BroadcastSettings, DeliverySettings  # noqa: E402
from handlers.broadcasts.model import Campaign, Topic  # noqa: E402
from handlers.broadcasts.planning import approve, create, plan_due  # noqa: E402
from handlers.broadcasts.requests import BroadcastRequest  # noqa: E402
from storage.database import make_engine, make_session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import ResidentRow  # noqa: E402
from storage.queues.broadcasts import SqlDeliveryQueue  # noqa: E402
from storage.uow import SqlUnitOfWorkFactory  # noqa: E402
from tools.clock import FixedClock  # noqa: E402
from tools.emulator.server import DEFAULT_TOKEN  # noqa: E402

FIRST_CHAT = 80_000_001


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - loopback emulator only
        return json.loads(response.read())


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(  # noqa: S310 - loopback emulator only
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return json.loads(response.read())


async def _prepare(url: str, recipients: int) -> tuple[SqlDeliveryQueue, int]:
    engine = make_engine(url)
    await upgrade(engine)
    clock = FixedClock()  # a working-day morning, whenever the benchmark runs
    factory = SqlUnitOfWorkFactory(make_session_factory(engine), clock)
    async with factory() as uow:
        rows = [
            {"chat_id": FIRST_CHAT + i, "name": "居民", "consented_at": clock.now(), "phone_consent": False}
            for i in range(recipients)
        ]
        for start in range(0, len(rows), 1000):
            await uow.session.execute(insert(ResidentRow), rows[start : start + 1000])
        await uow.broadcasts.save_campaign(
            Campaign("bench", "燃气安全小提醒", Topic.GAS_SAFETY, "用完关阀门。")
        )
        made = await create(uow, clock, BroadcastRequest(campaign="bench"), None)
        assert made.id is not None
        await approve(uow, clock, made.id, None)
        await uow.commit()
    started = time.perf_counter()
    await plan_due(factory, clock)
    print(f"  expanded {recipients:,} deliveries in one transaction: {time.perf_counter() - started:.2f}s")
    return SqlDeliveryQueue(factory.session_factory, clock), made.id


async def run(rate: float, recipients: int, database_url: str | None) -> dict[str, Any]:
    with emulator() as base:
        _post(f"{base}/_emulator/rate_limit", {"overall_per_second": rate})
        with tempfile.TemporaryDirectory() as tmp:
            url = database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
            queue, broadcast_id = await _prepare(url, recipients)
            delivery = DeliverySettings(sender_name="bench", batch_size=50)
            broadcast = BroadcastSettings(rate_per_second=rate)
            async with telegram_messenger(DEFAULT_TOKEN, base) as messenger:
                sender = BroadcastSender(queue, messenger, delivery, broadcast)
                started = time.perf_counter()
                stats = await sender.drain()
                elapsed = time.perf_counter() - started
            ledger = await queue.deliveries_per_chat(broadcast_id)
        sent = _get(f"{base}/_emulator/sent")
        requests = _get(f"{base}/_emulator/requests?method=sendMessage")
    per_chat = Counter(m["chat_id"] for m in sent)
    times = sorted(m["time"] for m in sent)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    achieved = (len(times) - 1) / span if span else 0.0
    refused = [r for r in requests if r["error_code"] == 429]
    return {
        "configured": rate,
        "recipients": recipients,
        "sent": len(sent),
        "achieved": achieved,
        "ratio": achieved / rate,
        "elapsed": elapsed,
        "429_total": len(refused),
        "429_after_first": max(0, len(refused) - 1),
        "duplicates": sum(1 for n in per_chat.values() if n > 1),
        "losses": recipients - len(per_chat),
        "ledger_sent": sum(1 for s in ledger.values() if s == ["sent"]),
        "sender_429": stats.rate_limited,
    }


def _report(r: dict[str, Any]) -> None:
    print(
        f"  {r['sent']:,} messages to {r['recipients']:,} recipients in {r['elapsed']:.1f}s: "
        f"{r['achieved']:.1f} msg/s = {r['ratio']:.3f}x the configured {r['configured']:g} msg/s\n"
        f"  429s: {r['429_total']} ({r['429_after_first']} after the first) · duplicates: {r['duplicates']} · "
        f"losses: {r['losses']} · ledger rows sent: {r['ledger_sent']:,}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--ceiling-recipients", type=int, default=None, help="default: same as --recipients")
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--ceiling-rate", type=float, default=1000.0)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file per run")
    parser.add_argument("--skip-ceiling", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(f"run 1: emulator and sender at {args.rate:g} msg/s")
    _report(asyncio.run(run(args.rate, args.recipients, args.database_url)))
    if not args.skip_ceiling:
        n = args.ceiling_recipients or args.recipients
        print(f"run 2: limit raised to {args.ceiling_rate:g} msg/s (the sender's own ceiling)")
        _report(asyncio.run(run(args.ceiling_rate, n, args.database_url)))


if __name__ == "__main__":
    main()
