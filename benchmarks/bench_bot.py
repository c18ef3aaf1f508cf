"""Issue 4's benchmark: gridbot (each adapter) vs the minimal echo bot of the same framework.

For ptb and aiogram, in the same run and against the same kind of emulator (a fresh standalone process
each), on a fresh SQLite database for gridbot:

- saturation: N residents' reports posted at once; msgs/s = answered / (last answer - first post);
- latency: reports paced well below saturation; p50/p99 of report -> first answer (gridbot: the work-order
  confirmation; echo: the echo) as recorded at the emulator.

gridbot's handler classifies the text, opens a work order in one transaction (events, routing, outbox),
and sends three messages (the resident's confirmation, the member's card, the grid group's post); the echo
bot sends one. Targets (issue 4): gridbot >= 50% of echo's msgs/s; p99 <= 100 ms on SQLite.

Run: make bench-bot   (or .venv/bin/python benchmarks/bench_bot.py --reports 300)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadkit import (  # noqa: E402  (after the path set-up so the script runs from anywhere)
    HEADER,
    Residents,
    Step,
    bot_env,
    emulator,
    prepare,
    rss_mib,
    start_process,
    stop,
)

from tools.emulator.server import DEFAULT_TOKEN  # noqa: E402


async def measure(
    kind: str, adapter: str, reports: int, paced: int, rate: float, tmp: Path
) -> tuple[Step, Step, float]:
    """(saturation step, paced step, RSS MiB) for `kind` = echo | gridbot."""
    with emulator() as api:
        if kind == "echo":
            args = ["-m", "tools.echo_bots", adapter, "--api-url", api, "--token", DEFAULT_TOKEN]
            env: dict[str, str] = {"PTB_TIMEDELTA": "1"}
        else:
            url = f"sqlite+aiosqlite:///{tmp / f'bench-{adapter}.db'}"
            await prepare(url, 20 + reports + paced)
            args, env = ["-m", "bot.cli.run"], bot_env(url, adapter, api)
        process = start_process(args, env, tmp / f"{kind}-{adapter}.log")
        try:
            residents = Residents(api)
            async with residents.session():
                warm = await residents.step(10, 20, settle=60)  # start-up, jieba, first connections
                assert warm.answered == warm.sent, f"{kind} {adapter} did not answer: see {tmp}"
                saturation = await residents.step(100_000, reports, settle=120)
                latency = await residents.step(rate, paced, settle=60)
            memory = rss_mib(process.pid)
        finally:
            stop(process)
    return saturation, latency, memory


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        print(
            f"{args.reports} reports at once (saturation), then {args.paced} at {args.rate:g}/s (latency); "
            "SQLite, polling, loopback emulator without flood limits"
        )
        for adapter in args.adapters:
            results = {}
            for kind in ("echo", "gridbot"):
                results[kind] = await measure(kind, adapter, args.reports, args.paced, args.rate, Path(tmp))
            print(f"\n{adapter}:")
            print(f"  {'':8} {'phase':11} {HEADER}   RSS MiB")
            for kind, (saturation, latency, memory) in results.items():
                print(f"  {kind:8} {'saturation':11} {saturation.row()}   {memory:7.1f}")
                print(f"  {kind:8} {'paced':11} {latency.row()}")
            echo, bot = results["echo"][0], results["gridbot"][0]
            ratio = bot.throughput / echo.throughput if echo.throughput else float("nan")
            p99 = results["gridbot"][1].p99_ms
            print(
                f"  gridbot/echo msgs/s: {ratio:.2f}x (target >= 0.50: {'met' if ratio >= 0.5 else 'NOT met'}); "
                f"gridbot p99 paced: {p99:.1f} ms (target <= 100: {'met' if p99 <= 100 else 'NOT met'})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reports", type=int, default=300, help="reports posted at once (saturation)")
    parser.add_argument("--paced", type=int, default=50, help="reports for the latency phase")
    parser.add_argument("--rate", type=float, default=5.0, help="pace of the latency phase, reports/s")
    parser.add_argument("--adapters", nargs="+", default=["ptb", "aiogram"], choices=["ptb", "aiogram"])
    parser.add_argument("--tmp", default=None, help="directory for the databases (e.g. /dev/shm: no fsync)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
