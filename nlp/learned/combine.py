"""How the rules' decision and the model's vote combine (generic over label names).

Rules run first and explain themselves. The model's vote counts in two cases only (with the shipped
policy, "model leads", the thresholds are 0 and NEVER so that the first case is every message whose
features the model knows; chosen on dev_styles.csv, where it beat rules-first 0.949 to 0.869):
- it decides when the rules do not: they say unknown and the model's probability reaches
  `policy.decide_at`, or their best label holds less than `policy.rules_unsure_below` of the evidence
  (the top two are close) and it reaches `policy.override_at`. It never replaces an emergency the
  rules see, even a possible one.
- it raises an emergency the rules missed, as *possible* only (the resident is asked, the grid member is
  alerted): the model alone never wakes every member of staff. It never drops one.
- it may demote an emergency the rules see (a near-miss: 消防演练, 上次漏气已经修好了) when it votes for another
  label and finds an emergency very unlikely (`policy.demote_below`): the label becomes its own and the
  emergency level *possible*, so the advice and the question still reach the resident at once and the grid
  member is alerted; only the alert to every member of staff waits for the resident's answer.

The same function serves the classifier, the threshold search (cross-validation on the training sets)
and the evaluation, so what is measured is what runs.
"""

from __future__ import annotations

from typing import NamedTuple

from nlp.learned.model import Policy, Vote


# RulesView and Outcome are built once per message: NamedTuples, as a frozen dataclass's __init__ (one
# object.__setattr__ call per field) costs several times as much.
class RulesView(NamedTuple):
    """What the combination needs to know of the rules' result."""

    label: str | None  # None: unknown
    confidence: float  # the best label's share of all evidence (0 when unknown)
    emergency: bool  # the rules already see an emergency: as the category, a candidate or a level


class Outcome(NamedTuple):
    label: str | None  # None: unknown
    decided: bool  # the model's vote chose `label` (the rules did not)
    raised: bool  # the model flags a possible emergency the rules did not see
    demoted: bool = False  # the rules' emergency became `label`, kept as a possible emergency


def needs_vote(rules: RulesView, policy: Policy) -> bool:
    """Whether the model's vote may decide the label (rules unknown or unsure)."""
    return rules.label is None or rules.confidence < policy.rules_unsure_below


def combine(rules: RulesView, vote: Vote | None, policy: Policy) -> Outcome:
    """The combined label; `vote` None means the model was not asked (or cannot raise anything)."""
    if vote is None or vote.known_features == 0:  # a vote on nothing known is only the prior
        return Outcome(rules.label, False, False)
    label, decided = rules.label, False
    emergency = policy.emergency
    if emergency is not None and rules.label == emergency:
        demoted = vote.label != emergency and vote.emergency_probability < policy.demote_below
        return Outcome(vote.label, True, False, True) if demoted else Outcome(label, False, False)
    threshold = policy.decide_at if rules.label is None else policy.override_at
    # The vote would decide (the rules unsure, the model sure enough); never replacing an emergency the
    # rules see, even a possible one, with another label.
    leads = (
        needs_vote(rules, policy)
        and vote.probability >= threshold
        and vote.label != rules.label
        and (not rules.emergency or vote.label == emergency)
    )
    # Naming the emergency category takes more than leading on the rest (`emergency_at`).
    if leads and (vote.label != emergency or vote.probability >= policy.emergency_at):
        label, decided = vote.label, True
    # An emergency the model chose or would have chosen but for `emergency_at`, or one it finds likely
    # whatever the label: possible, never certain.
    raised = (
        emergency is not None
        and not rules.emergency
        and ((leads and vote.label == emergency) or vote.emergency_probability >= policy.raise_at)
    )
    return Outcome(label, decided, raised)
