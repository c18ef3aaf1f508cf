"""Shared parts of the benchmarks: a standalone emulator, bot processes, paced residents, scratch databases.

Everything runs on loopback. The emulator is its own process (so the bots and the load generator do not
share its event loop); residents' messages are posted to its control API at a chosen rate, and a
resident's *response time* is from just before that post to the emulator's record of the bot's first
message into that resident's chat (both clocks are CLOCK_MONOTONIC on the same machine).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from handlers.community.settings import CommunitySpec, ResidentSpec  # noqa: E402
from storage.database import make_engine  # noqa: E402
from tools.emulator.server import DEFAULT_TOKEN  # noqa: E402
from tools.example_community import example_spec, prepare_database  # noqa: E402
from tools.loopback import free_port  # noqa: E402

# Reports that classify as four different categories: with a resident per (building, category) no
# report is offered as a duplicate of another ("me too"), so each one opens a work order.
REPORTS = ("楼道灯坏了", "垃圾堆了好几天没人清理", "小区门口乱停车堵路", "噪音扰民楼上装修")
FIRST_RESIDENT = 5_000_000
FAST_SENDING = {
    # The emulator enforces no flood limit here: measure the bot, not the limiter.
    "GRIDBOT_SEND_PER_CHAT_PER_SECOND": "1000",
    "GRIDBOT_SEND_PER_CHAT_BURST": "1000",
    "GRIDBOT_SEND_PER_GROUP_PER_MINUTE": "100000",
    "GRIDBOT_SEND_OVERALL_PER_SECOND": "100000",
}


PROBE_EVERY = 1.0  # seconds between two readings of the host probe
_PROBE = """
import sys, time
while True:
    started = time.process_time()
    total = 0
    for i in range(50_000):
        total += i * i % 7
    print(f"{(time.process_time() - started) * 1000:.3f}", flush=True)
    time.sleep(float(sys.argv[1]))
"""


@contextmanager
def host_probe() -> Iterator[list[float]]:
    """The CPU's speed as a process sees it meanwhile: a process that times a fixed loop (its own CPU ms,
    ~0.5 % of a core) every PROBE_EVERY seconds; the list holds its readings once the block ends. The
    reading grows when the host lends the VM a slower share (these 2-vCPU hosts drift: a configuration's
    median reading was 5.5-9.0 ms one day, 3.9-4.3 ms the next) and when the machine is busier (caches
    shared with the load); it says how comparable two runs are, nothing more."""
    readings: list[float] = []
    process = subprocess.Popen(
        [sys.executable, "-c", _PROBE, str(PROBE_EVERY)], stdout=subprocess.PIPE, text=True
    )
    try:
        yield readings
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
        readings.extend(float(line) for line in out.split() if line)


def rss_mib(pid: int) -> float:
    """Resident set size of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def resident_spec(count: int) -> CommunitySpec:
    """The example community plus `count` consenting residents spread over its buildings; duplicate
    detection is turned off so that every report opens a work order (as a first report does)."""
    spec = example_spec()
    homes = [(c.name, b.number) for c in spec.compounds for b in c.buildings]
    residents = tuple(
        ResidentSpec(f"居民{i}", FIRST_RESIDENT + i, *homes[i % len(homes)], None, None, consented=True)
        for i in range(count)
    )
    return duplicate_window_off(dataclasses.replace(spec, residents=spec.residents + residents))


