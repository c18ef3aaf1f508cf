"""RuleClassifier: the engine's decision, mapped to gridbot's Category/Priority, plus location."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from nlp.categories import SHIPPED_RULES, Catalog, catalog_from_rules, load_community_rules
from nlp.engine import RuleEngine
from nlp.evidence import Decision, Scores
from nlp.learned.opinion import SecondOpinion
from nlp.location import LocationExtractor
from nlp.normalise import Normaliser, default_normaliser
from nlp.rules import RuleSet
from nlp.soundalike import PinyinWords, SoundAlike
from nlp.tokenizer import Tokenizer
from nlp.types import Category, Classification, EmergencyLevel, Location, Priority

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_RULES = SHIPPED_RULES
DEFAULT_USERDICT = DATA_DIR / "userdict.txt"
DEFAULT_MODEL = DATA_DIR / "model.bin"  # the learned second opinion (`gridbot nlp train` writes it)
_MAX_CHARS = 2000  # longer messages are cut: the point is made early, and cost stays bounded
_PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2}
_RANK = _PRIORITY_RANK.__getitem__
# The engine's certainty ("none", "possible", "certain") as a level: a dict look-up, not an Enum call.
_LEVELS = {level.value: level for level in EmergencyLevel}
_EMERGENCY = Category.EMERGENCY.value
# Answers classified ahead (`look_ahead`) and not yet asked for, at most: past it the table starts afresh
# (what was dropped is classified again when asked). Texts that turn out not to be reports stay until then.
_AHEAD_LIMIT = 1000


class RuleClassifier:
    """Classify resident messages with keyword rules; safe for any input string."""

    def __init__(
        self,
        rules: RuleSet,
        tokenizer: Tokenizer,
        locator: LocationExtractor,
        normaliser: Normaliser | None = None,
        soundalike: SoundAlike | None = None,
        pinyin: PinyinWords | None = None,
    ) -> None:
        self.rules = rules
        self.normalise = normaliser or default_normaliser()
        self.soundalike = soundalike or SoundAlike(())
        self.pinyin = pinyin or PinyinWords(())
        self.tokenizer = tokenizer
        self.engine = RuleEngine(rules, tokenizer.cut, tokenizer.has_token)
        self.locator = locator
        self._priority = {Category(c.name): Priority(c.priority) for c in rules.categories}
        self._category = {c.name: Category(c.name) for c in rules.categories}
        # the community's categories (labels, priorities, order) as these rules declare them
        self.categories: Catalog = catalog_from_rules(rules)
        self.second_opinion: SecondOpinion | None = None  # rules alone until use_model()
        # look_ahead's answers, and how many times each is still to be asked for
        self._ahead: dict[str, tuple[Classification, int]] = {}

    def use_model(self, path: Path) -> None:
        """Add the learned second opinion from a model file.

        Raises:
            ModelError: the file is missing or not a valid model (one line naming the file).
        """
        self.second_opinion = SecondOpinion.load(path, self._priority)

    def warm_up(self) -> None:
        """Build the word segmenter now (~30 ms with its dictionary cached, about a second the first time)
        rather than inside the first message that needs it, which would hold up everything else the process
        is doing meanwhile. Likewise the sound-alike tables (pypinyin's character table)."""
        self.tokenizer.warm_up()
        self.soundalike.warm_up()
        if self.second_opinion is not None:  # numpy and the tables look_ahead's batches use (~0.15 s)
            self.second_opinion.model.warm_up_batches()

    def classify(self, text: str) -> Classification:
        """Classify one message. Never raises on odd input; unknown when nothing matches.

        Unknown results carry the highest priority among the categories that were too close to
        call, so an ambiguous "safety hazard or repair?" message is still handled as high.
        """
        if self._ahead and isinstance(text, str) and (ahead := self._answered_ahead(text)) is not None:
            return ahead
        result, norm = self.classify_by_rules(text)
        if self.second_opinion is not None:  # rules first; the model decides only where they are unsure
            result = self.second_opinion.apply(result, norm)
        return result

    def classify_many(self, texts: Iterable[str]) -> list[Classification]:
        """`classify` for several messages, a step at a time over all of them: normalising, sound-alikes,
        scoring, deciding, locating, then the model.

        The answers are those of `classify` one by one. Taking each step over the whole batch keeps its
        tables and code warm in the CPU cache (a quarter less time a message than each message through
        every step in turn), and the model scores the whole batch at once (`gridbot classify` passes
        each block of input it reads).
        """
        ruled = self.classify_many_by_rules(texts)
        if self.second_opinion is None:
            return [result for result, _ in ruled]
        apply = self.second_opinion.apply
        with self.second_opinion.model.prepared([norm for _, norm in ruled]):
            return [apply(result, norm) for result, norm in ruled]

    def look_ahead(self, texts: Sequence[str]) -> None:
        """Classify now, together, messages about to be handled (a page of updates): `classify` then
        answers each of them from here, once for each time it was given.

        In a busy bot each message through every step in turn, between database work and sending, finds
        the tables out of the CPU cache (~0.4 ms a message measured in the running bot, against ~0.05 ms
        a message for `classify_many` over a page of 100). The answers are the same either way.
        """
        wanted = Counter(texts)
        fresh = [text for text in wanted if text not in self._ahead]
        if len(self._ahead) + len(fresh) > _AHEAD_LIMIT:  # bounded; what is dropped is classified again
            self._ahead.clear()
            fresh = list(wanted)
        answers = dict(zip(fresh, self.classify_many(fresh), strict=True))
        for text, times in wanted.items():
            result, left = self._ahead.get(text) or (answers[text], 0)
            self._ahead[text] = (result, left + times)

    def _answered_ahead(self, text: str) -> Classification | None:
        entry = self._ahead.pop(text, None)
        if entry is None:
            return None
        result, left = entry
        if left > 1:
            self._ahead[text] = (result, left - 1)
        return result

    def classify_by_rules(self, text: str) -> tuple[Classification, str]:
        """The rules' result alone, and the text they read (normalised and corrected), which is also
        what the learned model reads, at training time as at run time."""
        norm, corrected = self._read(text)
        scores = self.engine.score_normalised(norm, corrected)
        decision = self.engine.decide(scores)
        location = self.locator.extract_normalised(norm) if norm else Location()
        return self._result(scores, decision, location), norm

    def classify_many_by_rules(self, texts: Iterable[str]) -> list[tuple[Classification, str]]:
        """`classify_by_rules` for several messages, a step at a time over all of them."""
        read = [self._read(text) for text in texts]
        score, decide, locate = (
            self.engine.score_normalised,
            self.engine.decide,
            self.locator.extract_normalised,
        )
        scores = [score(norm, corrected) for norm, corrected in read]
        decisions = list(map(decide, scores))
        locations = [locate(norm) if norm else Location() for norm, _ in read]
        result = self._result
        return [
            (result(s, d, location), norm)
            for s, d, location, (norm, _) in zip(scores, decisions, locations, read, strict=True)
        ]

    def _read(self, text: str) -> tuple[str, tuple[tuple[int, int], ...]]:
        """The text the rules read (normalised, pinyin initials spelled out, sound-alikes corrected: once
        for the rules, the location and the model) and the spans the corrections rewrote."""
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        return self.soundalike.correct(self.pinyin(self.normalise(text[:_MAX_CHARS])))

    def _result(self, scores: Scores, decision: Decision, location: Location) -> Classification:
        """The engine's scores and decision as gridbot's Classification."""
        candidates = tuple(map(self._category.__getitem__, decision.candidates))
        if decision.label is None:
            category = Category.UNKNOWN
            priority = min(map(self._priority.__getitem__, candidates), key=_RANK, default=Priority.NORMAL)
            shown = decision.candidates
        else:
            category = self._category[decision.label]
            priority = self._priority[category]
            shown = (decision.label,)
        # The engine's keywords by label name (plain strings: no Category.value call per message).
        if len(shown) == 1:  # the engine's keyword tuples are already free of duplicates
            keywords = scores.keywords.get(shown[0], ())
        else:
            keywords = tuple(dict.fromkeys(k for name in shown for k in scores.keywords.get(name, ())))
        return Classification(
            category=category,
            priority=priority,
            location=location,
            keywords=keywords,
            confidence=decision.confidence if category is not Category.UNKNOWN else 0.0,
            candidates=candidates,
            emergency_level=_LEVELS[self.engine.certainty(scores, decision, _EMERGENCY)],
        )


def load_classifier(
    rules_path: Path | None = None,
    compounds: Mapping[str, Sequence[str]] | None = None,
    userdict: Path | None = DEFAULT_USERDICT,
    model: Path | None = None,
) -> RuleClassifier:
    """Build the classifier from a rules file (default: the shipped rules) and the community's compounds.

    Args:
        rules_path: YAML rules file; None uses nlp/data/rules.yaml.
        compounds: canonical compound name -> aliases; names and aliases are kept whole by jieba
            and location extraction returns the canonical name.
        userdict: jieba user dictionary of domain words.
        model: learned model file (DEFAULT_MODEL is the shipped one); None classifies by rules alone.

    Raises:
        RulesError: the rules file is missing or invalid.
        ModelError: the model file is missing or invalid.
    """
    rules = load_community_rules(rules_path or DEFAULT_RULES)
    compound_words = [w for name, aliases in (compounds or {}).items() for w in (name, *aliases)]
    literals = [p for cat in rules.categories for kw in cat.keywords for p in kw.parts]
    tokenizer = Tokenizer(userdict=userdict, extra_words=[*compound_words, *literals])
    normaliser = default_normaliser()
    table = normaliser.table
    heard = SoundAlike.for_keywords(literals, table.sound_alike, table.protected, table.fixed)
    # The most urgent categories' words first: they win a spelling several words share.
    by_urgency = sorted(rules.categories, key=lambda c: _PRIORITY_RANK[Priority(c.priority)])
    urgent_first = [p for cat in by_urgency for kw in cat.keywords for p in kw.parts]
    spelled = PinyinWords([*urgent_first, *compound_words, *table.sound_alike, *table.abbreviations.values()])
    classifier = RuleClassifier(rules, tokenizer, LocationExtractor(compounds), normaliser, heard, spelled)
    if model is not None:
        classifier.use_model(model)
    return classifier
