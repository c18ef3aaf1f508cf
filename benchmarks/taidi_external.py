"""External check: rules mined by `rules suggest` versus a TF-IDF + linear baseline on taidi2020.

Reads ../shared/data/taidi2020_messages.csv (or $GRIDBOT_SHARED_DATA/taidi2020_messages.csv) and
never copies it. Stratified 80/20 split with a fixed seed; suggest parameters are chosen by 5-fold
cross-validation on the training part only, so the held-out part is scored once, at the end.

Then the combination gridbot runs (nlp/learned): the learned model trained on the training part, its
settings and the combination thresholds chosen by 5-fold cross-validation on the training part (the
rules' votes there are out-of-fold too: mined from the other folds), scored once on the held-out part
next to the rules alone, the model alone and the baseline. Target: combined >= 1.0x the baseline.

Run: .venv/bin/python benchmarks/taidi_external.py   (needs the `bench` extra: scikit-learn)
"""

from __future__ import annotations

import csv
import os
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlp.engine import RuleEngine  # noqa: E402  (path set up above so the script runs from anywhere)
from nlp.learned.combine import RulesView, combine  # noqa: E402
from nlp.learned.train import (  # noqa: E402
    Example,
    Params,  # noqa: E402
    export,
    fit,
    prepare,
)
from nlp.learned.tuning import MODEL_LEADS, UNSURE_CHOICES, choose_params, choose_policy  # noqa: E402
from nlp.learned.tuning import stratified_folds as index_folds  # noqa: E402
from nlp.quality.evaluation import LabelledRow, Report, evaluate  # noqa: E402
from nlp.quality.suggest import (  # noqa: E402
    RankedKeywords,
    rank_keywords,
    select_keywords,
    to_rules_data,
    to_rules_yaml,
)
from nlp.rules import parse_rules  # noqa: E402
from nlp.tokenizer import Tokenizer  # noqa: E402

SEED = 20260501
FOLDS = 5
MIN_COUNT = 3
# Keywords per label on average (each label's share scaled to its size), weight bound, phrases on/off.
TOP_CHOICES = (150, 300, 500, 800)
MAX_WEIGHT_CHOICES = (3.0, 5.0)
PHRASE_CHOICES = (False, True)
FILE_NAME = "taidi2020_messages.csv"
# Long messages (median 242 characters): ~190,000 n-grams, so fewer settings than gridbot's own grid.
LEARNED_GRID = tuple(Params(c=50.0, word_scale=s, class_weight="balanced") for s in (0.5, 1.0))


def data_path() -> Path:
    env = os.environ.get("GRIDBOT_SHARED_DATA")
    base = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared/data"
    return base / FILE_NAME


def stratified_split(rows: Sequence[LabelledRow], share: float, seed: int) -> tuple[list, list]:
    by_label: dict[str, list[LabelledRow]] = defaultdict(list)
    for row in rows:
        by_label[row.label].append(row)
    rng = random.Random(seed)
    train, test = [], []
    for label in sorted(by_label):
        items = by_label[label][:]
        rng.shuffle(items)
        cut = round(len(items) * share)
        train.extend(items[:cut])
        test.extend(items[cut:])
    return train, test


def stratified_folds(rows: Sequence[LabelledRow], k: int, seed: int) -> list[list[LabelledRow]]:
    """k folds, each label dealt round-robin after a seeded shuffle (so every fold has its share)."""
    by_label: dict[str, list[LabelledRow]] = defaultdict(list)
    for row in rows:
        by_label[row.label].append(row)
    rng = random.Random(seed)
    folds: list[list[LabelledRow]] = [[] for _ in range(k)]
    for label in sorted(by_label):
        items = by_label[label][:]
        rng.shuffle(items)
        for i, row in enumerate(items):
            folds[i % k].append(row)
    return folds


def rank(train: Sequence[LabelledRow], cut: Callable[[str], list[str]], phrases: bool) -> RankedKeywords:
    return rank_keywords(((r.text, r.label) for r in train), cut, min_count=MIN_COUNT, phrases=phrases)


