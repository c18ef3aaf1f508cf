"""Throughput of classify (rules + location) versus bare jieba.lcut on the same messages.

Generates >= 20,000 distinct messages deterministically from the dev set, locations and suffixes,
then times both in one run. Also measures cold start (load_classifier, and the lazy jieba load)
and, when installed, rjieba as a tokenizer, checking that its tokens equal jieba's.

Run: make bench-nlp   (or .venv/bin/python benchmarks/bench_nlp.py)
"""

from __future__ import annotations

import csv
import logging
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jieba  # noqa: E402  (after the path set-up so the script runs from anywhere)

from nlp import load_classifier  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COMPOUNDS = {
    "森源华府": ["森源"], "滨河花园": ["滨河"], "阳光上城": ["阳光"], "兴泰小区": ["兴泰"], "太平洋": [],
    "南通新区": ["南通"], "宝山丽湾": ["丽湾"], "宝山花园": [], "安居苑": ["安居"],
}  # fmt: skip
PLACES = ["", "{c}{b}号楼{u}单元{r}", "{c}{b}栋", "{c}{b}-{u}-{r}", "{b}#楼", "{c}"]
SUFFIXES = ["", " 咋办", " 麻烦尽快处理", "，谢谢", " 急急急", "！！", " 在线等", "。请网格员看一下"]
TARGET = 20_000


def messages() -> list[str]:
    with (ROOT / "tests/data/dev_messages.csv").open(encoding="utf-8") as fh:
        bases = [row["text"] for row in csv.DictReader(fh)]
    rng = random.Random(7)
    names = [n for name, aliases in COMPOUNDS.items() for n in (name, *aliases)]
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < TARGET:
        place = rng.choice(PLACES).format(
            c=rng.choice(names),
            b=rng.randint(1, 30),
            u=rng.randint(1, 6),
            r=rng.randint(1, 18) * 100 + rng.randint(1, 4),
        )
        text = f"{place} {rng.choice(bases)}{rng.choice(SUFFIXES)}".strip()
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def rate(func: Callable[[str], object], items: list[str]) -> float:
    started = time.perf_counter()
    for text in items:
        func(text)
    return len(items) / (time.perf_counter() - started)


def main() -> None:
    jieba.setLogLevel(logging.WARNING)
    items = messages()
    print(f"{len(items)} distinct messages, mean length {sum(map(len, items)) / len(items):.1f} chars")

    started = time.perf_counter()
    classifier = load_classifier(compounds=COMPOUNDS)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    classifier.tokenizer.warm_up()
    warm_s = time.perf_counter() - started
    print(
        f"cold start: load_classifier {load_s * 1000:.0f} ms; lazy jieba dictionary load {warm_s * 1000:.0f} ms"
    )

    jieba.initialize()
    jieba.lcut(items[0])
    classify_rate = rate(classifier.classify, items)
    jieba_rate = rate(jieba.lcut, items)
    print(f"classify (rules + location): {classify_rate:,.0f} msgs/s")
    print(f"bare jieba.lcut:             {jieba_rate:,.0f} msgs/s")
    print(f"ratio classify / jieba:      {classify_rate / jieba_rate:.2f}x (target >= 1, stretch >= 2)")

    try:
        import rjieba
    except ImportError:
        print("rjieba not installed: skipped")
        return
    rj = rjieba.Jieba()
    rj_rate = rate(rj.cut, items)
    same = sum(1 for text in items if rj.cut(text) == jieba.lcut(text))
    print(
        f"rjieba.cut: {rj_rate:,.0f} msgs/s ({rj_rate / jieba_rate:.1f}x jieba); identical tokens on "
        f"{same}/{len(items)} messages (default dictionaries)"
    )
    words = classifier.tokenizer.words
    for word in words:
        rj.add_word(word, None, None)
    same_user = sum(1 for text in items[:2000] if rj.cut(text) == classifier.tokenizer.cut(text))
    print(
        f"with gridbot's extra words added to both: identical on {same_user}/2000 (jieba user dict file not "
        f"loaded into rjieba)"
    )


if __name__ == "__main__":
    main()
