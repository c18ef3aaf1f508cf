"""YAML as an operator's file may be trusted to be: plain values, lists and mappings, nothing clever.

`yaml.safe_load` stops code execution but not the rest: an alias bomb ("billion laughs") expands to
gigabytes, a self-referencing anchor (`&a [*a]`) recurses until a 1,000-line traceback, a second `name:`
silently replaces the first, and a deeply nested document exhausts the stack. The strict loader here
refuses each at its line, while composing, before anything is expanded:

- anchors and aliases (`&name`, `*name`): a community file has no need to share values;
- duplicate keys in a mapping, and keys that are lists or mappings;
- nesting deeper than MAX_DEPTH;
- tags other than YAML's plain types (`!foo`, `!!python/...`).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent

MAX_DEPTH = 32  # the community file is 5 levels deep; the stack would give out near 1,000

_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map")
)


class YamlRefused(Exception):
    """The document is not plain YAML; `line` is 1-based (0: the file as a whole)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line
        self.message = message


class _StrictLoader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, AliasEvent) or (
            isinstance(event, ScalarEvent | CollectionStartEvent) and event.anchor is not None
        ):
            raise YamlRefused(
                line, "anchors and aliases (&name, *name) are not supported: write each value out in full"
            )
        tag = getattr(event, "tag", None)
        if tag not in (None, "!") and self._expand(tag) not in _PLAIN_TAGS:
            raise YamlRefused(line, f"the tag {tag} is not supported: write plain values")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YamlRefused(line, f"nested more than {MAX_DEPTH} levels deep")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    @staticmethod
    def _expand(tag: str) -> str:
        return "tag:yaml.org,2002:" + tag[2:] if tag.startswith("!!") else tag

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:  # types-PyYAML misnames `anchor`
        node = super().compose_mapping_node(anchor)
        seen: dict[str, int] = {}
        for key, _ in node.value:
            line = key.start_mark.line + 1
            if not isinstance(key, yaml.ScalarNode):
                raise YamlRefused(line, "a key must be a plain value, not a list or a mapping")
            if key.value in seen:
                raise YamlRefused(line, f"duplicate key {key.value!r} (first on line {seen[key.value]})")
            seen[key.value] = line
        return node


def compose(source: str) -> yaml.Node | None:
    """The document's node tree (None when empty); raise YamlRefused with a line for anything refused.

    Malformed YAML is refused the same way, with the line the parser stopped at.
    """
    try:
        loader = _StrictLoader(source)
    except yaml.reader.ReaderError as error:  # a control character, checked before parsing starts
        line = source.count("\n", 0, error.position) + 1
        raise YamlRefused(line, f"character #x{error.character:04x} is not allowed in YAML") from error
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        detail = ", ".join(part for part in (error.context, error.problem) if part) or "not valid YAML"
        where = f" (column {mark.column + 1})" if mark is not None else ""
        raise YamlRefused(mark.line + 1 if mark else 0, f"not valid YAML: {detail}{where}") from error
    except yaml.YAMLError as error:
        raise YamlRefused(0, f"not valid YAML: {str(error).splitlines()[0]}") from error
    finally:
        loader.dispose()


def scalar(node: yaml.ScalarNode) -> Any:
    """A scalar as Python sees it (int, float, bool, None, date, str); text when YAML's guess fails.

    `2020-13-45` looks like a date to YAML and fails as one: kept as the text it is, for validation to judge.
    """
    try:
        return yaml.SafeLoader("").construct_object(node)
    except (yaml.YAMLError, ValueError, OverflowError):
        return node.value


def load(source: str) -> Any:
    """Plain Python values from a strict document (front matter, small settings files)."""
    node = compose(source)
    return None if node is None else _build(node)


def _build(node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return {_build(k): _build(v) for k, v in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_build(v) for v in node.value]
    return scalar(node)  # type: ignore[arg-type]
