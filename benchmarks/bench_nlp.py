"""`gridbot classify` as a user runs it versus a bare jieba.lcut loop, both as processes, same run.

Corpus: 20,000 distinct messages built from the TRAINING sets (train_messages.csv, train_styles.csv) with
places, greetings and endings around them; nothing comes from the dev sets or the blind sets. Both
commands read the same file on stdin from a fresh process, so start-up (imports, dictionaries, rules,
the learned model) is included; classify writes its JSON lines to a file, the jieba loop writes nothing.
Each is run 3 times, interleaved, and the median is reported, with `classify --jobs 1` (one process, no
workers) as a reference. Cold start is `echo x | gridbot classify`, median of 3.

Wall time decides the target. The CPU seconds each command used (its own and its workers') are printed
beside it: on a shared machine they say what the wall times cannot, how much work each side did.

Targets (issues 11 and 16): classify >= 1.5x faster than the jieba loop; cold start <= 0.4 s.

Run: make bench-nlp   (or .venv/bin/python benchmarks/bench_nlp.py)
"""

from __future__ import annotations

import csv
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GRIDBOT = Path(sys.executable).with_name("gridbot")
TRAIN_SETS = ("tests/data/train_messages.csv", "tests/data/train_styles.csv")
COMPOUNDS = [
    "森源华府",
    "森源",
    "滨河花园",
    "滨河",
    "阳光上城",
    "兴泰小区",
    "兴泰",
    "南通新区",
    "安居苑",
    "宝山丽湾",
]
PLACES = ["", "", "{c}{b}号楼{u}单元{r}", "{c}{b}栋", "{c}{b}-{u}-{r}", "{b}#楼", "{c}", "我是{c}的 "]
OPENINGS = ["", "", "你好，", "网格员你好 ", "麻烦问一下，", "[急] ", "打扰了 "]
ENDINGS = [
    "",
    "",
    " 咋办",
    " 麻烦尽快处理",
    "，谢谢",
    " 急急急",
    "！！",
    " 在线等",
    "。请网格员看一下",
    " 拜托了",
]
TARGET = 20_000
RUNS = 3
SPEEDUP_TARGET = 1.5
COLD_TARGET = 0.4
JIEBA_LOOP = """
import logging, sys
import jieba
jieba.setLogLevel(logging.WARNING)
for line in sys.stdin:
    jieba.lcut(line.rstrip("\\n"))
"""


def corpus() -> list[str]:
    bases: list[str] = []
    for name in TRAIN_SETS:
        with (ROOT / name).open(encoding="utf-8") as fh:
            bases.extend(row["text"] for row in csv.DictReader(fh))
    rng = random.Random(11)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < TARGET:
        place = rng.choice(PLACES).format(
            c=rng.choice(COMPOUNDS),
            b=rng.randint(1, 30),
            u=rng.randint(1, 6),
            r=rng.randint(1, 18) * 100 + rng.randint(1, 4),
        )
        text = f"{rng.choice(OPENINGS)}{place}{rng.choice(bases)}{rng.choice(ENDINGS)}".strip().replace(
            "\n", " "
        )
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def timed(cmd: list[str], stdin: Path, stdout: Path | None = None) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, the command's and its workers') of one run."""
    with stdin.open("rb") as fin, stdout.open("wb") if stdout else open("/dev/null", "wb") as fout:  # noqa: SIM115
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(cmd, stdin=fin, stdout=fout, check=True, cwd=ROOT)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    if not GRIDBOT.exists():
        print(f"{GRIDBOT} not found: install gridbot into this environment first (make install)")
        return 1
    items = corpus()
    with tempfile.TemporaryDirectory() as tmp:
        messages, answers, one = Path(tmp) / "messages.txt", Path(tmp) / "answers.jsonl", Path(tmp) / "x.txt"
        single = Path(tmp) / "single.jsonl"
        messages.write_text("\n".join(items) + "\n", encoding="utf-8")
        one.write_text("x\n", encoding="utf-8")
        mean_len = sum(map(len, items)) / len(items)
        print(f"{len(items)} distinct messages from the training sets, mean length {mean_len:.1f} chars")
        classify_cmd, jieba_cmd = [str(GRIDBOT), "classify"], [sys.executable, "-c", JIEBA_LOOP]
        timed(jieba_cmd, one)  # jieba's dictionary cache exists before the first timed run of either
        classify_s, jieba_s, alone_s = [], [], []
        for _ in range(RUNS):
            classify_s.append(timed(classify_cmd, messages, answers))
            jieba_s.append(timed(jieba_cmd, messages))
            alone_s.append(timed([*classify_cmd, "--jobs", "1"], messages, single))
        results = [json.loads(line) for line in answers.read_text(encoding="utf-8").splitlines()]
        same = answers.read_bytes() == single.read_bytes()
        cold = [timed(classify_cmd, one)[0] for _ in range(RUNS)]
    if len(results) != len(items) or not same:
        print(
            f"FAILED: {len(results)} answers for {len(items)} messages; workers and one process agree: {same}"
        )
        return 1
    c, j, a = (statistics.median(w for w, _ in runs) for runs in (classify_s, jieba_s, alone_s))
    cpu_c, cpu_j, cpu_a = (statistics.median(u for _, u in runs) for runs in (classify_s, jieba_s, alone_s))
    cold_s = statistics.median(cold)
    asked = sum(1 for r in results if r["model"] is not None)
    decided = sum(1 for r in results if r["decided_by"] == "model")
    print(
        f"gridbot classify (stdin -> stdout, start-up included): {c:.2f} s median of {RUNS} {_runs(classify_s)}"
    )
    print(
        f"bare jieba.lcut loop (same file, start-up included):    {j:.2f} s median of {RUNS} {_runs(jieba_s)}"
    )
    print(
        f"  the learned model was asked on {asked} messages ({asked / len(results):.1%}), decided {decided}"
    )
    print(f"  for reference, classify --jobs 1 (one process): {a:.2f} s {_runs(alone_s)}, {j / a:.2f}x jieba")
    print(
        f"  CPU seconds, median: classify {cpu_c:.2f}, --jobs 1 {cpu_a:.2f}, jieba {cpu_j:.2f}"
        f" (jieba / classify --jobs 1 = {cpu_j / cpu_a:.2f}x)"
    )
    ratio = j / c
    print(
        f"speed-up classify vs jieba: {ratio:.2f}x   target >= {SPEEDUP_TARGET}x   {_verdict(ratio >= SPEEDUP_TARGET)}"
    )
    print(f"cold start (echo x | gridbot classify): {cold_s:.3f} s median of {RUNS} {_runs_plain(cold)}")
    print(f"  target <= {COLD_TARGET} s   {_verdict(cold_s <= COLD_TARGET)}")
    return 0


def _runs(values: list[tuple[float, float]]) -> str:
    return "(" + ", ".join(f"{wall:.2f}" for wall, _ in values) + ")"


def _runs_plain(values: list[float]) -> str:
    return "(" + ", ".join(f"{v:.2f}" for v in values) + ")"


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


if __name__ == "__main__":
    raise SystemExit(main())
