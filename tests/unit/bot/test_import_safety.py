"""Operators' files never crash an import and never pass `--dry-run` with what the database would refuse.

YAML: an alias bomb, a self-referencing anchor, a duplicate key, deep nesting and foreign tags each give one
line with its line number, at once. Encodings: UTF-8, UTF-8 with BOM, GBK and GB18030 are read (and the
encoding named); others are refused in one line. Lengths and chat ids: checked against the columns.
"""

from __future__ import annotations

import logging
import time
from datetime import date
from pathlib import Path

import pytest

from bot.imports import limits
from bot.imports.campaigns import CampaignFileError, parse_file
from bot.imports.community_file import CommunityFileError, load_community, parse_community
from bot.imports.encoding import UnreadableFile, decode
from bot.imports.ledger_file import LedgerFileError, load_ledger, parse_ledger
from bot.imports.safe_yaml import YamlRefused, compose, load
from storage.models import BuildingRow, CompoundRow, GridRow, PersonRow, ResidentRow
from tests.unit.bot.test_community_file import GOOD

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def community_problems(source: str) -> list[str]:
    with pytest.raises(CommunityFileError) as caught:
        parse_community(source, "c.yaml")
    return [p.render("c.yaml") for p in caught.value.problems]


def test_an_alias_bomb_is_refused_in_milliseconds_with_one_line() -> None:
    started = time.perf_counter()
    found = community_problems(BILLION_LAUGHS)
    assert time.perf_counter() - started < 0.05
    assert found == [
        "c.yaml:1: yaml: anchors and aliases (&name, *name) are not supported: write each value out in full"
    ]


@pytest.mark.parametrize("source", ["community: &c [*c]\n", "a: &a {b: *a}\n", "x: *nowhere\n"])
def test_self_references_and_undefined_aliases_give_one_line(source: str) -> None:
    (line,) = community_problems(source)
    assert line.startswith("c.yaml:1: yaml: anchors and aliases")


def test_duplicate_keys_are_refused_with_both_lines() -> None:
    source = GOOD.replace("routing:\n  fraud: staff\n", "routing:\n  fraud: staff\n  fraud: police_liaison\n")
    line = GOOD.count("\n") + 1  # the line after GOOD's last
    assert community_problems(source) == [
        f"c.yaml:{line}: yaml: duplicate key 'fraud' (first on line {line - 1})"
    ]
    assert community_problems("community:\n  name: a\n  name: b\n") == [
        "c.yaml:3: yaml: duplicate key 'name' (first on line 2)"
    ]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("[" * 5000 + "]" * 5000, "nested more than 32 levels deep"),
        ("community: !!python/object/apply:os.system [ls]\n", "is not supported: write plain values"),
        ("community: !secret x\n", "the tag !secret is not supported"),
        ("? [a, b]\n: 1\n", "a key must be a plain value"),
        ("community:\n  name: a\x00b\n", "character #x0000 is not allowed"),
        ("a: b\n---\nc: d\n", "expected a single document"),
    ],
)
def test_other_unsafe_yaml_is_one_line(source: str, expected: str) -> None:
    (line,) = community_problems(source)
    assert expected in line
    assert "\n" not in line


def test_a_date_yaml_cannot_read_stays_a_text_for_validation() -> None:
    assert load("a: 2020-13-45\nb: 2026-05-01\n") == {"a": "2020-13-45", "b": date(2026, 5, 1)}
    assert parse_community(GOOD.replace("name: 测试社区", "name: 2020-13-45")).name == "2020-13-45"
    assert any(
        "should be a whole number, not '99-99-99'" in p
        for p in community_problems(GOOD.replace("chat_id: 1,", "chat_id: 99-99-99,"))
    )


def test_a_plain_document_still_loads() -> None:
    assert load("a: [1, {b: c}]\nd: !!str 12\n") == {"a": [1, {"b": "c"}], "d": "12"}
    assert compose("") is None
    with pytest.raises(YamlRefused) as refused:
        load("a: [")
    assert refused.value.line == 1


def test_campaign_front_matter_is_loaded_the_same_safe_way(tmp_path: Path) -> None:
    path = tmp_path / "bomb.md"
    path.write_text("---\ntitle: &t x\ntopic: flood\nkey: *t\n---\n正文", "utf-8")
    with pytest.raises(CampaignFileError) as caught:
        parse_file(path)
    assert caught.value.problems == [
        f"{path}:2: front matter: anchors and aliases (&name, *name) are not supported: write each value out in full"
    ]
    path.write_text("---\ntitle: x\ntopic: flood\ntitle: y\n---\n正文", "utf-8")
    with pytest.raises(CampaignFileError, match=r"bomb.md:4: front matter: duplicate key 'title'"):
        parse_file(path)
    path.write_text(f"---\ntitle: {'长' * (limits.CAMPAIGN_TITLE + 1)}\ntopic: flood\n---\n正文", "utf-8")
    with pytest.raises(CampaignFileError, match="longer than 200 characters"):
        parse_file(path)


