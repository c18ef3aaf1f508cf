"""How the rules and the learned model combine: rules first, the model decides where they are unsure,
it may raise a possible emergency and never drop one."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest

from nlp import RuleClassifier, load_classifier
from nlp.classifier import DEFAULT_MODEL
from nlp.learned.combine import RulesView, combine
from nlp.learned.model import Policy, Vote
from nlp.learned.opinion import SecondOpinion
from nlp.types import SHIPPED_CATEGORIES, Category, Classification, EmergencyLevel, Location, Priority

POLICY = Policy(rules_unsure_below=0.6, decide_at=0.5, raise_at=0.8, emergency="emergency", override_at=0.7)


def _vote(label: str, p: float = 0.9, emergency: float = 0.01, known: int = 20) -> Vote:
    return Vote(label, p, (("other", 0.05),), emergency, known)


def test_rules_that_are_sure_keep_their_label() -> None:
    outcome = combine(RulesView("repair", 0.9, False), _vote("sanitation"), POLICY)
    assert (outcome.label, outcome.decided, outcome.raised) == ("repair", False, False)


@pytest.mark.parametrize(
    ("rules", "threshold"), [(RulesView(None, 0.0, False), 0.5), (RulesView("repair", 0.55, False), 0.7)]
)
def test_the_model_decides_when_the_rules_are_unknown_or_unsure(rules: RulesView, threshold: float) -> None:
    outcome = combine(rules, _vote("sanitation", p=threshold), POLICY)
    assert (outcome.label, outcome.decided) == ("sanitation", True)
    unsure_model = combine(rules, _vote("sanitation", p=threshold - 0.01), POLICY)
    assert (unsure_model.label, unsure_model.decided) == (rules.label, False)


def test_a_vote_on_nothing_known_is_ignored() -> None:
    outcome = combine(RulesView(None, 0.0, False), _vote("sanitation", known=0, emergency=0.99), POLICY)
    assert (outcome.label, outcome.decided, outcome.raised) == (None, False, False)


def test_an_emergency_the_rules_see_is_never_replaced() -> None:
    # The rules are unknown but offer the emergency button: the model may not talk it away.
    outcome = combine(RulesView(None, 0.0, True), _vote("repair", p=0.99), POLICY)
    assert (outcome.label, outcome.decided) == (None, False)
    outcome = combine(RulesView("emergency", 0.5, True), _vote("repair", p=0.99), POLICY)
    assert outcome.label == "emergency"


def test_the_model_raises_a_possible_emergency_the_rules_missed() -> None:
    outcome = combine(RulesView("repair", 0.9, False), _vote("repair", emergency=0.85), POLICY)
    assert (outcome.label, outcome.raised) == ("repair", True)
    assert not combine(RulesView("repair", 0.9, False), _vote("repair", emergency=0.75), POLICY).raised
    chosen = combine(RulesView(None, 0.0, False), _vote("emergency", emergency=0.6), POLICY)
    assert (chosen.label, chosen.decided, chosen.raised) == ("emergency", True, True)


def _garage_as_repair(classifier: RuleClassifier) -> tuple[Classification, str]:
    """Someone gone into a flooded garage, as if the rules were sure it is a repair (what the model
    must still flag), and the text the model reads."""
    rules, norm = classifier.classify_by_rules("楼下车库进水了 我爸下去挪车半个小时还没上来 电话也打不通")
    as_repair = replace(
        rules,
        category=Category.REPAIR,
        candidates=(Category.REPAIR,),
        emergency_level=EmergencyLevel.NONE,
        confidence=1.0,
    )
    return as_repair, norm


@pytest.fixture(scope="module")
def opinion() -> SecondOpinion:
    priorities = {c: Priority.NORMAL for c in SHIPPED_CATEGORIES} | {Category.EMERGENCY: Priority.URGENT}
    second = SecondOpinion.load(DEFAULT_MODEL, priorities)
    # Rules first (the rules decide when they are sure) and no demotion, to test the raise path on its own.
    second.model.policy = replace(
        second.model.policy,
        raise_at=0.3,
        decide_at=0.3,
        override_at=0.3,
        rules_unsure_below=0.5,
        demote_below=0.0,
    )
    return second


def test_with_the_shipped_policy_the_model_leads_but_its_emergency_is_only_possible(
    classifier: RuleClassifier,
) -> None:
    priorities = {c: Priority.NORMAL for c in SHIPPED_CATEGORIES} | {Category.EMERGENCY: Priority.URGENT}
    shipped = SecondOpinion.load(DEFAULT_MODEL, priorities)
    as_repair, norm = _garage_as_repair(classifier)
    result = shipped.apply(as_repair, norm)
    assert result.model is not None
    assert result.model.decided
    assert result.category is Category.EMERGENCY
    assert result.emergency_level is EmergencyLevel.POSSIBLE  # never certain on the model's word alone
    # Sure rules on an everyday category are overruled where the model knows better (model leads).
    assert shipped.model.policy.rules_unsure_below > 1.0


def test_a_raised_emergency_is_possible_never_certain(
    classifier: RuleClassifier, opinion: SecondOpinion
) -> None:
    as_repair, norm = _garage_as_repair(classifier)
    result = opinion.apply(as_repair, norm)
    assert result.model is not None
    assert result.model.raised
    assert result.emergency_level is EmergencyLevel.POSSIBLE
    assert result.category is Category.REPAIR  # the rules' category stays; the resident is asked
    unknown = Classification(Category.UNKNOWN, Priority.NORMAL, candidates=(Category.REPAIR,))
    combined = opinion.apply(unknown, norm)
    assert combined.emergency_level is EmergencyLevel.POSSIBLE
    assert combined.priority is Priority.URGENT
    assert Category.EMERGENCY in combined.candidates or combined.category is Category.EMERGENCY


def test_the_opinion_keeps_every_field_of_the_rules_result_it_does_not_decide(
    classifier: RuleClassifier, opinion: SecondOpinion
) -> None:
    # apply builds its answer field by field (dataclasses.replace was too slow per message): a field added
    # to Classification must be carried there too, or it would be dropped silently.
    as_repair, norm = _garage_as_repair(classifier)
    as_repair = replace(as_repair, location=Location("兴泰小区", "5", "2", "501"), keywords=("进水",))
    result = opinion.apply(as_repair, norm)
    assert result.model is not None
    assert not result.model.decided
    decided_here = {"model", "emergency_level"}
    for f in fields(Classification):
        if f.name not in decided_here:
            assert getattr(result, f.name) == getattr(as_repair, f.name), f.name


def test_the_model_is_not_asked_when_the_rules_are_sure_of_an_emergency(
    classifier: RuleClassifier, opinion: SecondOpinion
) -> None:
    rules, norm = classifier.classify_by_rules("兴泰5号楼2单元501着火了 快来人")
    assert rules.category is Category.EMERGENCY
    assert opinion.apply(rules, norm) is rules


def test_a_batch_gets_the_answers_of_one_by_one() -> None:
    texts = [
        "兴泰5号楼着火了",
        "在吗在吗 有个事想问问",
        "楼下车库进水了 我爸下去挪车还没上来",
        "",
        "物业费怎么交",
    ]
    classifier = load_classifier(model=DEFAULT_MODEL)
    assert classifier.classify_many(texts) == [classifier.classify(t) for t in texts]
    assert any(result.model is not None for result in classifier.classify_many(texts))


DEMOTING = replace(POLICY, demote_below=0.1)


def test_a_confident_model_demotes_a_rules_emergency_to_its_own_label() -> None:
    outcome = combine(RulesView("emergency", 0.9, True), _vote("other", emergency=0.05), DEMOTING)
    assert (outcome.label, outcome.decided, outcome.demoted, outcome.raised) == ("other", True, True, False)


@pytest.mark.parametrize(
    ("policy", "vote"),
    [
        (POLICY, _vote("other", emergency=0.001)),  # demote_below 0: the rules' emergency always stands
        (DEMOTING, _vote("other", emergency=0.1)),  # not unlikely enough
        (DEMOTING, _vote("emergency", emergency=0.01)),  # the model agrees it is an emergency
        (DEMOTING, _vote("other", emergency=0.0, known=0)),  # a vote on nothing known
    ],
)
def test_an_emergency_stays_unless_the_model_is_sure_it_is_not(policy: Policy, vote: Vote) -> None:
    outcome = combine(RulesView("emergency", 0.9, True), vote, policy)
    assert (outcome.label, outcome.demoted) == ("emergency", False)


def test_only_the_rules_emergency_label_is_demoted_not_an_emergency_candidate() -> None:
    # Unknown with the emergency button offered: the model may still not talk it away.
    outcome = combine(RulesView(None, 0.0, True), _vote("repair", p=0.99, emergency=0.0), DEMOTING)
    assert (outcome.label, outcome.demoted) == (None, False)


def test_a_demoted_emergency_keeps_a_possible_level(
    classifier: RuleClassifier, opinion: SecondOpinion
) -> None:
    # A drill announcement the rules read as a fire: the resident still gets the advice and the question
    # (possible), only the alert to every member of staff waits. Never dropped to no level at all.
    rules, norm = classifier.classify_by_rules("明天上午消防演练 着火了大家怎么从楼道撤离")
    assert (rules.category, rules.emergency_level) == (Category.EMERGENCY, EmergencyLevel.CERTAIN)
    assert opinion.apply(rules, norm) is rules  # demote_below 0 (the fixture's): not even asked
    model = opinion.model
    saved = model.policy
    model.policy = replace(saved, demote_below=0.5)
    try:
        result = opinion.apply(rules, norm)
    finally:
        model.policy = saved
    assert result.model is not None
    assert result.model.demoted
    assert result.category is not Category.EMERGENCY
    assert result.category is result.model.category
    assert result.emergency_level is EmergencyLevel.POSSIBLE


def test_naming_an_emergency_takes_emergency_at_below_it_the_resident_is_asked() -> None:
    leads = replace(POLICY, rules_unsure_below=1.01, decide_at=0.0, override_at=0.0, emergency_at=0.6)
    rules = RulesView("repair", 0.9, False)
    asked = combine(rules, _vote("emergency", p=0.5, emergency=0.5), leads)
    assert (asked.label, asked.decided, asked.raised) == ("repair", False, True)
    named = combine(rules, _vote("emergency", p=0.7, emergency=0.5), leads)
    assert (named.label, named.decided, named.raised) == ("emergency", True, True)
    # Another label needs no more than before.
    assert combine(rules, _vote("sanitation", p=0.3), leads).label == "sanitation"


def test_an_emergency_vote_too_weak_to_lead_raises_nothing() -> None:
    # Rules first (decide_at 0.5): a vote for emergency at 0.3 neither decides nor asks the resident.
    outcome = combine(RulesView(None, 0.0, False), _vote("emergency", p=0.3, emergency=0.3), POLICY)
    assert (outcome.label, outcome.decided, outcome.raised) == (None, False, False)
