"""Where a load step's CPU went, from /proc (Linux): per group of processes, and how busy the machine was.

bench-load's figures are throughput on two cores shared by everything on them. Whether a configuration
was bound by the cores (the machine busy near 100 %) or by its own chains (time left idle) decides how its
throughput can move, and the split says what each part costs a report: the replicas, PostgreSQL's
processes, the Bot API emulator and the load generator (which stand in for Telegram and residents), the
proxy, Redis. Read for a whole process group between two snapshots: a process started in between counts
all its CPU; one that ended in between is not seen by the second snapshot, and its CPU shows in "other".
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TICK = 1.0 / os.sysconf("SC_CLK_TCK")  # seconds a /proc CPU counter's unit is
GROUPS = ("replicas", "PostgreSQL", "emulator", "load gen.", "proxy", "Redis")


def _cpu_seconds(pid: str) -> float | None:
    """utime + stime of one process (its threads included), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK


def _command(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def group_of(replicas: set[int], me: int) -> Callable[[int, str], str | None]:
    """Which group a process (pid, command line) belongs to; None: not counted by name (it is still in
    the machine's total)."""

    def which(pid: int, command: str) -> str | None:
        if pid in replicas:
            return "replicas"
        if pid == me:
            return "load gen."
        if command.startswith("postgres") or command.split(" ", 1)[0].endswith("/postgres"):  # the postmaster
            return "PostgreSQL"
        if "tools.emulator.server" in command:
            return "emulator"
        if command.startswith("nginx") or "-m tools.proxy" in command:
            return "proxy"
        if command.startswith("redis-server"):
            return "Redis"
        return None

    return which


def _machine() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat's first line."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already in user
    return (total - idle) * TICK, total * TICK


@dataclass(frozen=True)
class Snapshot:
    per_process: dict[int, tuple[str, float]]  # pid -> (group, CPU seconds)
    busy: float
    total: float


def snapshot(which: Callable[[int, str], str | None]) -> Snapshot:
    """The CPU seconds of every named process, and the machine's."""
    per_process: dict[int, tuple[str, float]] = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        group = which(int(pid), _command(pid))
        if group is None:
            continue
        seconds = _cpu_seconds(pid)
        if seconds is not None:
            per_process[int(pid)] = (group, seconds)
    busy, total = _machine()
    return Snapshot(per_process, busy, total)


@dataclass(frozen=True)
class CpuSplit:
    seconds: dict[str, float]  # group -> CPU seconds between the snapshots
    busy: float  # the machine's busy CPU seconds meanwhile
    total: float  # the machine's CPU seconds meanwhile (busy + idle, all cores)

    @property
    def busy_share(self) -> float:
        return self.busy / self.total if self.total else float("nan")

    def per_report_ms(self, reports: int) -> dict[str, float]:
        """CPU ms a report per group, and "other" (the machine's busy time no group accounts for)."""
        if reports <= 0:
            return {}
        named = sum(self.seconds.values())
        shares = {group: self.seconds.get(group, 0.0) * 1000 / reports for group in GROUPS}
        shares["other"] = max(0.0, self.busy - named) * 1000 / reports
        return shares


def between(before: Snapshot, after: Snapshot) -> CpuSplit:
    seconds: dict[str, float] = {}
    for pid, (group, now) in after.per_process.items():
        then = before.per_process.get(pid, (group, 0.0))[1]
        seconds[group] = seconds.get(group, 0.0) + max(0.0, now - then)
    return CpuSplit(seconds, after.busy - before.busy, after.total - before.total)


def header() -> str:
    return " ".join(f"{g:>10}" for g in (*GROUPS, "other")) + f" {'busy':>6}"


def row(split: CpuSplit, reports: int) -> str:
    shares = split.per_report_ms(reports)
    return " ".join(f"{shares.get(g, 0.0):>10.2f}" for g in (*GROUPS, "other")) + f" {split.busy_share:>6.0%}"