def report_text(i: int, homes: int = 65) -> str:
    return REPORTS[(i // homes) % len(REPORTS)]


async def prepare(url: str, residents: int) -> None:
    await prepare_database(url, resident_spec(residents))


@contextmanager
def emulator() -> Iterator[str]:
    """A standalone emulator process (no flood limits, any chat may be written to); yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.emulator.server", "--port", str(port), "--no-strict-chats"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        process.stdout.readline()  # "Bot API emulator on ..." once it listens
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@asynccontextmanager
async def scratch_database(admin_url: str) -> AsyncIterator[str]:
    """A fresh PostgreSQL database gridbot_bench_<hex> on the server of `admin_url`, dropped afterwards."""
    name = f"gridbot_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def start_process(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )


def bot_env(url: str, adapter: str, api: str, **extra: str) -> dict[str, str]:
    return {
        "GRIDBOT_DATABASE_URL": url,
        "GRIDBOT_TRANSPORT": adapter,
        "GRIDBOT_BOT_TOKEN": DEFAULT_TOKEN,
        "GRIDBOT_TELEGRAM_API_URL": api,
        "GRIDBOT_POLLING_TIMEOUT": "2",
        "GRIDBOT_LOG_LEVEL": "WARNING",
        "PTB_TIMEDELTA": "1",
        **FAST_SENDING,
        **extra,
    }


def stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@dataclass
class Step:
    offered: float  # messages a second sent
    sent: int
    answered: int
    throughput: float  # answered messages / (last answer - first send)
    p50_ms: float
    p99_ms: float
    # answers a second between the 10th and the 90th percentile answer: the rate once the pipeline is
    # full, without the first answers' wait nor the last ones' drain (a burst of 400 on a fast host
    # lasts ~1.5 s, of which the first tenth of the answers took a fifth)
    steady: float = float("nan")

    def row(self) -> str:
        return (
            f"{self.offered:>8.0f} {self.sent:>6} {self.answered:>6} {self.throughput:>9.1f} "
            f"{self.p50_ms:>8.1f} {self.p99_ms:>8.1f}"
        )


HEADER = f"{'offered':>8} {'sent':>6} {'answered':>6} {'msgs/s':>9} {'p50 ms':>8} {'p99 ms':>8}"


def steady_rate(answer_times: list[float]) -> float:
    """Answers a second between the 10th and the 90th percentile answer time (nan below 20 answers)."""
    if len(answer_times) < 20:
        return float("nan")
    times = sorted(answer_times)
    low, high = len(times) // 10, len(times) * 9 // 10
    span = times[high] - times[low]
    return (high - low) / span if span > 0 else float("nan")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[min(98, max(0, round(q * 100) - 1))]


class Residents:
    """Post residents' messages to the emulator and match the bot's first answer to each."""

    def __init__(self, api: str) -> None:
        self.api = api
        self._client: aiohttp.ClientSession | None = None
        self._next = 0

    @asynccontextmanager
    async def session(self) -> Any:
        async with aiohttp.ClientSession() as client:
            self._client = client
            yield self

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        assert self._client is not None
        async with self._client.post(f"{self.api}/_emulator/{path}", json=body) as response:
            response.raise_for_status()
            return await response.json()

    async def _stats(self) -> dict[str, Any]:
        assert self._client is not None
        async with self._client.get(f"{self.api}/_emulator/stats") as response:
            return dict(await response.json())

    async def _sent(self, since: int) -> list[dict[str, Any]]:
        assert self._client is not None
        async with self._client.get(f"{self.api}/_emulator/sent", params={"since": since}) as response:
            return list(await response.json())

    async def step(
        self, rate: float, count: int, *, text_for: Any = report_text, settle: float = 30.0
    ) -> Step:
        """Send `count` messages from fresh residents at `rate` a second; wait for every first answer."""
        since = int((await self._stats())["checkpoint"])
        posted: dict[int, float] = {}
        start = time.monotonic()

        async def one(index: int, chat: int, text: str) -> None:
            delay = start + index / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            posted[chat] = time.monotonic()
            await self._post("user/text", {"user_id": chat, "text": text})

        batch = []
        for index in range(count):
            i = self._next
            self._next += 1
            batch.append(one(index, FIRST_RESIDENT + i, text_for(i)))
        await asyncio.gather(*batch)
        first: dict[int, float] = {}
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline:
            # Only what is new since the last look: re-reading everything since the step began made the
            # emulator serialise thousands of messages five times a second, stalling the bot's sends.
            for message in await self._sent(since):
                since = max(since, int(message["seq"]))
                chat = int(message["chat_id"])
                if chat in posted and chat not in first:
                    first[chat] = float(message["time"])
            if len(first) == len(posted):
                break
            await asyncio.sleep(0.2)
        latencies = sorted((first[c] - posted[c]) * 1000 for c in first)
        span = max(first.values()) - min(posted.values()) if first else 0.0
        return Step(
            rate,
            len(posted),
            len(first),
            len(first) / span if span > 0 else 0.0,
            percentile(latencies, 0.50),
            percentile(latencies, 0.99),
            steady_rate(list(first.values())),
        )


def duplicate_window_off(spec: CommunitySpec) -> CommunitySpec:
    """No "me too" offers (for loads larger than buildings × categories)."""
    return dataclasses.replace(
        spec, settings=dataclasses.replace(spec.settings, duplicate_window=timedelta(microseconds=1))
    )
