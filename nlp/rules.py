"""Rules as data: parse and validate a YAML rules file into an immutable RuleSet.

Format (see nlp/data/rules.yaml for the shipped default)::

    version: 1
    settings:
      min_score: 1.0          # best score below this -> unknown
      ambiguity_margin: 0.5   # best - second below this -> unknown
      override: {emergency: 2.0}  # a category reaching this score wins outright (recall bias)
    categories:
      emergency:
        priority: urgent      # urgent | high | normal
        label: 紧急求助        # the Chinese name shown (required for a category that is not shipped)
        keywords:
          - 着火                          # weight = default_weight (1.0)
          - {text: 煤气味, weight: 3}
          - {words: [起火, 失火], weight: 3}
          - {all: [怪味, 燃气], weight: 3}  # every part must occur in the message
          - {all: [电梯, [困, 夹, 关在], [有人, 里面]], weight: 3}  # a list part: any one of its words
          - {all: [电梯, 停在, 里头], within: sentence}  # parts meet in one clause unless widened
          - {text: 火, whole_word: true}  # only when jieba cuts it as a word of its own
          - {text: 人倒了, whole_word: true}  # a phrase: starts and ends at jieba token boundaries
        exclude:                          # regexes; keyword hits inside a match are dropped
          - 防火宣传
          - (?<!是)不是着火
    polarity:                             # cues that cancel or lower what they govern (nlp/scope.py)
      kinds:
        negation: {cues: [不是, 没有], scope: after, max_chars: 8, factor: 0, labels: [emergency]}
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nlp.errors import RulesError
from nlp.normalise import normalise
from nlp.scope import WITHIN, Polarity, parse_polarity
from nlp.types import CATEGORY_LABELS, Category

PRIORITIES = ("urgent", "high", "normal")
_MAX_LABEL = 16  # a label is a button's text and a spreadsheet column's heading
_PATH = re.compile(r"^((?:categories|settings|polarity)[^\s:]*)")
_STEP = re.compile(r"\.?([^.\[]+)|\[(\d+)\]")
# libyaml's loader when PyYAML has it: parsing the rules is most of the classifier's start-up.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Keyword:
    """One scoring rule: a literal (`parts` of length 1) or a co-occurrence of several literals.

    `groups` is the condition: every group must have at least one of its literals in the message.
    A plain keyword is one group of one literal; `{all: [a, [b, c]]}` is ((a,), (b, c)).
    `parts` lists every literal the rule mentions (what the matcher must look for).
    """

    parts: tuple[str, ...]
    weight: float
    whole_word: bool = False
    groups: tuple[tuple[str, ...], ...] = ()
    within: str = "clause"  # where a co-occurrence's parts must meet: clause | sentence | message

    def __post_init__(self) -> None:
        if not self.groups:
            object.__setattr__(self, "groups", tuple((p,) for p in self.parts))

    @property
    def text(self) -> str:
        return "+".join("|".join(g) for g in self.groups)


@dataclass(frozen=True)
class CategoryRules:
    name: str
    priority: str
    keywords: tuple[Keyword, ...]
    exclude: tuple[re.Pattern[str], ...] = ()
    label: str | None = None  # None: the shipped label (nlp/types.py CATEGORY_LABELS)


@dataclass(frozen=True)
class Settings:
    min_score: float = 1.0
    ambiguity_margin: float = 0.5
    override: Mapping[str, float] | None = None
    # label -> the score its firm evidence (exact words, affirmative, present) must reach to be certain
    certain: Mapping[str, float] | None = None


@dataclass(frozen=True)
class RuleSet:
    """Validated rules; `categories` keeps file order, which is the precedence for ties."""

    categories: tuple[CategoryRules, ...]
    settings: Settings
    source: str
    polarity: Polarity | None = None


def load_rules(
    path: Path,
    allowed: Collection[str] | None = None,
    *,
    strict_keys: bool = False,
    extend: Callable[[Any], Any] | None = None,
) -> RuleSet:
    """Read and validate a rules YAML file.

    Args:
        path: the YAML file.
        allowed: category names the caller understands; None accepts any name (external label sets).
        strict_keys: names must be category keys (nlp/types.py Category) and a category that is not
            shipped must have a `label:` (what gridbot itself loads).
        extend: applied to the parsed YAML before it is validated (nlp/categories.py: `extends: shipped`).

    Raises:
        RulesError: unreadable file, bad YAML or an invalid entry; the message says which and where.
    """
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(path, f"cannot read rules file ({exc.strerror or exc})") from exc
    try:
        data = yaml.load(raw, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise RulesError(path, f"invalid YAML: {exc}") from exc
    try:
        if extend is not None:
            data = extend(data)
        return parse_rules(data, source=str(path), allowed=allowed, strict_keys=strict_keys)
    except RulesError as exc:  # only now, on the error path, find the line it is about
        raise RulesError(path, exc.problem, line=line_of(raw, exc.problem)) from None


def parse_rules(
    data: Any, source: str = "<rules>", allowed: Collection[str] | None = None, *, strict_keys: bool = False
) -> RuleSet:
    """Validate an already-parsed rules mapping (what `load_rules` reads from YAML)."""
    if not isinstance(data, Mapping):
        raise RulesError(source, "top level must be a mapping with a 'categories:' key")
    unknown_keys = set(data) - {"version", "settings", "categories", "polarity"}
    if unknown_keys:
        raise RulesError(source, f"unknown top-level key(s): {', '.join(sorted(map(str, unknown_keys)))}")
    if data.get("version", 1) != 1:
        raise RulesError(source, f"unsupported version {data.get('version')!r} (expected 1)")
    cats = data.get("categories")
    if not isinstance(cats, Mapping) or not cats:
        raise RulesError(source, "'categories:' must be a non-empty mapping of category name -> rules")
    categories = tuple(_parse_category(source, str(name), body, allowed) for name, body in cats.items())
    if strict_keys:
        _check_keys(source, categories)
    names = {c.name for c in categories}
    settings = _parse_settings(source, data.get("settings") or {}, names)
    polarity = parse_polarity(source, data.get("polarity"), names)
    return RuleSet(categories=categories, settings=settings, source=source, polarity=polarity)


def _parse_settings(source: str, raw: Any, names: set[str]) -> Settings:
    if not isinstance(raw, Mapping):
        raise RulesError(source, "'settings:' must be a mapping")
    extra = set(raw) - {"min_score", "ambiguity_margin", "override", "certain"}
    if extra:
        raise RulesError(source, f"settings: unknown key(s) {', '.join(sorted(map(str, extra)))}")
    min_score = _number(source, "settings.min_score", raw.get("min_score", 1.0))
    margin = _number(source, "settings.ambiguity_margin", raw.get("ambiguity_margin", 0.5))
    return Settings(
        min_score=min_score,
        ambiguity_margin=margin,
        override=_thresholds(source, "override", raw.get("override"), names),
        certain=_thresholds(source, "certain", raw.get("certain"), names),
    )


def _thresholds(source: str, key: str, raw: Any, names: set[str]) -> dict[str, float]:
    if not isinstance(raw or {}, Mapping):
        raise RulesError(source, f"settings.{key} must map category -> minimum score")
    thresholds: dict[str, float] = {}
    for name, value in (raw or {}).items():
        if name not in names:
            raise RulesError(source, f"settings.{key}: category {name!r} has no rules")
        thresholds[str(name)] = _number(source, f"settings.{key}.{name}", value)
    return thresholds


def _parse_category(source: str, name: str, body: Any, allowed: Collection[str] | None) -> CategoryRules:
    where = f"categories.{name}"
    if allowed is not None and name not in allowed:
        raise RulesError(source, f"{where}: unknown category (expected one of {', '.join(allowed)})")
    if not isinstance(body, Mapping):
        raise RulesError(source, f"{where}: must be a mapping with 'keywords:'")
    extra = set(body) - {"priority", "keywords", "exclude", "default_weight", "label"}
    if extra:
        raise RulesError(source, f"{where}: unknown key(s) {', '.join(sorted(map(str, extra)))}")
    priority = body.get("priority", "normal")
    if priority not in PRIORITIES:
        raise RulesError(source, f"{where}.priority: {priority!r} is not one of {', '.join(PRIORITIES)}")
    default_weight = _number(source, f"{where}.default_weight", body.get("default_weight", 1.0))
    raw_keywords = body.get("keywords")
    if not isinstance(raw_keywords, Sequence) or isinstance(raw_keywords, str) or not raw_keywords:
        raise RulesError(source, f"{where}.keywords: must be a non-empty list")
    keywords: list[Keyword] = []
    for i, item in enumerate(raw_keywords):
        keywords.extend(_parse_keyword(source, f"{where}.keywords[{i}]", item, default_weight))
    raw_exclude = body.get("exclude") or []
    if not isinstance(raw_exclude, Sequence) or isinstance(raw_exclude, str):
        raise RulesError(source, f"{where}.exclude: must be a list of regular expressions")
    exclude = tuple(_regex(source, f"{where}.exclude[{i}]", p) for i, p in enumerate(raw_exclude))
    label = body.get("label")
    if label is not None and (
        not isinstance(label, str)
        or not label.strip()
        or len(label.strip()) > _MAX_LABEL
        or not label.isprintable()
    ):
        raise RulesError(
            source, f"{where}.label: must be a short text (1 to {_MAX_LABEL} characters), got {label!r}"
        )
    return CategoryRules(
        name=name,
        priority=priority,
        keywords=tuple(keywords),
        exclude=exclude,
        label=label.strip() if label is not None else None,
    )


def _check_keys(source: str, categories: tuple[CategoryRules, ...]) -> None:
    """Names are category keys; a new category says what it is called; no two share a label."""
    labels: dict[str, str] = {}
    for c in categories:
        where = f"categories.{c.name}"
        if c.name == Category.UNKNOWN.value:
            raise RulesError(
                source, f"{where}: 'unknown' is what an unclassified message gets; use another key"
            )
        try:
            Category(c.name)
        except ValueError as exc:
            raise RulesError(source, f"{where}: {exc}") from None
        label = c.label or CATEGORY_LABELS.get(c.name)
        if label is None:
            raise RulesError(source, f"{where}: a new category needs a label: (its Chinese name)")
        if label in labels:
            raise RulesError(source, f"{where}.label: {label!r} is already the label of {labels[label]}")
        labels[label] = c.name


def _parse_keyword(source: str, where: str, item: Any, default_weight: float) -> list[Keyword]:
    if isinstance(item, str):
        return [Keyword((_literal(source, where, item),), default_weight)]
    if not isinstance(item, Mapping):
        raise RulesError(source, f"{where}: expected a string or a mapping, got {type(item).__name__}")
    forms = [k for k in ("text", "words", "all") if k in item]
    if len(forms) != 1:
        raise RulesError(source, f"{where}: give exactly one of 'text', 'words' or 'all'")
    extra = set(item) - {"text", "words", "all", "weight", "whole_word", "within"}
    if extra:
        raise RulesError(source, f"{where}: unknown key(s) {', '.join(sorted(map(str, extra)))}")
    weight = _number(source, f"{where}.weight", item.get("weight", default_weight))
    whole_word = item.get("whole_word", False)
    if not isinstance(whole_word, bool):
        raise RulesError(source, f"{where}.whole_word: must be true or false")
    form = forms[0]
    if "within" in item and form != "all":
        raise RulesError(source, f"{where}: 'within' only applies to 'all' (a combination of words)")
    if form == "text":
        return [Keyword((_literal(source, where, item["text"]),), weight, whole_word)]
    parts = item[form]
    if not isinstance(parts, Sequence) or isinstance(parts, str) or not parts:
        raise RulesError(source, f"{where}.{form}: must be a non-empty list of strings")
    if form == "words":
        literals = [_literal(source, f"{where}.{form}[{i}]", p) for i, p in enumerate(parts)]
        return [Keyword((lit,), weight, whole_word) for lit in literals]
    if whole_word:
        raise RulesError(source, f"{where}: whole_word is not supported with 'all'")
    within = item.get("within", "clause")
    if within not in WITHIN:
        raise RulesError(source, f"{where}.within: {within!r} is not one of {', '.join(WITHIN)}")
    groups: list[tuple[str, ...]] = []
    for i, part in enumerate(parts):
        here = f"{where}.all[{i}]"
        if isinstance(part, Sequence) and not isinstance(part, str):
            if not part:
                raise RulesError(source, f"{here}: a list of alternatives must not be empty")
            groups.append(
                tuple(dict.fromkeys(_literal(source, f"{here}[{j}]", a) for j, a in enumerate(part)))
            )
        else:
            groups.append((_literal(source, here, part),))
    flat = tuple(dict.fromkeys(lit for g in groups for lit in g))
    return [Keyword(flat, weight, groups=tuple(groups), within=within)]


def _literal(source: str, where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RulesError(source, f"{where}: keyword must be a non-empty string, got {value!r}")
    # Messages are matched after normalise(); keywords must be in the same form.
    return normalise(value.strip())


def _number(source: str, where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RulesError(source, f"{where}: must be a number, got {value!r}")
    if value < 0:
        raise RulesError(source, f"{where}: must not be negative, got {value!r}")
    return float(value)


def _regex(source: str, where: str, pattern: Any) -> re.Pattern[str]:
    if not isinstance(pattern, str) or not pattern:
        raise RulesError(source, f"{where}: must be a non-empty string (a regular expression)")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise RulesError(source, f"{where}: invalid regular expression {pattern!r}: {exc}") from exc


def line_of(text: str, problem: str) -> int | None:
    """The 1-based line of the entry a problem names ("categories.x.keywords[2]: ..."), as deep as the
    document goes; None when the problem names no entry. Parses the text again: call it on errors only."""
    match = _PATH.match(problem)
    if match is None:
        return None
    try:
        node: Any = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError:
        return None
    line = None
    for name, index in _STEP.findall(match[1]):
        if isinstance(node, yaml.MappingNode) and name:
            found = [(k, v) for k, v in node.value if str(k.value) == name]
            if not found:
                break
            key, node = found[0]
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and index and int(index) < len(node.value):
            node = node.value[int(index)]
            line = node.start_mark.line + 1
        else:
            break
    return line