def rules_engine(ranked: RankedKeywords, top: int, max_weight: float) -> RuleEngine:
    suggestions = select_keywords(ranked, top, max_weight, scale_by_size=True)
    # No abstaining on this benchmark: the baseline never abstains either.
    data = to_rules_data(suggestions, min_score=0.0, ambiguity_margin=0.0)
    return RuleEngine(parse_rules(data, source="suggested"))


def cross_validate(
    train: Sequence[LabelledRow], cut: Callable[[str], list[str]]
) -> dict[tuple[int, float, bool], float]:
    """Mean macro-F1 over FOLDS folds of the training part for every parameter choice."""
    folds = stratified_folds(train, FOLDS, SEED + 1)
    totals: dict[tuple[int, float, bool], float] = defaultdict(float)
    for i, dev in enumerate(folds):
        inner = [row for j, fold in enumerate(folds) if j != i for row in fold]
        for phrases in PHRASE_CHOICES:
            ranked = rank(inner, cut, phrases)
            for top in TOP_CHOICES:
                for max_weight in MAX_WEIGHT_CHOICES:
                    f1 = evaluate(dev, rules_engine(ranked, top, max_weight).predict).macro_f1
                    totals[(top, max_weight, phrases)] += f1 / FOLDS
    return dict(totals)


def learned_reports(
    train: Sequence[LabelledRow],
    test: Sequence[LabelledRow],
    tokenizer: Tokenizer,
    cut: Callable[[str], list[str]],
    best: tuple[int, float, bool],
    engine: RuleEngine,
) -> tuple[Report, Report]:
    """The learned model alone and combined with the mined rules, scored on the held-out part."""
    top, max_weight, phrases = best
    items = prepare([Example(r.text, r.label) for r in train], tokenizer.cut_all)
    gold = [r.label for r in train]
    folds = index_folds(gold, FOLDS, SEED + 2)
    params, votes, _ = choose_params(items, folds, emergency=None, grid=LEARNED_GRID)
    views: list[RulesView | None] = [None] * len(train)
    for held in folds:
        held_set = set(held)
        inner = [row for i, row in enumerate(train) if i not in held_set]
        fold_engine = rules_engine(rank(inner, cut, phrases), top, max_weight)
        for i in held:
            views[i] = _view(fold_engine, train[i].text)
    out_of_fold = [v for v in views if v is not None]
    # The rules' votes here are out-of-fold (mined without the message), so the choice may also hand
    # the lead to the model.
    # gridbot ships "model leads" (chosen on dev_styles.csv): measured the way it runs.
    policy = choose_policy(gold, out_of_fold, votes, None, (*UNSURE_CHOICES, *MODEL_LEADS)).model_leads()
    model = export(fit(items, params), policy)
    print(
        f"learned model: {params}, {len(model.chars)} n-grams + {len(model.words)} words; it replaces the rules' "
        f"label when their confidence is below {policy.rules_unsure_below} and its probability reaches "
        f"{policy.override_at} (decides their unknowns from {policy.decide_at})"
    )
    tested = prepare([Example(r.text, r.label) for r in test], tokenizer.cut_all)
    alone = {r.text: model.vote(model.features(p.norm)).label for r, p in zip(test, tested, strict=True)}
    combined = {
        r.text: combine(_view(engine, r.text), model.vote(model.features(p.norm)), policy).label
        for r, p in zip(test, tested, strict=True)
    }
    return evaluate(test, alone.__getitem__), evaluate(test, combined.__getitem__)


def _view(engine: RuleEngine, text: str) -> RulesView:
    decision = engine.decide(engine.score(text))
    return RulesView(decision.label, decision.confidence, False)


def baseline_report(train: Sequence[LabelledRow], test: Sequence[LabelledRow]) -> Report:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
    model = LinearSVC(C=0.5)
    model.fit(vec.fit_transform([r.text for r in train]), [r.label for r in train])
    predicted = dict(
        zip([r.text for r in test], model.predict(vec.transform([r.text for r in test])), strict=True)
    )
    return evaluate(test, lambda t: str(predicted[t]))


