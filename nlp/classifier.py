"""RuleClassifier: the engine's decision, mapped to gridbot's Category/Priority, plus location."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from nlp.engine import RuleEngine
from nlp.location import LocationExtractor
from nlp.normalise import normalise
from nlp.rules import RuleSet, load_rules
from nlp.tokenizer import Tokenizer
from nlp.types import Category, Classification, Location, Priority

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_RULES = DATA_DIR / "rules.yaml"
DEFAULT_USERDICT = DATA_DIR / "userdict.txt"
_MAX_CHARS = 2000  # longer messages are cut: the point is made early, and cost stays bounded
_PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2}


class RuleClassifier:
    """Classify resident messages with keyword rules; safe for any input string."""

    def __init__(self, rules: RuleSet, tokenizer: Tokenizer, locator: LocationExtractor) -> None:
        self.rules = rules
        self.tokenizer = tokenizer
        self.engine = RuleEngine(rules, tokenizer.cut, tokenizer.has_token)
        self.locator = locator
        self._priority = {Category(c.name): Priority(c.priority) for c in rules.categories}
        self._category = {c.value: c for c in Category}

    def warm_up(self) -> None:
        """Build the word segmenter now (about a second of CPU) rather than inside the first message
        that needs it, which would hold up everything else the process is doing meanwhile."""
        self.tokenizer.warm_up()

    def classify(self, text: str) -> Classification:
        """Classify one message. Never raises on odd input; unknown when nothing matches.

        Unknown results carry the highest priority among the categories that were too close to
        call, so an ambiguous "safety hazard or repair?" message is still handled as high.
        """
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        text = text[:_MAX_CHARS]
        norm = normalise(text)  # once, for both the rules and the location
        scores = self.engine.score_normalised(norm)
        decision = self.engine.decide(scores)
        location = self.locator.extract_normalised(norm) if text else Location()
        candidates = tuple(self._category[name] for name in decision.candidates)
        if decision.label is None:
            category = Category.UNKNOWN
            contenders = [self._priority[c] for c in candidates]
            priority = min(contenders, key=_PRIORITY_RANK.__getitem__, default=Priority.NORMAL)
            shown = candidates
        else:
            category = self._category[decision.label]
            priority = self._priority[category]
            shown = (category,)
        if len(shown) == 1:  # the engine's keyword tuples are already free of duplicates
            keywords = scores.keywords.get(shown[0].value, ())
        else:
            keywords = tuple(dict.fromkeys(k for c in shown for k in scores.keywords.get(c.value, ())))
        return Classification(
            category=category,
            priority=priority,
            location=location,
            keywords=keywords,
            confidence=decision.confidence if category is not Category.UNKNOWN else 0.0,
            candidates=candidates,
        )


def load_classifier(
    rules_path: Path | None = None,
    compounds: Mapping[str, Sequence[str]] | None = None,
    userdict: Path | None = DEFAULT_USERDICT,
) -> RuleClassifier:
    """Build the classifier from a rules file (default: the shipped rules) and the community's compounds.

    Args:
        rules_path: YAML rules file; None uses nlp/data/rules.yaml.
        compounds: canonical compound name -> aliases; names and aliases are kept whole by jieba
            and location extraction returns the canonical name.
        userdict: jieba user dictionary of domain words.

    Raises:
        RulesError: the rules file is missing or invalid.
    """
    rules = load_rules(
        rules_path or DEFAULT_RULES, allowed=[c.value for c in Category if c is not Category.UNKNOWN]
    )
    compound_words = [w for name, aliases in (compounds or {}).items() for w in (name, *aliases)]
    literals = [p for cat in rules.categories for kw in cat.keywords for p in kw.parts]
    tokenizer = Tokenizer(userdict=userdict, extra_words=[*compound_words, *literals])
    return RuleClassifier(rules, tokenizer, LocationExtractor(compounds))
