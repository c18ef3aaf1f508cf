"""Issue 7's benchmark: throughput and latency under load (SQLite vs PostgreSQL, 1 vs 2 replicas), and the
cost of storage growth (the order queries on 1,000,000 historical work orders, before and after indexes).

Part "load" (same run, same machine, a fresh database each):

- configurations: 1 replica on SQLite, 1 replica on PostgreSQL, 2 replicas on PostgreSQL; every one is
  `gridbot run --webhook` behind a round-robin proxy (deploy/nginx/gridbot.conf's site under nginx when
  nginx is installed, else tools/proxy.py, in its own process: benchmarks/front.py; --proxy chooses), with
  Redis for the shared send limits, against the standalone Bot API emulator (no flood limits);
- residents' reports (each opens a work order: classify, route, one transaction, three messages out) at
  increasing offered rates, a few seconds each, then a burst of N at once;
- per step: answered msgs/s (answered / (last answer - first post)), p50/p99 of report -> first answer
  (the resident's confirmation, as recorded at the emulator); per configuration: msgs/s at saturation (the
  best step), RSS of each replica at the end (max over the run), the host's speed meanwhile (a fixed loop
  timed every second: loadkit.host_probe), and the ratios 2 vs 1 replica and PostgreSQL vs SQLite;
- where the best step's CPU went (cpu_split.py, from /proc): CPU ms a report for the replicas, PostgreSQL,
  the emulator, the load generator, the proxy and Redis, and how busy the machine was — a configuration
  near 100 % is bound by the cores, one well below by its own chains;
- PostgreSQL with 1 and with 2 replicas is measured in rounds (three by default), the order alternated
  within each (1, 2 / 2, 1 / 1, 2): these hosts' speed drifts by a quarter within minutes, so each round's
  ratio compares two runs minutes apart, and the target is judged on the median of the rounds' ratios
  (every round's figures printed).

Part "storage" (storage_growth.py): a fresh PostgreSQL database at migration 0005 filled with N historical
orders (see bench_storage_data.py), VACUUM ANALYZE; each SqlWorkOrderRepository query timed (median of
several runs, through the repository, so including row loading), with EXPLAIN (ANALYZE, BUFFERS) of its
SQL; then the migration 0006 (history indexes) is applied (timed) and everything measured again; speed-up
per query.

Run: make bench-load   (or .venv/bin/python benchmarks/bench_load.py [--quick] [--part storage] [--orders N])
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpu_split import CpuSplit, between, group_of, snapshot  # noqa: E402
from cpu_split import header as split_header  # noqa: E402
from cpu_split import row as split_row  # noqa: E402
from front import front_proxy, nginx_binary  # noqa: E402
from loadkit import (  # noqa: E402  (after the path set-up so the script runs from anywhere)
    HEADER,
    PROBE_EVERY,
    Residents,
    Step,
    bot_env,
    emulator,
    host_probe,
    prepare,
    rss_mib,
    scratch_database,
    start_process,
    stop,
)
from storage_growth import part_storage  # noqa: E402

from tools.loopback import free_port, listening  # noqa: E402

ADMIN_URL = os.environ.get("GRIDBOT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("GRIDBOT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
SECRET = "bench-secret_0123456789"
TWO_REPLICAS = 1.3  # issue 16: two replicas on PostgreSQL >= 1.3x one replica's saturation
PROXIES = {"nginx": "deploy/nginx's site under nginx", "python": "tools/proxy.py (Python)"}


# ----------------------------------------------------------------------------- part 1: load


async def redis_available(url: str) -> bool:
    try:
        from redis.asyncio import Redis
    except ImportError:
        return False
    client = Redis.from_url(url, socket_connect_timeout=1.0)
    try:
        await client.ping()
        return True
    except Exception:  # any failure to connect means "not available"
        return False
    finally:
        await client.aclose()


async def clean_redis(url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter("gridbot:rl:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@dataclass
class LoadResult:
    name: str
    steps: list[Step]
    rss: list[float]  # MiB per replica (max sampled over the run)
    splits: list[CpuSplit]  # where each step's CPU went (cpu_split.py), one per step
    saturation: float = 0.0
    best: Step | None = field(default=None)

    @property
    def best_split(self) -> CpuSplit:
        index = next(i for i, step in enumerate(self.steps) if step is self.best)
        return self.splits[index]


async def run_configuration(
    name: str, url: str, replicas: int, args: argparse.Namespace, tmp: Path
) -> LoadResult:
    rates: list[float] = args.rates
    total = 30 + sum(int(r * args.step_seconds) for r in rates) + args.burst
    await prepare(url, total)
    redis_url = REDIS_URL if args.redis else None
    if redis_url:
        await clean_redis(redis_url)
    ports = [free_port() for _ in range(replicas)]
    with (
        emulator() as api,
        front_proxy(ports, tmp, name, args.proxy) as hook,
    ):
        processes = []
        for i, port in enumerate(ports):
            env = bot_env(
                url,
                args.adapter,
                api,
                GRIDBOT_WEBHOOK_URL=hook,
                GRIDBOT_WEBHOOK_SECRET=SECRET,
                GRIDBOT_WEBHOOK_HOST="127.0.0.1",
                GRIDBOT_WEBHOOK_PORT=str(port),
                GRIDBOT_WEBHOOK_PATH="/telegram",
                GRIDBOT_BROADCAST_SENDER_NAME=f"bench-{i}",
                **({"GRIDBOT_REDIS_URL": redis_url} if redis_url else {}),
            )
            processes.append(
                start_process(["-m", "bot.cli.run", "--webhook"], env, tmp / f"{name}-replica{i}.log")
            )
        rss = [0.0] * replicas

        def sample() -> None:
            for i, process in enumerate(processes):
                if process.poll() is None:
                    rss[i] = max(rss[i], rss_mib(process.pid))

        which = group_of({process.pid for process in processes}, os.getpid())
        splits: list[CpuSplit] = []

        async def measured(rate: float, count: int, settle: float) -> Step:
            before = snapshot(which)
            step = await residents.step(rate, count, settle=settle)
            splits.append(between(before, snapshot(which)))
            return step

        try:
            for port in ports:
                await listening(port, 180)  # start-up on a busy 2-core machine: up to a minute or more
            residents = Residents(api)
            steps: list[Step] = []
            async with residents.session():
                warm = await residents.step(10, 30, settle=60)  # start-up, jieba, first connections
                assert warm.answered == warm.sent, f"{name} did not answer: see {tmp}"
                sample()
                for rate in rates:
                    count = max(1, int(rate * args.step_seconds))
                    steps.append(await measured(rate, count, args.settle))
                    sample()
                    print(f"    {name:14} {steps[-1].row()}", flush=True)
                if args.burst:
                    burst = await measured(100_000, args.burst, args.settle * 2)
                    burst.offered = float("inf")
                    steps.append(burst)
                    sample()
                    print(f"    {name:14} {burst.row()}", flush=True)
        finally:
            for process in processes:
                stop(process)
    if redis_url:
        await clean_redis(redis_url)
    result = LoadResult(name, steps, rss, splits)
    complete = [s for s in steps if s.answered == s.sent] or steps
    result.best = max(complete, key=lambda s: s.throughput)
    result.saturation = result.best.throughput
    return result


def round_order(index: int) -> tuple[int, int]:
    """Replicas of each configuration in round `index`, alternated (1, 2 / 2, 1 / 1, 2 …): the host's speed
    drifts by a quarter within minutes here, and a fixed order would give one side the same minutes."""
    return (1, 2) if index % 2 == 0 else (2, 1)


async def part_load(args: argparse.Namespace, tmp: Path) -> None:
    args.redis = await redis_available(REDIS_URL)
    print(
        f"\n== Load: {args.adapter}, webhook behind {PROXIES[args.proxy]}, Redis "
        f"{'on' if args.redis else 'OFF (not reachable)'}; rates {args.rates} /s for {args.step_seconds:g} s "
        f"each, then a burst of {args.burst}; {args.rounds} round(s) of PostgreSQL with 1 and 2 replicas, "
        f"alternated; {os.cpu_count()} CPUs shared by everything"
    )
    print(f"    {'config':14} {HEADER}")
    results: dict[str, LoadResult] = {}
    speed: dict[str, float] = {}

    async def measure(name: str, url: str, replicas: int) -> None:
        with host_probe() as readings:
            results[name] = await run_configuration(name, url, replicas, args, tmp)
        speed[name] = statistics.median(readings) if readings else float("nan")

    await measure("sqlite-1", f"sqlite+aiosqlite:///{tmp / 'bench-load.db'}", 1)
    for index in range(args.rounds):
        for replicas in round_order(index):
            async with scratch_database(args.admin_url) as url:
                await measure(
                    f"postgres-{replicas}" + (f"#{index + 1}" if args.rounds > 1 else ""), url, replicas
                )
    print(
        f"\n  {'configuration':14} {'msgs/s sat.':>11} {'steady':>7} {'at offered':>10} {'p50 ms':>8} "
        f"{'p99 ms':>8}  {'host probe':>10}  RSS MiB/replica"
    )
    for name, result in results.items():
        assert result.best is not None
        light = result.steps[0]
        print(
            f"  {name:14} {result.saturation:>11.1f} {result.best.steady:>7.1f} {result.best.offered:>10.0f} "
            f"{light.p50_ms:>8.1f} {light.p99_ms:>8.1f}  {speed[name]:>8.1f}ms  "
            f"{' / '.join(f'{r:.0f}' for r in result.rss)}"
        )
    print(f"  (p50/p99 at the lightest step, {args.rates[0]:g}/s; every step is listed above)")
    print(
        "  (steady: the best step's answers a second between its 10th and 90th percentile answer, without "
        "the\n   pipeline's fill and drain; shown beside the judged figure, msgs/s sat., not instead of it)"
    )
    print(
        f"  (host probe: median CPU ms of a fixed loop run each {PROBE_EVERY:g} s meanwhile; lower is a faster host)"
    )
    print(
        "\n  Where the CPU went in each configuration's best step: CPU ms a report answered, per group of "
        "processes\n  (/proc; 'other': the machine's busy time no group accounts for), and how busy the "
        f"machine's {os.cpu_count()} CPUs were"
    )
    print(f"  {'configuration':14} {split_header()}")
    for name, result in results.items():
        assert result.best is not None
        print(f"  {name:14} {split_row(result.best_split, result.best.answered)}")

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x" if b else "n/a"

    rounds = []
    for index in range(args.rounds):
        tag = f"#{index + 1}" if args.rounds > 1 else ""
        rounds.append((results[f"postgres-1{tag}"], results[f"postgres-2{tag}"]))
    ratios = [p2.saturation / p1.saturation if p1.saturation else 0.0 for p1, p2 in rounds]
    for index, ((p1, p2), value) in enumerate(zip(rounds, ratios, strict=True)):
        print(
            f"  round {index + 1}: 2 vs 1 replica (PostgreSQL) msgs/s {p2.saturation:.1f} / {p1.saturation:.1f} "
            f"= {value:.2f}x"
        )
    middle = statistics.median(ratios)
    label = f"median of {len(ratios)} rounds" if len(ratios) > 1 else "one round"
    print(
        f"  2 vs 1 replica (PostgreSQL), {label}: {middle:.2f}x (target >= {TWO_REPLICAS}: {met(middle >= TWO_REPLICAS)})"
    )
    steady = [p2.best.steady / p1.best.steady for p1, p2 in rounds if p1.best and p2.best]
    if steady:
        print(
            f"  (the same rounds' steady rates, not judged: {' / '.join(f'{r:.2f}x' for r in steady)}, "
            f"median {statistics.median(steady):.2f}x)"
        )
    s1, (p1, p2) = results["sqlite-1"], rounds[0]
    print(f"  PostgreSQL vs SQLite (1 replica, round 1): msgs/s {ratio(p1.saturation, s1.saturation)}")
    for i, rate in enumerate(args.rates):
        print(
            f"  at {rate:g}/s (round 1): p50 PG/SQLite {ratio(p1.steps[i].p50_ms, s1.steps[i].p50_ms)}, "
            f"p99 PG/SQLite {ratio(p1.steps[i].p99_ms, s1.steps[i].p99_ms)}; "
            f"p99 2/1 replicas {ratio(p2.steps[i].p99_ms, p1.steps[i].p99_ms)}"
        )


def met(ok: bool) -> str:
    return "met" if ok else "MISSED"


# ----------------------------------------------------------------------------- main


async def main_async(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    if args.part in ("all", "storage"):
        await part_storage(args)
    if args.part in ("all", "load"):
        with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
            await part_load(args, Path(tmp))
    print(f"\n(bench-load took {time.perf_counter() - started:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--part", choices=["all", "load", "storage"], default="all")
    parser.add_argument("--quick", action="store_true", help="fewer orders, rates and runs (~2 min)")
    parser.add_argument("--orders", type=int, default=None, help="historical orders (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=None, help="timed runs per query (median)")
    parser.add_argument("--rates", type=float, nargs="+", default=None, help="offered reports/s per step")
    parser.add_argument("--step-seconds", type=float, default=None, help="length of each rate step")
    parser.add_argument("--burst", type=int, default=None, help="reports posted at once after the steps")
    parser.add_argument(
        "--rounds", type=int, default=None, help="rounds of PostgreSQL with 1 and 2 replicas (default 3)"
    )
    parser.add_argument("--settle", type=float, default=30.0, help="max wait for a step's last answers, s")
    parser.add_argument("--adapter", choices=["ptb", "aiogram"], default="aiogram")
    parser.add_argument(
        "--proxy",
        choices=["nginx", "python"],
        default=None,
        help="in front of the replicas: deploy/nginx's site (default when nginx is installed) or tools/proxy.py",
    )
    parser.add_argument("--admin-url", default=ADMIN_URL, help="PostgreSQL URL allowed to CREATE DATABASE")
    parser.add_argument("--tmp", default=None, help="directory for the SQLite database and the logs")
    args = parser.parse_args()
    args.proxy = args.proxy or ("nginx" if nginx_binary() else "python")
    quick = args.quick
    args.orders = args.orders or (200_000 if quick else 1_000_000)
    args.runs = args.runs or (3 if quick else 7)
    args.rates = args.rates or ([5, 20, 80] if quick else [5, 10, 20, 40, 80, 160])
    args.step_seconds = args.step_seconds or (4.0 if quick else 6.0)
    args.burst = args.burst if args.burst is not None else (200 if quick else 400)
    args.rounds = max(1, args.rounds or (1 if quick else 3))
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
