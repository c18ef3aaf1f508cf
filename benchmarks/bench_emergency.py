"""Issue 17's benchmark: the first seconds of an emergency, with everything else queued.

A resident writes that the stairwell is on fire; measured at the Bot API emulator, from just before the
resident's message is posted:
- advice: the 119 advice reaching that resident;
- alerts: the 🆘 card reaching each member of the community staff (the slower of the two counts).

Three situations, each on a fresh emulator and SQLite database, with gridbot (`gridbot run`, polling) at
Telegram's real pace (1 msg/s per chat with a burst of 3, 20 a minute per group, 30 msg/s overall) and the
emulator refusing more than 30 msg/s overall with 429:
(a) the resident has 60 messages already queued for their chat (60 reports in a burst: confirmations and
    the flood limit's answers), released at one a second;
(b) a 10,000-recipient campaign is delivering at the overall limit;
(c) both.
Targets (issue 17): advice p99 <= 2 s, staff alerts p99 <= 3 s. Printed as target vs measured, with the
429 answers the emulator gave meanwhile and the campaign's rate.

Run: make bench-emergency   (or .venv/bin/python benchmarks/bench_emergency.py --trials 15)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadkit import (  # noqa: E402  (after the path set-up so the script runs from anywhere)
    FIRST_RESIDENT,
    bot_env,
    emulator,
    percentile,
    resident_spec,
    start_process,
    stop,
)
from sqlalchemy import insert  # noqa: E402

from handlers.broadcasts.model import Campaign, Topic  # noqa: E402
from handlers.broadcasts.planning import approve, create, plan_due  # noqa: E402
from handlers.broadcasts.requests import BroadcastRequest  # noqa: E402
from handlers.workorders.texts import EMERGENCY_ADVICE  # noqa: E402
from storage.database import make_engine, make_session_factory  # noqa: E402
from storage.models import ResidentRow  # noqa: E402
from storage.uow import SqlUnitOfWorkFactory  # noqa: E402
from tools.clock import FixedClock  # noqa: E402
from tools.example_community import prepare_database  # noqa: E402

ADVICE_TARGET, ALERT_TARGET = 2.0, 3.0  # seconds, p99 (issue 17)
STAFF = (1001, 1002)  # the community staff of the example community: every fire's 🆘 card reaches them
FIRST_RECIPIENT = 80_000_001
QUEUED = 60  # messages already waiting for the resident's chat in (a) and (c)
PAUSE = 2.0  # seconds between two fire reports
REAL_PACE = {
    "GRIDBOT_SEND_PER_CHAT_PER_SECOND": "1",
    "GRIDBOT_SEND_PER_CHAT_BURST": "3",
    "GRIDBOT_SEND_PER_GROUP_PER_MINUTE": "20",
    "GRIDBOT_SEND_OVERALL_PER_SECOND": "30",
    "GRIDBOT_BROADCAST_RATE_PER_SECOND": "30",
}


@dataclasses.dataclass
class Result:
    situation: str
    advice: list[float]
    alerts: list[float]
    refused: int  # 429 answers during the trials
    campaign_rate: float  # campaign messages a second during the trials (0: none)

    def row(self) -> str:
        def figure(values: list[float], target: float) -> str:
            p99 = percentile(values, 0.99)
            verdict = "met" if p99 <= target else "NOT MET"
            return f"p50 {percentile(values, 0.5):5.2f} s  p99 {p99:5.2f} s (≤ {target:g} s: {verdict})"

        return (
            f"{self.situation:<34} advice {figure(self.advice, ADVICE_TARGET)} | "
            f"alerts {figure(self.alerts, ALERT_TARGET)} | 429s {self.refused} | "
            f"campaign {self.campaign_rate:4.1f} msg/s"
        )


async def _campaign(url: str, recipients: int) -> None:
    """`recipients` consenting residents and one approved campaign to all of them, expanded."""
    engine = make_engine(url)
    clock = FixedClock()
    factory = SqlUnitOfWorkFactory(make_session_factory(engine), clock)
    try:
        async with factory() as uow:
            rows = [
                {
                    "chat_id": FIRST_RECIPIENT + i,
                    "name": "居民",
                    "consented_at": clock.now(),
                    "phone_consent": False,
                }
                for i in range(recipients)
            ]
            for start in range(0, len(rows), 1000):
                await uow.session.execute(insert(ResidentRow), rows[start : start + 1000])
            await uow.broadcasts.save_campaign(
                Campaign("bench", "燃气安全小提醒", Topic.GAS_SAFETY, "用完关阀门，出门再检查一遍。")
            )
            made = await create(uow, clock, BroadcastRequest(campaign="bench"), None)
            assert made.id is not None
            await approve(uow, clock, made.id, None)
            await uow.commit()
        await plan_due(factory, clock)
    finally:
        await engine.dispose()


class Emulator:
    """The standalone emulator's control API."""

    def __init__(self, api: str, client: aiohttp.ClientSession) -> None:
        self.api, self.client = api, client

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        async with self.client.post(f"{self.api}/_emulator/{path}", json=body) as response:
            response.raise_for_status()
            return await response.json()

    async def get(self, path: str, **params: Any) -> Any:
        async with self.client.get(f"{self.api}/_emulator/{path}", params=params) as response:
            response.raise_for_status()
            return await response.json()

    async def first(self, since: int, match: Any, *, within: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = [m for m in await self.get("sent", since=since) if match(m)]
            if found:
                return dict(found[0])
            await asyncio.sleep(0.05)
        return None


def _tag(i: int) -> str:
    return "".join(chr(ord("a") + int(d)) for d in f"{i:03d}")  # letters: digits would read as rooms


async def _trial(
    emu: Emulator, db: sqlite3.Connection, resident: int, index: int, queued: int
) -> tuple[float, float]:
    """One fire report; (advice seconds, slowest alert seconds) after the resident's message."""
    if queued:
        for n in range(queued):
            await emu.post("user/text", {"user_id": resident, "text": f"楼道灯坏了 {_tag(index)}{_tag(n)}"})
        # Every report handled: its answer (a confirmation, or the flood limit's) waits in the outbox,
        # released at a message a second after the chat's burst.
        for _ in range(1200):
            (found,) = db.execute("SELECT count(*) FROM outbox WHERE chat_id = ?", (resident,)).fetchone()
            if found >= queued:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"only {found} of the {queued} reports were answered")
    since = int((await emu.get("stats"))["checkpoint"])
    fire = f"楼道里着火了，好多烟，快来人 {_tag(index)}"
    posted = time.monotonic()
    await emu.post("user/text", {"user_id": resident, "text": fire})
    advice_prefix = EMERGENCY_ADVICE["fire"][:8]
    advice = await emu.first(
        since, lambda m: m["chat_id"] == resident and (m["text"] or "").startswith(advice_prefix), within=60
    )
    alerts = []
    for chat in STAFF:
        card = await emu.first(
            since,
            lambda m, chat=chat: (
                m["chat_id"] == chat and "🆘" in (m["text"] or "") and fire in (m["text"] or "")
            ),
            within=60,
        )
        assert card is not None, f"staff {chat} not alerted within a minute"
        alerts.append(float(card["time"]) - posted)
    assert advice is not None, "no advice within a minute"
    return float(advice["time"]) - posted, max(alerts)


