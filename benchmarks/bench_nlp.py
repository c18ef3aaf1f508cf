"""`gridbot classify` as a user runs it versus a bare jieba.lcut loop, both as processes, same run.

Corpus: 20,000 distinct messages built from the TRAINING sets (train_messages.csv, train_styles.csv) with
places, greetings and endings around them; nothing comes from the dev sets or the blind sets. Both
commands read the same file on stdin from a fresh process, so start-up (imports, dictionaries, rules,
the learned model) is included; classify writes its JSON lines to a file, the jieba loop writes nothing.
Each is run 3 times, interleaved, and the median is reported (with `classify --no-model`, the rules
alone, as a reference for where the time goes). Cold start is `echo x | gridbot classify`, median of 3.

Targets (issues 11 and 16): classify >= 1.5x faster than the jieba loop; cold start <= 0.4 s.

Run: make bench-nlp   (or .venv/bin/python benchmarks/bench_nlp.py)
"""

from __future__ import annotations

import csv
import json
import random
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


def timed(cmd: list[str], stdin: Path, stdout: Path | None = None) -> float:
    with stdin.open("rb") as fin, stdout.open("wb") if stdout else open("/dev/null", "wb") as fout:  # noqa: SIM115
        started = time.perf_counter()
        subprocess.run(cmd, stdin=fin, stdout=fout, check=True, cwd=ROOT)
        return time.perf_counter() - started


def main() -> int:
    if not GRIDBOT.exists():
        print(f"{GRIDBOT} not found: install gridbot into this environment first (make install)")
        return 1
    items = corpus()
    with tempfile.TemporaryDirectory() as tmp:
        messages, answers, one = Path(tmp) / "messages.txt", Path(tmp) / "answers.jsonl", Path(tmp) / "x.txt"
        messages.write_text("\n".join(items) + "\n", encoding="utf-8")
        one.write_text("x\n", encoding="utf-8")
        mean_len = sum(map(len, items)) / len(items)
        print(f"{len(items)} distinct messages from the training sets, mean length {mean_len:.1f} chars")
        classify_cmd, jieba_cmd = [str(GRIDBOT), "classify"], [sys.executable, "-c", JIEBA_LOOP]
        timed(jieba_cmd, one)  # jieba's dictionary cache exists before the first timed run of either
        classify_s, jieba_s, rules_s = [], [], []
        for _ in range(RUNS):
            classify_s.append(timed(classify_cmd, messages, answers))
            jieba_s.append(timed(jieba_cmd, messages))
            rules_s.append(timed([*classify_cmd, "--no-model"], messages))  # where the time goes
        results = [json.loads(line) for line in answers.read_text(encoding="utf-8").splitlines()]
        cold = [timed(classify_cmd, one) for _ in range(RUNS)]
    if len(results) != len(items):
        print(f"FAILED: {len(results)} answers for {len(items)} messages")
        return 1
    c, j, cold_s = statistics.median(classify_s), statistics.median(jieba_s), statistics.median(cold)
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
    r = statistics.median(rules_s)
    print(
        f"  for reference, classify --no-model (rules alone): {r:.2f} s {_runs(rules_s)}, {j / r:.2f}x jieba"
    )
    ratio = j / c
    print(
        f"speed-up classify vs jieba: {ratio:.2f}x   target >= {SPEEDUP_TARGET}x   {_verdict(ratio >= SPEEDUP_TARGET)}"
    )
    print(f"cold start (echo x | gridbot classify): {cold_s:.3f} s median of {RUNS} {_runs(cold)}")
    print(f"  target <= {COLD_TARGET} s   {_verdict(cold_s <= COLD_TARGET)}")
    return 0


def _runs(values: list[float]) -> str:
    return "(" + ", ".join(f"{v:.2f}" for v in values) + ")"


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


if __name__ == "__main__":
    raise SystemExit(main())
