"""The community file: every problem reported with its line, or a complete, valid structure."""

from __future__ import annotations

import pytest

from bot.imports.community_file import CommunityFileError, load_community, parse_community
from handlers.community.model import Role
from nlp.types import Category
from tests.driver import EXAMPLE_COMMUNITY

GOOD = """\
community:
  name: 测试社区
compounds:
  - name: 兴泰小区
    aliases: [兴泰]
    buildings: ["1-3", {number: "5", units: 2}]
grids:
  - name: 第一网格
    leader: 王建国
    covers:
      - {compound: 兴泰, buildings: [1, 2, 3, 5]}
people:
  - {name: 王建国, chat_id: 1, roles: [grid_leader], grid: 第一网格}
  - {name: 李娜, chat_id: 2, roles: [grid_member], grid: 第一网格}
routing:
  fraud: staff
"""


def problems(source: str) -> list[str]:
    with pytest.raises(CommunityFileError) as caught:
        parse_community(source, "c.yaml")
    return [p.render("c.yaml") for p in caught.value.problems]


def test_the_shipped_example_is_valid() -> None:
    spec = load_community(EXAMPLE_COMMUNITY)
    assert [c.name for c in spec.compounds] == [
        "森源华府",
        "滨河花园",
        "阳光上城",
        "兴泰小区",
        "太平洋",
        "南通新区",
        "宝山丽湾",
        "宝山花园",
        "安居苑",
    ]
    assert 3 <= len(spec.grids) <= 4
    covered = {b for g in spec.grids for b in g.buildings}
    assert covered == {(c.name, b.number) for c in spec.compounds for b in c.buildings}


def test_a_good_file_parses_with_ranges_aliases_and_routing() -> None:
    spec = parse_community(GOOD)
    (compound,) = spec.compounds
    assert [b.number for b in compound.buildings] == ["1", "2", "3", "5"]
    assert compound.buildings[3].units == 2
    assert spec.grids[0].buildings == (
        ("兴泰小区", "1"),
        ("兴泰小区", "2"),
        ("兴泰小区", "3"),
        ("兴泰小区", "5"),
    )
    assert spec.routing == {Category.FRAUD: (Role.STAFF,)}


def test_unknown_building_is_reported_at_its_line() -> None:
    found = problems(GOOD.replace("buildings: [1, 2, 3, 5]", "buildings: [1, 2, 3, 5, 99]"))
    assert found == ["c.yaml:11: grids[0].covers[0].buildings: unknown building 兴泰小区 99号楼"]


def test_duplicate_chat_id_is_reported_at_its_line() -> None:
    found = problems(GOOD.replace("chat_id: 2,", "chat_id: 1,"))
    assert found == ["c.yaml:14: people[1].chat_id: duplicate chat id 1 (line 13)"]


def test_grid_covering_nothing_is_reported() -> None:
    source = GOOD.replace("grids:\n", "grids:\n  - name: 第二网格\n    covers: []\n")
    assert "c.yaml:8: grids[0]: grid 第二网格 covers no building" in problems(source)


def test_every_problem_is_reported_at_once() -> None:
    source = (
        GOOD.replace("roles: [grid_member]", "roles: [boss]")
        .replace("fraud: staff", "fraud: nobody")
        .replace("leader: 王建国", "leader: 不存在")
    )
    found = problems(source)
    assert len(found) == 3
    assert any("unknown role 'boss'" in p for p in found)
    assert any("routing.fraud: unknown role 'nobody'" in p for p in found)
    assert any("unknown person '不存在'" in p for p in found)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("community: [unclosed\n", "c.yaml:2: yaml: not valid YAML"),
        ("", "c.yaml: the file is empty"),
        ("- just\n- a list\n", "c.yaml:1: top level: should be a mapping"),
    ],
)
def test_malformed_files_get_a_clear_message(source: str, expected: str) -> None:
    assert problems(source)[0].startswith(expected)


def test_building_in_two_grids_is_refused() -> None:
    source = GOOD.replace(
        "people:", "  - name: 第二网格\n    covers:\n      - {compound: 兴泰小区, buildings: [1]}\npeople:"
    )
    assert any("is already in grid 第一网格" in p for p in problems(source))


def test_settings_sla_deputies_and_duty_hours() -> None:
    source = GOOD.replace(
        "  - {name: 李娜, chat_id: 2, roles: [grid_member], grid: 第一网格}",
        "  - {name: 李娜, chat_id: 2, roles: [grid_member], grid: 第一网格, deputy: 王建国, duty: mon-fri 08:30-17:30}",
    ).replace("routing:\n  fraud: staff\n", "routing:\n  fraud: [police_liaison, staff]\n")
    source += (
        "settings:\n  assignment: round_robin\n  working_time: true\n  escalate_every: 90m\n"
        "  checkin: {time: '08:00', answer_within: 2h}\n"
        "sla:\n  repair: {accept: 2h, resolve: 2d}\n"
    )
    spec = parse_community(source)
    li = spec.people[1]
    assert li.deputy == "王建国"
    assert li.duty is not None
    assert li.duty.weekdays == frozenset(range(5))
    assert spec.routing[Category.FRAUD] == (Role.POLICE_LIAISON, Role.STAFF)
    settings = spec.settings
    assert settings.assignment == "round_robin"
    assert settings.working_time
    assert settings.escalate_every.total_seconds() == 90 * 60
    assert settings.checkin_time.hour == 8
    assert settings.sla["repair"].resolve.days == 2


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            (
                "roles: [grid_member], grid: 第一网格}",
                "roles: [grid_member], grid: 第一网格, deputy: 无名氏}",
            ),
            "unknown person '无名氏'",
        ),
        (
            (
                "roles: [grid_member], grid: 第一网格}",
                "roles: [grid_member], grid: 第一网格, duty: sometimes}",
            ),
            "should look like mon-fri",
        ),
    ],
)
def test_bad_people_settings_are_reported(change: tuple[str, str], expected: str) -> None:
    assert any(expected in p for p in problems(GOOD.replace(*change)))


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("settings:\n  assignment: random\n", "should be least_loaded or round_robin"),
        ("settings:\n  escalate_every: soon\n", "is not a duration"),
        ("settings:\n  remind_before: 3\n", "between 0 and 1"),
        ("settings:\n  colour: red\n", "unknown setting"),
        ("sla:\n  plumbing: {accept: 1h}\n", "sla.plumbing: unknown category 'plumbing'"),
        ("sla:\n  repair: {accept: 3d, resolve: 1h}\n", "accept should not be later than resolve"),
    ],
)
def test_bad_settings_are_reported(extra: str, expected: str) -> None:
    assert any(expected in p for p in problems(GOOD + extra))
