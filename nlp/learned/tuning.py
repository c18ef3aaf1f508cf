"""Cross-validation on the training sets: the model's settings and the combination thresholds.

Everything here sees training data only. Each fold's model is exported and scored by the pure-Python
scorer, and the thresholds are chosen on the same `combine` the classifier runs, so the figures
reported are those of the code that ships.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from nlp.learned.combine import RulesView, combine
from nlp.learned.model import NEVER, Policy, Vote
from nlp.learned.train import Params, Prepared, export, fit

# min_df stays 2: features seen once added ~0.004 of cross-validated macro-F1 but tripled the model file
# (3.8 MB) and slowed every look-up (a bigger dict is a colder one).
PARAM_GRID = tuple(
    Params(c=c, word_scale=s, min_df=2, class_weight=w)
    for c in (20.0, 50.0)
    for s in (0.25, 0.5)
    for w in (None, "balanced")
)
# The rules' confidence under which their decision counts as unsure ("the top two are close"); 0 = only
# when they say unknown, 1.0 = whenever any other label has evidence too.
UNSURE_CHOICES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
MODEL_LEADS = (
    NEVER,
)  # the model decides whenever it is sure enough; the rules where it is not  # 1.0: rules decide alone only when all their evidence agrees
DECIDE_CHOICES = tuple(round(0.10 + 0.05 * i, 2) for i in range(17))  # 0.10 .. 0.90
RAISE_CHOICES = tuple(round(0.20 + 0.05 * i, 2) for i in range(16))  # 0.20 .. 0.95
# Costs of the outcomes the thresholds trade off (a correct label costs 0). A wrong category reaches the
# wrong person before anyone notices; "unknown" only asks the resident to tap a button: 2 to 1. A
# missed emergency is someone left in danger; a possible emergency raised in vain asks the resident
# once and alerts one grid member: 10 to 1.
COST_WRONG, COST_UNKNOWN = 2.0, 1.0
COST_MISSED_EMERGENCY, COST_FALSE_POSSIBLE = 10.0, 1.0


@dataclass(frozen=True)
class Figures:
    """Accuracy and macro-F1 over a set of gold labels ("unknown" is always wrong)."""

    accuracy: float
    macro_f1: float

    def __str__(self) -> str:
        return f"accuracy {self.accuracy:.3f}, macro-F1 {self.macro_f1:.3f}"


def figures(gold: Sequence[str], predicted: Sequence[str | None]) -> Figures:
    labels = sorted(set(gold))
    right = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p)
    f1s = []
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p == label)
        pred_n = sum(1 for p in predicted if p == label)
        gold_n = sum(1 for g in gold if g == label)
        f1s.append(2 * tp / (pred_n + gold_n) if pred_n + gold_n else 0.0)
    return Figures(right / len(gold) if gold else 0.0, sum(f1s) / len(f1s) if f1s else 0.0)


def stratified_folds(labels: Sequence[str], k: int, seed: int) -> list[list[int]]:
    """k folds of row indices, each label dealt round-robin after a seeded shuffle."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    rng = random.Random(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    dealt = 0
    for label in sorted(by_label):
        rows = by_label[label][:]
        rng.shuffle(rows)
        for row in rows:
            folds[dealt % k].append(row)
            dealt += 1
    return folds


def out_of_fold_votes(
    items: Sequence[Prepared], params: Params, folds: Sequence[Sequence[int]], emergency: str | None
) -> list[Vote]:
    """Each item's vote from the model trained on the other folds."""
    votes: list[Vote | None] = [None] * len(items)
    for held in folds:
        held_set = set(held)
        model = export(
            fit([p for i, p in enumerate(items) if i not in held_set], params), Policy(emergency=emergency)
        )
        for i in held:
            votes[i] = model.vote(model.features(items[i].norm))
    return [v for v in votes if v is not None]


def choose_params(
    items: Sequence[Prepared],
    folds: Sequence[Sequence[int]],
    emergency: str | None,
    grid: Sequence[Params] = PARAM_GRID,
) -> tuple[Params, list[Vote], dict[Params, Figures]]:
    """The setting with the best cross-validated macro-F1 (then accuracy), its votes and every figure."""
    gold = [p.label for p in items]
    results: dict[Params, tuple[Figures, list[Vote]]] = {}
    for params in grid:
        votes = out_of_fold_votes(items, params, folds, emergency)
        results[params] = (figures(gold, [v.label for v in votes]), votes)
    best = max(results, key=lambda p: (round(results[p][0].macro_f1, 3), results[p][0].accuracy))
    return best, results[best][1], {p: f for p, (f, _) in results.items()}


def choose_policy(
    gold: Sequence[str],
    rules: Sequence[RulesView],
    votes: Sequence[Vote],
    emergency: str | None,
    unsure_choices: Sequence[float] = UNSURE_CHOICES,
) -> Policy:
    """Thresholds with the lowest total cost on out-of-fold votes (costs above).

    The cost splits by what the rules said, so each threshold is chosen on its own rows: `decide_at` on
    the messages the rules call unknown (the alternative is asking the resident), `rules_unsure_below`
    and `override_at` on those they label (the alternative is the rules' label). Then, with those fixed,
    `raise_at` trades missed emergencies against possible emergencies raised in vain. On a tie the
    choice hands fewer decisions to the model: the rules explain theirs.
    """
    rows = list(zip(gold, rules, votes, strict=True))
    unknown = [row for row in rows if row[1].label is None]
    labelled = [row for row in rows if row[1].label is not None]

    def label_cost(policy: Policy, subset: list[tuple[str, RulesView, Vote]]) -> float:
        cost = 0.0
        for g, r, v in subset:
            label = combine(r, v, policy).label
            cost += 0.0 if label == g else COST_UNKNOWN if label is None else COST_WRONG
        return cost

    decide_at = min(
        DECIDE_CHOICES, key=lambda d: (label_cost(Policy(decide_at=d, emergency=emergency), unknown), -d)
    )
    unsure, override_at = min(
        ((u, o) for u in unsure_choices for o in DECIDE_CHOICES),
        key=lambda uo: (
            label_cost(Policy(uo[0], decide_at, emergency=emergency, override_at=uo[1]), labelled),
            uo[0],
            -uo[1],
        ),
    )
    best = Policy(unsure, decide_at, emergency=emergency, override_at=override_at)
    if emergency is None:
        return best

    def emergency_cost(raise_at: float) -> float:
        policy = replace(best, raise_at=raise_at)
        cost = 0.0
        for g, r, v in rows:
            outcome = combine(r, v, policy)
            flagged = r.emergency or outcome.raised or outcome.label == emergency
            if g == emergency and not flagged:
                cost += COST_MISSED_EMERGENCY
            elif g != emergency and outcome.raised:
                cost += COST_FALSE_POSSIBLE
        return cost

    return replace(best, raise_at=min(RAISE_CHOICES, key=lambda t: (emergency_cost(t), -t)))