def main() -> int:
    path = data_path()
    if not path.exists():
        print(f"skipped: {path} not found (set GRIDBOT_SHARED_DATA to the folder holding {FILE_NAME})")
        return 0
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [LabelledRow(r["text"], r["label"]) for r in csv.DictReader(fh)]
    train, test = stratified_split(rows, 0.8, SEED)
    print(f"taidi2020: {len(rows)} messages, train {len(train)}, held-out {len(test)}")

    tokenizer = Tokenizer()
    cache: dict[str, list[str]] = {}

    def cut(text: str) -> list[str]:
        if text not in cache:
            cache[text] = tokenizer.cut(text)
        return cache[text]

    started = time.perf_counter()
    scores = cross_validate(train, cut)
    for (top, max_weight, phrases), f1 in scores.items():
        print(
            f"  {FOLDS}-fold CV on train only: top={top:<4} max_weight={max_weight:<4} phrases={phrases!s:<5}"
            f" macro-F1 {f1:.3f}"
        )
    # Best mean F1 (to 3 decimals); on a tie the fewer keywords, then the smaller weight bound.
    best_top, best_weight, best_phrases = max(scores, key=lambda p: (round(scores[p], 3), -p[0], -p[1]))
    print(f"  ({time.perf_counter() - started:.1f}s)")

    started = time.perf_counter()
    ranked = rank(train, cut, best_phrases)
    suggestions = select_keywords(ranked, best_top, best_weight, scale_by_size=True)
    # Through the YAML the staff would review: what is scored is exactly what `rules suggest` prints.
    text = to_rules_yaml(suggestions, min_score=0.0, ambiguity_margin=0.0)
    engine = RuleEngine(parse_rules(yaml.safe_load(text), source="suggested"))
    rules_report = evaluate(test, engine.predict)
    rules_seconds = time.perf_counter() - started
    keyword_count = sum(len(items) for items in suggestions.values())
    try:
        base = baseline_report(train, test)
    except ImportError:
        print("scikit-learn missing: install the bench extra (pip install -e '.[bench]')")
        return 1
    ratio = rules_report.macro_f1 / base.macro_f1 if base.macro_f1 else 0.0
    print(
        f"rules (suggest top={best_top} scaled by label size, max_weight={best_weight}, phrases={best_phrases};"
        f" {keyword_count} keywords): macro-F1 {rules_report.macro_f1:.3f}, accuracy {rules_report.accuracy:.3f}"
        f", unknown {rules_report.unknown_count} ({rules_seconds:.1f}s incl. mining)"
    )
    print(
        f"baseline (TF-IDF char 1-3 + LinearSVC): macro-F1 {base.macro_f1:.3f}, accuracy {base.accuracy:.3f}"
    )
    print(f"ratio rules/baseline: {ratio:.3f} (goal >= 0.9)")
    started = time.perf_counter()
    alone, combined = learned_reports(
        train, test, tokenizer, cut, (best_top, best_weight, best_phrases), engine
    )
    print(f"  ({time.perf_counter() - started:.1f}s incl. cross-validation)")
    print(f"learned model alone: macro-F1 {alone.macro_f1:.3f}, accuracy {alone.accuracy:.3f}")
    print(
        f"combined (nlp/learned/combine.py, thresholds by cross-validation): macro-F1 {combined.macro_f1:.3f}, "
        f"accuracy {combined.accuracy:.3f}, unknown {combined.unknown_count}"
    )
    combined_ratio = combined.macro_f1 / base.macro_f1 if base.macro_f1 else 0.0
    verdict = "met" if combined_ratio >= 1.0 else "MISSED"
    print(f"ratio combined/baseline: {combined_ratio:.3f} (target >= 1.0: {verdict})")
    for score in rules_report.per_label:
        print(
            f"  {score.label:<10} P {score.precision:.3f} R {score.recall:.3f} F1 {score.f1:.3f} n={score.support}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
