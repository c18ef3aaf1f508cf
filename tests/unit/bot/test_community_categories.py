"""A community file's `routing:` and `sla:` name the categories of the rules in effect, checked with their line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.imports.community_file import CommunityFileError, load_community, parse_community
from handlers.community.model import Role
from nlp.categories import SHIPPED, load_catalog
from nlp.types import Category, Priority
from tests.unit.bot.test_community_file import GOOD

RULES = Path(__file__).resolve().parents[3] / "deploy/examples/rules_community.yaml"
HEATING = GOOD + "  heating: [grid_member, staff]\nsla:\n  heating: {accept: 30m, resolve: 8h}\n"


def _problems(source: str, path: Path) -> list[str]:
    path.write_text(source, encoding="utf-8")
    with pytest.raises(CommunityFileError) as caught:
        load_community(path)  # the shipped categories: no rules file
    return [p.render(str(path)) for p in caught.value.problems]


def test_a_community_s_own_category_may_be_routed_and_timed() -> None:
    spec = parse_community(HEATING, "c.yaml", load_catalog(RULES))
    assert spec.routing[Category("heating")] == (Role.GRID_MEMBER, Role.STAFF)
    rule = spec.settings.sla_for(Category("heating"), Priority.HIGH)
    assert (rule.accept, rule.resolve) == (timedelta(minutes=30), timedelta(hours=8))
    pets = spec.settings.sla_for(Category("pets"), Priority.NORMAL)  # none of its own: its priority's
    assert pets == spec.settings.sla_for(Category.REPAIR, Priority.NORMAL)


def test_without_the_rules_file_the_same_keys_are_refused_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "community.yaml"
    lines = HEATING.splitlines()
    routing_line = lines.index("  heating: [grid_member, staff]") + 1
    sla_line = lines.index("  heating: {accept: 30m, resolve: 8h}") + 1
    found = _problems(HEATING, path)
    assert any(
        p.startswith(f"{path}:{routing_line}: routing.heating: unknown category 'heating'") for p in found
    )
    assert any(p.startswith(f"{path}:{sla_line}: sla.heating: unknown category 'heating'") for p in found)
    assert all("GRIDBOT_RULES_FILE" in p for p in found)  # says where a new category is declared


def test_a_key_the_rules_do_not_declare_is_refused_even_with_them() -> None:
    with pytest.raises(CommunityFileError) as caught:
        parse_community(GOOD + "  heatng: staff\n", "c.yaml", load_catalog(RULES))
    (problem,) = caught.value.problems
    assert problem.line == GOOD.count("\n") + 1
    assert "unknown category 'heatng'" in problem.message
    assert "heating" in problem.message  # the known keys are listed, the community's own among them


def test_unknown_is_never_a_routing_key() -> None:
    with pytest.raises(CommunityFileError, match="routing.unknown: unknown category"):
        parse_community(GOOD + "  unknown: staff\n", "c.yaml", SHIPPED)
