"""The model's vote applied to a rules Classification (gridbot's categories and emergency levels)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from nlp.learned.combine import RulesView, combine, needs_vote
from nlp.learned.model import LinearModel
from nlp.learned.store import ModelError, load_model
from nlp.types import SHIPPED_CATEGORIES, Category, Classification, EmergencyLevel, ModelVote, Priority

_PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2}


def rules_view(result: Classification) -> RulesView:
    """What `combine` needs of the rules' result."""
    emergency = (
        result.category is Category.EMERGENCY
        or Category.EMERGENCY in result.candidates
        or result.emergency_level is not EmergencyLevel.NONE
    )
    label = None if result.category is Category.UNKNOWN else result.category  # a Category is its key (a str)
    return RulesView(label, result.confidence, emergency)


class SecondOpinion:
    """Ask the learned model when its vote can matter, and fold the vote into the result.

    Args:
        model: the loaded model (its labels must be gridbot categories).
        priorities: each category's priority, from the rules.
        source: where the model came from, for error messages.
    """

    def __init__(
        self, model: LinearModel, priorities: Mapping[Category, Priority], source: str | Path = "model"
    ) -> None:
        known = {*SHIPPED_CATEGORIES, *priorities}  # the shipped model knows the shipped keys
        strange = [label for label in model.labels if label not in known]
        if strange:
            raise ModelError(source, f"labels {strange} are not gridbot categories")
        self.model = model
        self._priorities = dict(priorities)
        # label -> Category, a dict look-up per label shown rather than a constructor call
        self._categories = {label: Category(label) for label in model.labels}
        self.always = False  # ask the model on every message, to show its vote (`classify --all-votes`)

    @classmethod
    def load(cls, path: Path, priorities: Mapping[Category, Priority]) -> SecondOpinion:
        """Read a model file (raises ModelError with one clear line when it is missing or corrupt)."""
        return cls(load_model(path), priorities, path)

    def apply(self, result: Classification, norm: str) -> Classification:
        """The combined result for a message whose normalised text is `norm`.

        The full vote (every label) is computed only when it can change something: the rules are unsure,
        they see an emergency the policy lets the model demote, or the emergency probability alone (one
        column, asked whenever the rules see no emergency) reaches the raise threshold.
        """
        model = self.model
        policy = model.policy
        view = rules_view(result)
        emergency = result.category is Category.EMERGENCY
        demotable = emergency and policy.demote_below > 0.0
        if emergency and not (self.always or demotable):
            return result  # nothing a vote can change: an emergency is never replaced, nor raised again
        decide = self.always or demotable or needs_vote(view, policy)
        if not decide and (view.emergency or policy.emergency is None or policy.raise_at > 1.0):
            return result
        if not decide and model.emergency_probability_of(norm) < policy.raise_at:
            return result
        vote = model.vote_of(norm)
        outcome = combine(view, vote, policy)
        category_of = self._categories.__getitem__
        shown = ModelVote(
            category=category_of(vote.label),
            probability=round(vote.probability, 4),
            alternatives=tuple([(category_of(label), round(p, 4)) for label, p in vote.alternatives]),
            emergency_probability=round(vote.emergency_probability, 4),
            decided=outcome.decided,
            raised=outcome.raised,
            demoted=outcome.demoted,
            rules_category=result.category,
        )
        category, priority, candidates = result.category, result.priority, result.candidates
        keywords, confidence, level = result.keywords, result.confidence, result.emergency_level
        if outcome.decided and outcome.label is not None:
            category = category_of(outcome.label)
            priority = self._priorities.get(category, priority)
            keywords = ()  # the rules' keywords argued for something else; the vote is the evidence
            confidence = shown.probability
            candidates = (category,)
        if outcome.raised or outcome.demoted:  # demoted: never dropped, only the all-staff alert waits
            level = EmergencyLevel.POSSIBLE
            if result.category is Category.UNKNOWN and not outcome.decided:
                candidates = (Category.EMERGENCY, *result.candidates)
                priority = min(
                    (self._priorities.get(c, Priority.NORMAL) for c in candidates),
                    key=_PRIORITY_RANK.__getitem__,
                )
        # Made whole rather than with dataclasses.replace (several times slower on every message).
        return Classification(
            category=category,
            priority=priority,
            location=result.location,
            keywords=keywords,
            confidence=confidence,
            candidates=candidates,
            emergency_level=level,
            model=shown,
        )
