"""Train a model end to end: settings and thresholds by cross-validation, then a fit on everything.

Which sets train the shipped model: the project's labelled sets except dev_styles.csv, which stays out
so it remains an honest check of the model (and of the rules written after it), and the blind sets,
which nothing ever trains or tunes on.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from nlp.learned.combine import RulesView, combine
from nlp.learned.model import LinearModel, Policy
from nlp.learned.train import Example, Params, default_read, export, fit, prepare
from nlp.learned.tuning import (
    PARAM_GRID,
    Figures,
    choose_params,
    choose_policy,
    figures,
    stratified_folds,
)

SHIPPED_SETS = (
    "train_messages.csv",
    "train_styles.csv",
    "train_nearmiss.csv",
    "train_everyday.csv",
    "train_voices.csv",
    "train_lengths.csv",
    "holdout_messages.csv",
    "dev_messages.csv",
)
FOLDS = 5
SEED = 20261201
SMALL = 200  # below this many examples every feature counts (min_df 1): each one is precious
# Without cross-validation (too few examples of some label) the model decides only on unknown, and
# only when fairly sure, and raises only when very sure.
DEFAULT_POLICY = Policy(rules_unsure_below=0.0, decide_at=0.5, raise_at=0.9)


def reading_digest(norms: Iterable[str]) -> str:
    """A fingerprint of the texts the model was trained on, as the rules read them: when normalisation
    changes, the shipped model's digest no longer matches and a test asks for `gridbot nlp train`."""
    return hashlib.sha256("\n".join(norms).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class TrainingResult:
    model: LinearModel
    params: Params
    policy: Policy
    # Cross-validated figures on the training examples (None without cross-validation / rules).
    model_cv: Figures | None
    rules_cv: Figures | None
    combined_cv: Figures | None
    param_figures: dict[Params, Figures]


def train_model(
    examples: Sequence[Example],
    cut_all: Callable[[str], list[str]],
    rules: Callable[[str], RulesView] | None = None,
    emergency: str | None = "emergency",
    grid: Sequence[Params] = PARAM_GRID,
    sources: dict[str, int] | None = None,
    read: Callable[[str], str] = default_read,
    model_leads: bool = False,
    demote_below: float = 0.0,
    emergency_at: float = 0.0,
) -> TrainingResult:
    """Choose the settings and thresholds by FOLDS-fold cross-validation, then fit on every example.

    Args:
        examples: labelled messages.
        cut_all: jieba's full mode with the classifier's dictionary (Tokenizer.cut_all).
        rules: the rules' view of a message, to choose the combination thresholds; None keeps
            DEFAULT_POLICY (and reports no combined figures).
        emergency: the label the model may raise as a possible emergency (None: never).
        grid: model settings to try.
        sources: file name -> examples taken from it, recorded in the model file.
        read: message -> the text the model reads (the classifier's normalised, corrected text).
        model_leads: the model's label wherever it knows a feature of the message (the rules' emergencies
            still never dropped); otherwise the rules lead and the model decides only where they are
            unknown or unsure, with thresholds chosen by cross-validation.
        demote_below: the emergency probability under which the model's vote for another label demotes
            a rules' emergency to a possible one (`Policy.demote_below`; 0: never). Chosen on the dev
            sets, not here: the training sets are what the rules were written from.
        emergency_at: the probability the model needs to name the emergency category where the rules
            did not (`Policy.emergency_at`), chosen on the dev sets too.

    Raises:
        ValueError: fewer than two labels.
    """
    items = prepare(examples, cut_all, read)
    gold = [p.label for p in items]
    small = len(items) < SMALL
    counts = Counter(gold)
    emergency = emergency if emergency in counts else None
    model_cv = rules_cv = combined_cv = None
    param_figures: dict[Params, Figures] = {}
    if min(counts.values()) >= FOLDS and not small:
        folds = stratified_folds(gold, FOLDS, SEED)
        params, votes, param_figures = choose_params(items, folds, emergency, grid)
        model_cv = param_figures[params]
        policy = DEFAULT_POLICY
        if rules is not None:
            views = [rules(ex.text) for ex in examples]
            policy = choose_policy(gold, views, votes, emergency)
            if model_leads:
                # The model's label wherever it knows a feature of the message; the rules keep their
                # emergencies (never dropped) and explain; the raise threshold stays cross-validated.
                policy = policy.model_leads()
            rules_cv = figures(gold, [v.label for v in views])
            combined = [combine(v, vote, policy).label for v, vote in zip(views, votes, strict=True)]
            combined_cv = figures(gold, combined)
    else:
        params = Params(min_df=1) if small else grid[0]
        policy = DEFAULT_POLICY
    policy = replace(
        policy,
        emergency=emergency,
        demote_below=demote_below if emergency else 0.0,
        emergency_at=emergency_at if emergency else 0.0,
    )
    meta: dict[str, Any] = {
        "examples": len(items),
        "reading_digest": reading_digest(p.norm for p in items),
        "labels": dict(sorted(counts.items())),
        "sources": dict(sources or {}),
        "params": asdict(params),
        "lead": "model" if model_leads and rules is not None and model_cv is not None else "rules",
        "thresholds": f"{FOLDS}-fold cross-validation on the training examples"
        if rules is not None and model_cv is not None
        else "defaults (no cross-validation)",
        "cv": {
            name: asdict(value)
            for name, value in (("model", model_cv), ("rules", rules_cv), ("combined", combined_cv))
            if value is not None
        },
    }
    model = export(fit(items, params), policy, meta)
    return TrainingResult(model, params, policy, model_cv, rules_cv, combined_cv, param_figures)