async def situation(name: str, adapter: str, trials: int, queued: int, recipients: int, tmp: Path) -> Result:
    path = tmp / f"{name[1]}.db"
    url = f"sqlite+aiosqlite:///{path}"
    await prepare_database(url, resident_spec(trials))
    if recipients:
        await _campaign(url, recipients)
    with emulator() as api:
        async with aiohttp.ClientSession() as client:
            emu = Emulator(api, client)
            await emu.post("rate_limit", {"overall_per_second": 30})
            process = start_process(
                ["-m", "bot.cli.run"], bot_env(url, adapter, api, **REAL_PACE), tmp / f"{adapter}.log"
            )
            try:
                # Started: a resident's first answer, and (with a campaign) its deliveries flowing.
                await emu.post("user/text", {"user_id": FIRST_RESIDENT + trials - 1, "text": "/help"})
                assert await emu.first(0, lambda m: m["chat_id"] == FIRST_RESIDENT + trials - 1, within=90)
                if recipients:
                    await asyncio.sleep(3)  # the campaign at full pace before the first trial
                checkpoint = int((await emu.get("stats"))["checkpoint"])
                began = time.monotonic()
                advice, alerts = [], []
                # Read outside any transaction: WAL readers neither wait for the bot nor hold it up.
                with contextlib.closing(sqlite3.connect(path, isolation_level=None, timeout=1)) as db:
                    for i in range(trials):
                        a, b = await _trial(emu, db, FIRST_RESIDENT + i, i, queued)
                        advice.append(a)
                        alerts.append(b)
                        # Fires a few seconds apart: the staff's own chats (one a second) are not the
                        # bottleneck measured here, as 15 fires in five seconds would make them.
                        await asyncio.sleep(PAUSE)
                span = time.monotonic() - began
                refused = [
                    r
                    for r in await emu.get("requests", method="sendMessage", since=checkpoint)
                    if r.get("error_code") == 429
                ]
                campaign = [
                    m for m in await emu.get("sent", since=checkpoint) if int(m["chat_id"]) >= FIRST_RECIPIENT
                ]
            finally:
                stop(process)
    return Result(name, advice, alerts, len(refused), len(campaign) / span if recipients else 0.0)


async def run(adapter: str, trials: int, recipients: int, only: str | None) -> list[Result]:
    situations = [
        ("(a) 60 queued for the resident", QUEUED, 0),
        (f"(b) campaign to {recipients:,}", 0, recipients),
        ("(c) both", QUEUED, recipients),
    ]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, queued, campaign in situations:
            if only and not name.startswith(f"({only})"):
                continue
            result = await situation(name, adapter, trials, queued, campaign, Path(tmp))
            print(result.row(), flush=True)
            results.append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--adapter", choices=("ptb", "aiogram"), default="aiogram")
    parser.add_argument("--trials", type=int, default=15, help="fire reports per situation")
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--only", choices=("a", "b", "c"), default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(
        f"gridbot ({args.adapter}, SQLite) at Telegram's pace; emulator refuses > 30 msg/s; "
        f"{args.trials} fire reports per situation; targets: advice p99 ≤ {ADVICE_TARGET:g} s, "
        f"staff alerts p99 ≤ {ALERT_TARGET:g} s"
    )
    asyncio.run(run(args.adapter, args.trials, args.recipients, args.only))


if __name__ == "__main__":
    main()