# ----------------------------------------------------------------------------- encodings

LEDGER = "chat_id,name,kinds,consent,checkin,compound,building,unit,room,note\n9001,张阿姨,独居老人,paper,是,兴泰小区,5号楼,2,501,\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (LEDGER.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + LEDGER.encode("utf-8"), "utf-8-sig"),
        (LEDGER.encode("gbk"), "gb18030"),
        # 䶮 (U+4DAE) is in GB18030 but not in GBK: a file saved by a newer Chinese Windows.
        (LEDGER.replace("张阿姨", "刘䶮").encode("gb18030"), "gb18030"),
    ],
)
def test_ledger_files_in_every_encoding_excel_saves(
    tmp_path: Path, data: bytes, encoding: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert decode(data, "x.csv").encoding == encoding
    path = tmp_path / "ledger.csv"
    path.write_bytes(data)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        (row,) = load_ledger(path)
    assert row.name in ("张阿姨", "刘䶮")
    assert row.building == "5"
    warned = [r.getMessage() for r in caplog.records if r.name == "bot.imports.encoding"]
    assert warned == (
        [f"{path} is not UTF-8: read as GB18030 (GBK); check that the names read correctly"]
        if encoding == "gb18030"
        else []
    )


def test_a_gbk_community_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "community.yaml"
    path.write_bytes(GOOD.encode("gbk"))
    assert load_community(path).name == "测试社区"


def test_unreadable_encodings_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match=r"^x.csv: saved as UTF-16"):
        decode(LEDGER.encode("utf-16"), "x.csv")
    with pytest.raises(UnreadableFile, match=r"^x.csv:3: neither UTF-8 nor GBK/GB18030 \(byte 0x80\)"):
        decode(b"a,b\nc,d\n\x80\x80\n", "x.csv")
    path = tmp_path / "community.yaml"
    path.write_bytes(b"community:\n  name: \xff\xff\n")
    with pytest.raises(CommunityFileError) as caught:
        load_community(path)
    assert [p.render(str(path)) for p in caught.value.problems] == [
        f"{path}:2: file: neither UTF-8 nor GBK/GB18030 (byte 0xff): save it as UTF-8"
    ]


# ----------------------------------------------------------------------------- lengths and ids


def test_limits_are_the_columns_sizes() -> None:
    """Each limit is read from the column that stores the field: resizing a column moves the check."""
    columns = {
        "COMPOUND_NAME": CompoundRow.__table__.c.name,
        "BUILDING_NUMBER": BuildingRow.__table__.c.number,
        "GRID_NAME": GridRow.__table__.c.name,
        "PERSON_NAME": PersonRow.__table__.c.name,
        "PERSON_PHONE": PersonRow.__table__.c.phone,
        "RESIDENT_NAME": ResidentRow.__table__.c.name,
        "UNIT": ResidentRow.__table__.c.unit,
        "ROOM": ResidentRow.__table__.c.room,
    }
    assert {name: getattr(limits, name) for name in columns} == {
        name: column.type.length for name, column in columns.items()
    }


def too_long(limit: int) -> str:
    return "长" * (limit + 1)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            "- name: 兴泰小区",
            f"- name: {too_long(limits.COMPOUND_NAME)}",
            "compounds[0].name: is 65 characters long (at most 64)",
        ),
        (
            "aliases: [兴泰]",
            f"aliases: [兴泰, {too_long(limits.COMPOUND_NAME)}]",
            "compounds[0].aliases[1]: is 65 characters long",
        ),
        (
            '{number: "5", units: 2}',
            f'{{number: "{"5" * 17}", units: 2}}',
            "compounds[0].buildings[1].number: is 17 characters long (at most 16)",
        ),
        (
            "units: 2",
            "units: 100000000000",
            "compounds[0].buildings[1].units: 100000000000 is out of range (0 to 999)",
        ),
        ("- name: 第一网格", f"- name: {too_long(limits.GRID_NAME)}", "grids[0].name: is 65 characters long"),
        (
            "{name: 李娜,",
            f"{{name: {too_long(limits.PERSON_NAME)},",
            "people[1].name: is 65 characters long (at most 64)",
        ),
        (
            "chat_id: 2,",
            "chat_id: 12345678901234567890123,",
            "people[1].chat_id: 12345678901234567890123 is not a Telegram chat id",
        ),
        (
            "grid: 第一网格}\n  - {name: 李娜",
            "grid: 第一网格, phone: '" + "1" * 33 + "'}\n  - {name: 李娜",
            "people[0].phone: is 33 characters long (at most 32)",
        ),
        (
            "    leader: 王建国",
            "    leader: 王建国\n    group_chat_id: -100000000000000000000000",
            "grids[0].group_chat_id: -100000000000000000000000 is not a Telegram chat id",
        ),
        (
            "  fraud: staff",
            "  fraud: [police_liaison, staff, grid_leader, grid_member]",
            "routing.fraud: lists more roles than fit (32 characters)",
        ),
        (
            "aliases: [兴泰]",
            "aliases: [兴泰]\n    latitude: 132",
            "compounds[0].latitude: should be a number of degrees from -90 to 90",
        ),
        ("{name: 李娜,", '{name: "李\\x00娜",', "people[1].name: contains the control character U+0000"),
    ],
)
def test_the_community_file_checks_what_the_columns_hold(old: str, new: str, problem: str) -> None:
    assert old in GOOD
    found = community_problems(GOOD.replace(old, new, 1))
    assert any(problem in p for p in found), found
    assert all(p.startswith("c.yaml:") and "\n" not in p for p in found)


