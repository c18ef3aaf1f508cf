"""The community's categories: the 13 shipped keys plus those its rules file adds, with labels and priorities.

Built once at start-up from the rules in effect (`gridbot` reads GRIDBOT_RULES_FILE, else the shipped rules),
then read by everything that shows or checks a category: the resident's "please choose" buttons, cards,
statistics, exports and the desk. Nothing here reads a file per message.

A community's rules file is either a whole rules file or a short one that starts from the shipped rules::

    version: 1
    extends: shipped
    categories:
      heating: {label: 供暖, priority: high, keywords: [{all: [暖气, [不热, 冰凉]], weight: 3}]}
      other: {label: 其他事项}     # a shipped category: relabel it, re-prioritise it, add keywords
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from nlp.errors import RulesError
from nlp.rules import RuleSet, load_rules
from nlp.types import CATEGORY_LABELS, SHIPPED_CATEGORIES, Category, Priority

# The shipped rules' priorities (nlp/data/rules.yaml; a test keeps the two in step), so the shipped
# categories need no YAML parsed to be labelled.
_SHIPPED_PRIORITY = {
    Category.EMERGENCY: Priority.URGENT,
    Category.SAFETY_HAZARD: Priority.HIGH,
    Category.ASSISTANCE: Priority.HIGH,
}


@dataclass(frozen=True)
class CategoryInfo:
    key: Category
    label: str  # the Chinese name residents and staff see
    priority: Priority  # what a report of this kind gets at least


class Catalog:
    """Known categories in the order residents are offered them (shipped order, a community's own before
    其他), each with its label and priority. Unknown keys (an order whose category a community later
    removed) still get a label: the key itself, so nothing breaks and nothing is silently renamed."""

    def __init__(self, infos: Iterable[CategoryInfo]) -> None:
        self._infos = {info.key.value: info for info in infos}  # by plain key: a stored str finds it
        self.choosable: tuple[Category, ...] = tuple(info.key for info in self._infos.values())
        self._unknown = CATEGORY_LABELS[Category.UNKNOWN.value]

    def __contains__(self, key: object) -> bool:
        return key in self._infos

    def infos(self) -> tuple[CategoryInfo, ...]:
        return tuple(self._infos.values())

    def get(self, key: str) -> Category | None:
        """The category a key names when this community knows it (never UNKNOWN); else None."""
        info = self._infos.get(key)
        return info.key if info is not None else None

    def label(self, key: str) -> str:
        info = self._infos.get(key)
        if info is not None:
            return info.label
        return self._unknown if key == Category.UNKNOWN.value else str(key)

    def priority(self, key: str) -> Priority:
        info = self._infos.get(key)
        return info.priority if info is not None else Priority.NORMAL


SHIPPED = Catalog(
    CategoryInfo(c, CATEGORY_LABELS[c.value], _SHIPPED_PRIORITY.get(c, Priority.NORMAL))
    for c in SHIPPED_CATEGORIES
)


def categories_of(classifier: object) -> Catalog:
    """The categories a classifier was built with (a RuleClassifier's), else the shipped ones (a fake)."""
    found = getattr(classifier, "categories", None)
    return found if isinstance(found, Catalog) else SHIPPED


def catalog_from_rules(rules: RuleSet) -> Catalog:
    """The shipped categories relabelled and re-prioritised by the rules, then the rules' own (in file
    order) before 其他 (`other`), which stays last. The rules were validated with `strict_keys`."""
    declared = {Category(c.name): c for c in rules.categories}
    infos: list[CategoryInfo] = []
    for key in SHIPPED_CATEGORIES:
        if key is Category.OTHER:
            infos.extend(_info(r.label, r.priority, own) for own, r in declared.items() if own not in SHIPPED)
        rule = declared.get(key)
        if rule is None:
            infos.append(CategoryInfo(key, SHIPPED.label(key), SHIPPED.priority(key)))
        else:
            infos.append(_info(rule.label or SHIPPED.label(key), rule.priority, key))
    return Catalog(infos)


def _info(label: str | None, priority: str, key: Category) -> CategoryInfo:
    assert label is not None, "strict_keys validation requires a label for a new category"
    return CategoryInfo(key, label, Priority(priority))


SHIPPED_RULES = Path(__file__).resolve().parent / "data" / "rules.yaml"
_OVERLAY_KEYS = {"version", "extends", "settings", "categories"}
_SHIPPED_CATEGORY_KEYS = {"label", "priority", "keywords", "exclude"}


def load_community_rules(path: Path) -> RuleSet:
    """The rules gridbot runs on: a whole rules file, or one that `extends: shipped` (validated as one
    merged file; problems name `path` and the line in it).

    Raises:
        RulesError: the file is missing or invalid.
    """
    return load_rules(path, strict_keys=True, extend=lambda data: extend_shipped(data, path))


def load_catalog(rules_file: Path | None) -> Catalog:
    """The categories of a rules file (None: the shipped ones, without reading any file).

    Raises:
        RulesError: the rules file is missing or invalid (the message names the file and line).
    """
    if rules_file is None:
        return SHIPPED
    return catalog_from_rules(load_community_rules(rules_file))


@cache
def _shipped_data() -> Any:
    return yaml.load(
        SHIPPED_RULES.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    )


def extend_shipped(data: Any, source: Path | str) -> Any:
    """`data` unchanged unless it says `extends: shipped`; then the shipped rules with its changes: its
    settings over theirs, its keywords and excludes before theirs, its label and priority instead of
    theirs, and its new categories after the shipped ones but before `other`, which stays last."""
    if not isinstance(data, Mapping) or "extends" not in data:
        return data
    if data["extends"] != "shipped":
        raise RulesError(
            source, f"extends: {data['extends']!r} is not 'shipped' (the only rules to start from)"
        )
    extra = set(data) - _OVERLAY_KEYS
    if extra:
        raise RulesError(
            source,
            f"unknown top-level key(s) with extends: {', '.join(sorted(map(str, extra)))} "
            "(to change polarity, copy the whole shipped rules file instead)",
        )
    merged = copy.deepcopy(_shipped_data())
    settings = data.get("settings") or {}
    if not isinstance(settings, Mapping):
        raise RulesError(source, "settings: must be a mapping")
    for key, value in settings.items():
        if key in ("override", "certain") and isinstance(value, Mapping):
            merged["settings"][key] = {**(merged["settings"].get(key) or {}), **value}
        else:
            merged["settings"][key] = value
    categories = data.get("categories") or {}
    if not isinstance(categories, Mapping):
        raise RulesError(source, "categories: must be a mapping of category name -> rules")
    shipped: dict[str, Any] = merged["categories"]
    added: dict[str, Any] = {}
    for name, body in categories.items():
        if name not in shipped:
            added[name] = body
            continue
        where = f"categories.{name}"
        if not isinstance(body, Mapping):
            raise RulesError(source, f"{where}: must be a mapping (label, priority, keywords, exclude)")
        extra = set(body) - _SHIPPED_CATEGORY_KEYS
        if extra:
            raise RulesError(
                source,
                f"{where}: a shipped category takes {', '.join(sorted(_SHIPPED_CATEGORY_KEYS))}, "
                f"not {', '.join(sorted(map(str, extra)))}",
            )
        base = shipped[name]
        for key in ("label", "priority"):
            if key in body:
                base[key] = body[key]
        for key in ("keywords", "exclude"):
            mine = body.get(key) or []
            if not isinstance(mine, list):
                raise RulesError(source, f"{where}.{key}: must be a list")
            base[key] = [*mine, *(base.get(key) or [])]  # its own first: its problems keep their index
    last = {"other": shipped.pop("other")} if "other" in shipped else {}
    merged["categories"] = {**shipped, **added, **last}
    return merged
