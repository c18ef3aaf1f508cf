"""Issue 16's bot benchmark: gridbot (each adapter) against the echo bot of the same framework, on the full
report path, in the same run; and the handler timed in-process, with its SQL counted.

The world (benchmarks/bench_bot_data.py): a database already holding 100,000 orders (2 % open), the "me too"
check on, 30 % of residents unknown to the bot (their report is answered with the consent question), a
mix of twenty report texts.

1. End to end, per adapter (ptb, aiogram), each bot a fresh process against a fresh standalone emulator:
   - saturation: N reports posted at once; reports/s = answered residents / (last first answer - first
     post); every message the bot sent (to residents, members, grid groups) is counted too;
   - paced: reports at 20/s; p50/p99 of report -> first answer, as recorded at the emulator.
   The echo bot answers every message once: its msg/s is the reference (target: gridbot >= 0.3x).
2. In-process handler: `Core.handle` timed for >= 2,000 updates in this process (the bot's own classifier,
   storage, and sender with handed-over replies; a messenger that returns at once), consent presses
   included; p50/p99. Every SQL statement and commit is counted with SQLAlchemy events and printed per
   report (target: <= 12 statements and <= 2 commits per report on PostgreSQL).

One run of each; benchmarks on this shared 2-core machine are noisy (run again to see the spread).

Run: make bench-bot   (or .venv/bin/python benchmarks/bench_bot.py --help)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadkit  # noqa: E402  (after the path set-up so the script runs from anywhere)
from bench_bot_data import FIRST_RESIDENT, prepare, report_text  # noqa: E402
from loadkit import HEADER, Residents, Step, bot_env, emulator, percentile, scratch_database  # noqa: E402
from sqlalchemy import event  # noqa: E402

from bot.app import build_app  # noqa: E402
from bot.delivery.replies import OutboxSender  # noqa: E402
from bot.settings import Settings  # noqa: E402
from handlers.messages import Incoming, Reply  # noqa: E402
from storage import direct  # noqa: E402
from tools.emulator.server import DEFAULT_TOKEN  # noqa: E402

ADMIN_URL = os.environ.get("GRIDBOT_BENCH_ADMIN_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
RATIO, HANDLER_P99, E2E_P99, STATEMENTS, COMMITS = 0.3, 25.0, 60.0, 12, 2


def met(ok: bool) -> str:
    return "met" if ok else "MISSED"


async def end_to_end(
    kind: str, adapter: str, url: str | None, args: argparse.Namespace, tmp: Path
) -> tuple[Step, Step, int]:
    """(saturation, paced, messages sent in the saturation step) for `kind` = echo | gridbot."""
    with emulator() as api:
        if kind == "echo":
            cmd = ["-m", "tools.echo_bots", adapter, "--api-url", api, "--token", DEFAULT_TOKEN]
            env: dict[str, str] = {"PTB_TIMEDELTA": "1"}
        else:
            assert url is not None
            cmd, env = ["-m", "bot.cli.run"], bot_env(url, adapter, api)
        process = loadkit.start_process(cmd, env, tmp / f"{kind}-{adapter}.log")
        try:
            residents = Residents(api)
            async with residents.session():
                warm = await residents.step(10, 20, text_for=report_text, settle=60)
                assert warm.answered == warm.sent, f"{kind} {adapter} did not answer: see {tmp}"
                before = int((await residents._stats())["messages_sent"])
                saturation = await residents.step(100_000, args.reports, text_for=report_text, settle=120)
                await asyncio.sleep(2)  # the rest of each report's messages (cards, group posts)
                messages = int((await residents._stats())["messages_sent"]) - before
                paced = await residents.step(args.rate, args.paced, text_for=report_text, settle=60)
        finally:
            loadkit.stop(process)
    return saturation, paced, messages


class Quick:
    """A messenger that returns at once: the in-process part times the bot, not a network."""

    def __init__(self) -> None:
        self.ids = itertools.count(1)
        self.sent: list[Reply] = []

    async def send(self, reply: Reply, reply_to_message_id: int | None) -> int | None:
        self.sent.append(reply)
        return None if reply.edit_message_id else next(self.ids)


@dataclass
class InProcess:
    updates: int
    reports: int
    p50_ms: float
    p99_ms: float
    statements: int
    commits: int
    messages: int


async def in_process(url: str, samples: int) -> InProcess:
    """Time `Core.handle` on `samples` reports (plus the consent presses they lead to)."""
    os.environ["GRIDBOT_DATABASE_URL"] = url
    app = await build_app(Settings())
    quick = Quick()
    sender = OutboxSender(app.outbox, quick, delivery=app.settings.delivery)
    app.uow_factory.handoff = sender
    app.core.warm_up()
    counted = {"statements": 0, "commits": 0}

    def on_statement(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        counted["statements"] += not statement.startswith("BEGIN")

    def on_commit(_c: Any) -> None:
        counted["commits"] += 1

    def on_direct(sql: str, _statement: Any) -> None:
        # SQLite: statements run directly on the connection, and the sender's own transactions
        # (storage/direct); PostgreSQL: the sender's "sent" marks in autocommit, told as a COMMIT.
        # Counted as SQLAlchemy's events count the others.
        if sql == "COMMIT":
            counted["commits"] += 1
        elif sql not in ("BEGIN IMMEDIATE", "ROLLBACK"):
            counted["statements"] += 1

    timings: list[float] = []
    message_ids = itertools.count(1)

    async def handle(incoming: Incoming) -> None:
        started = time.perf_counter()
        await app.core.handle(incoming)
        timings.append((time.perf_counter() - started) * 1000)
        # What the running sender does when woken after the commit (bot/delivery/replies.py `run`): no
        # claim, and its last "sent" left for the next commit to carry (CARRY_WAIT at most).
        await sender.flush(claim=False, carry=True)

    try:
        for i in range(50):  # warm: first connections, the community's first load
            await handle(_text(10_000_000 + i, i, next(message_ids)))
        timings.clear()
        event.listen(app.engine.sync_engine, "before_cursor_execute", on_statement)
        event.listen(app.engine.sync_engine, "commit", on_commit)
        start = len(quick.sent)
        with direct.observe(on_direct):
            for i in range(samples):
                chat = FIRST_RESIDENT + i  # registered (70 %) or unknown, as bench_bot_data decides
                await handle(_text(chat, i, next(message_ids)))
                consent = _consent_button(quick.sent[-3:], chat)
                if consent is not None:  # an unknown resident: agree, and the report goes on
                    await handle(
                        Incoming(chat_id=chat, sender_id=chat, callback_data=consent, dedupe_key=f"cb:{chat}")
                    )
            await sender.settle()  # the last "sent", counted too
    finally:
        event.remove(app.engine.sync_engine, "before_cursor_execute", on_statement)
        event.remove(app.engine.sync_engine, "commit", on_commit)
        await app.close()
    ordered = sorted(timings)
    return InProcess(
        updates=len(timings),
        reports=samples,
        p50_ms=statistics.median(ordered),
        p99_ms=percentile(ordered, 0.99),
        statements=counted["statements"],
        commits=counted["commits"],
        messages=len(quick.sent) - start,
    )


def _text(chat: int, i: int, message_id: int) -> Incoming:
    return Incoming(
        chat_id=chat,
        sender_id=chat,
        sender_name=f"居民{i}",
        message_id=message_id,
        text=report_text(i),
        dedupe_key=f"m:{chat}:{message_id}",
    )


def _consent_button(replies: list[Reply], chat: int) -> str | None:
    for reply in replies:
        if reply.chat_id == chat:
            for row in reply.buttons:
                for button in row:
                    if button.text.startswith("同意"):
                        return button.data
    return None


async def part_end_to_end(args: argparse.Namespace, tmp: Path) -> None:
    print(
        f"\n1. End to end: {args.reports} reports at once (saturation), then {args.paced} at {args.rate:g}/s; "
        f"SQLite with {args.orders:,} past orders, polling, loopback emulator without flood limits"
    )
    for adapter in args.adapters:
        url = f"sqlite+aiosqlite:///{tmp / f'bench-{adapter}.db'}"
        await prepare(url, 20 + args.reports + args.paced, args.orders)
        echo = await end_to_end("echo", adapter, None, args, tmp)
        bot = await end_to_end("gridbot", adapter, url, args, tmp)
        print(f"\n{adapter}:")
        print(f"  {'':8} {'phase':11} {HEADER}   all messages sent")
        for kind, (saturation, paced, messages) in (("echo", echo), ("gridbot", bot)):
            print(f"  {kind:8} {'saturation':11} {saturation.row()}   {messages}")
            print(f"  {kind:8} {'paced':11} {paced.row()}")
        ratio = bot[0].throughput / echo[0].throughput if echo[0].throughput else float("nan")
        p99 = bot[1].p99_ms
        print(
            f"  gridbot reports/s / echo msg/s: {ratio:.2f}x (target >= {RATIO}: {met(ratio >= RATIO)}); "
            f"end-to-end p99 at {args.rate:g} reports/s: {p99:.1f} ms (target <= {E2E_P99:g}: "
            f"{met(p99 <= E2E_P99)}); gridbot sent {bot[2] / max(1, bot[0].answered):.2f} messages a report"
        )


async def part_in_process(args: argparse.Namespace, tmp: Path) -> None:
    print(f"\n2. In-process handler: {args.samples} reports, {args.orders:,} past orders")
    databases: list[tuple[str, Any]] = []
    if "sqlite" in args.databases:
        databases.append(("sqlite", None))
    if "postgresql" in args.databases:
        databases.append(("postgresql", scratch_database(args.admin_url)))
    for name, scratch in databases:
        if scratch is None:
            url = f"sqlite+aiosqlite:///{tmp / 'in-process.db'}"
            result = await _in_process_on(url, args)
        else:
            async with scratch as url:
                result = await _in_process_on(url, args)
        per_report_statements = result.statements / result.reports
        per_report_commits = result.commits / result.reports
        print(
            f"  {name:10} {result.updates} updates ({result.reports} reports + consent presses), "
            f"{result.messages} messages: handler p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms "
            f"(target <= {HANDLER_P99:g}: {met(result.p99_ms <= HANDLER_P99)}); per report "
            f"{per_report_statements:.1f} statements, {per_report_commits:.3f} commits"
            + (
                f" (targets <= {STATEMENTS} and <= {COMMITS}: {met(per_report_statements <= STATEMENTS)}, "
                f"{met(per_report_commits <= COMMITS)})"
                if name == "postgresql"
                else ""
            )
        )


async def _in_process_on(url: str, args: argparse.Namespace) -> InProcess:
    await prepare(url, args.samples, args.orders)
    return await in_process(url, args.samples)


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        if args.part in ("all", "e2e"):
            await part_end_to_end(args, Path(tmp))
        if args.part in ("all", "handler"):
            await part_in_process(args, Path(tmp))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--part", choices=["all", "e2e", "handler"], default="all")
    parser.add_argument("--reports", type=int, default=300, help="reports posted at once (saturation)")
    parser.add_argument("--paced", type=int, default=400, help="reports for the latency phase")
    parser.add_argument("--rate", type=float, default=20.0, help="pace of the latency phase, reports/s")
    parser.add_argument("--samples", type=int, default=2000, help="in-process reports timed")
    parser.add_argument("--orders", type=int, default=100_000, help="past orders in the database")
    parser.add_argument("--adapters", nargs="+", default=["ptb", "aiogram"], choices=["ptb", "aiogram"])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--admin-url", default=ADMIN_URL, help="PostgreSQL URL allowed to CREATE DATABASE")
    parser.add_argument("--tmp", default=None, help="directory for the databases (e.g. /dev/shm: no fsync)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