def test_residents_at_the_limits_pass_and_one_over_fails() -> None:
    resident = "residents:\n  - {{name: {name}, chat_id: {chat}, address: {{compound: 兴泰小区, building: '5', unit: '{unit}', room: '{room}'}}}}\n"
    at_limit = resident.format(
        name="名" * limits.RESIDENT_NAME,
        chat=limits.CHAT_ID_MAX,
        unit="1" * limits.UNIT,
        room="2" * limits.ROOM,
    )
    (stored,) = parse_community(GOOD + at_limit).residents
    assert len(stored.name) == limits.RESIDENT_NAME
    over = resident.format(name="名" * 65, chat=2**63, unit="1" * 9, room="2" * 9)
    found = community_problems(GOOD + over)
    assert [p.split(": ", 1)[1] for p in found] == [
        "residents[0].name: is 65 characters long (at most 64)",
        "residents[0].chat_id: 9223372036854775808 is not a Telegram chat id (too many digits)",
        "residents[0].address.unit: is 9 characters long (at most 8)",
        "residents[0].address.room: is 9 characters long (at most 8)",
    ]


def ledger_problems(text: str) -> list[str]:
    with pytest.raises(LedgerFileError) as caught:
        parse_ledger(text)
    return caught.value.problems


def test_ledger_rows_are_checked_against_the_columns() -> None:
    header = LEDGER.splitlines()[0] + "\n"
    rows = [
        f"1234567890123456789012345,{'名' * 10},独居老人,paper,yes,,,,,",
        f"9002,{'名' * 65},独居老人,paper,yes,兴泰小区,{'5' * 17},123456789,123456789,{'注' * 1001}",
        "１２３,全角数字,独居老人,paper,yes,,,,,",
        "²,上标,独居老人,paper,yes,,,,,",
        "1.23457E+09,科学计数,独居老人,paper,yes,,,,,",
        "0,零,独居老人,paper,yes,,,,,",
        "9003,有\x00空字符,独居老人,paper,yes,,,,,",
    ]
    found = ledger_problems(header + "\n".join(rows) + "\n")
    assert found == [
        "line 2: chat_id 1234567890123456789012345 is not a Telegram chat id",
        "line 3: name is 65 characters long (at most 64)",
        "line 3: building is 17 characters long (at most 16)",
        "line 3: unit is 9 characters long (at most 8)",
        "line 3: room is 9 characters long (at most 8)",
        "line 3: note is 1001 characters long (at most 1000)",
        "line 5: chat_id '²' should be a number",
        "line 6: chat_id '1.23457E+09' should be a number (format the column as text in Excel)",
        "line 7: chat_id 0 is not a Telegram chat id",
        "line 8: contains the control character U+0000",
    ]  # line 4's full-width digits are read as the number 123


def test_ledger_csv_oddities_are_one_line_each() -> None:
    header = LEDGER.splitlines()[0]
    assert ledger_problems("chat_id,name,name,kinds,consent\n") == [
        "line 1: column(s) name appear more than once"
    ]
    found = ledger_problems(f'{header}\n9001,"unclosed,独居老人,paper,yes,,,,,\n')  # one cell to the end
    assert found
    assert all(p.startswith("line 2: ") for p in found)
    assert parse_ledger(f"{header}\r\n9001,张阿姨,独居老人,paper,yes,,,,,\r\n\r\n")[0].name == "张阿姨"


def test_a_campaign_body_with_a_nul_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "nul.md"
    path.write_text('---\ntitle: "标题\\x00"\ntopic: flood\n---\n正文\n第二行\x00\n', "utf-8")
    with pytest.raises(CampaignFileError) as caught:
        parse_file(path)
    assert caught.value.problems == [
        f"{path}: the title contains the control character U+0000",
        f"{path}:6: contains the control character U+0000",
    ]
