"""`gridbot org import --dry-run` and `gridbot ledger import --dry-run` on hostile files: one line each, exit 1.

A dry run touches no database, so these run in-process; what the database would refuse must show here.
"""

from __future__ import annotations

import time
from pathlib import Path

from typer.testing import CliRunner

from bot.cli.main import app
from tests.unit.bot.test_community_file import GOOD
from tests.unit.bot.test_import_safety import BILLION_LAUGHS, LEDGER


def dry_run(*args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, [*args, "--dry-run"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output.splitlines()


def test_an_alias_bomb_is_one_line_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS, "utf-8")
    started = time.perf_counter()
    code, lines = dry_run("org", "import", str(path))
    assert time.perf_counter() - started < 1
    assert code == 1
    assert lines == [
        f"{path}: 1 problem(s), nothing was changed:",
        f"  {path}:1: yaml: anchors and aliases (&name, *name) are not supported: write each value out in full",
    ]


def test_long_names_and_huge_chat_ids_fail_the_dry_run_not_the_import(tmp_path: Path) -> None:
    path = tmp_path / "community.yaml"
    source = GOOD.replace(
        "{name: 李娜, chat_id: 2,", f"{{name: {'李' * 65}, chat_id: 12345678901234567890123,"
    )
    path.write_bytes(source.encode("gbk"))  # saved by Excel's sibling, Notepad on Chinese Windows
    code, lines = dry_run("org", "import", str(path))
    assert code == 1
    assert lines[1:] == [
        f"  {path}:14: people[1].name: is 65 characters long (at most 64)",
        f"  {path}:14: people[1].chat_id: 12345678901234567890123 is not a Telegram chat id (too many digits)",
    ]


def test_a_valid_gbk_file_passes(tmp_path: Path) -> None:
    path = tmp_path / "community.yaml"
    path.write_bytes(GOOD.encode("gbk"))
    code, lines = dry_run("org", "import", str(path))
    assert code == 0
    assert lines[-1].startswith("valid: 测试社区: 1 compounds")


def test_ledger_problems_are_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    bad = LEDGER + f"12345678901234567890123,{'名' * 65},独居老人,paper,yes,兴泰小区,5号楼,2,501,\n"
    path.write_bytes(bad.encode("gbk"))
    code, lines = dry_run("ledger", "import", str(path))
    assert code == 1
    assert lines[1:] == [
        f"  {path}:3: chat_id 12345678901234567890123 is not a Telegram chat id",
        f"  {path}:3: name is 65 characters long (at most 64)",
    ]
    path.write_bytes(LEDGER.encode("utf-16"))
    code, lines = dry_run("ledger", "import", str(path))
    assert code == 1
    assert lines[1:] == [
        f'  {path}: saved as UTF-16 ("Unicode text"): save it again as "CSV UTF-8" or as plain CSV'
    ]
