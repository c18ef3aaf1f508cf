"""The week-one CLI as a newcomer runs it: `org invite`, what `db upgrade` says, a mistyped --script."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.driver import EXAMPLE_COMMUNITY
from tests.integration.test_cli import gridbot_executable


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDBOT_")}
    env["GRIDBOT_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"

    def gridbot(*args: str, stdin: str | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [gridbot_executable(), *args],
            cwd=tmp_path,
            env={**env, **extra},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    gridbot.db = tmp_path / "cli.db"  # type: ignore[attr-defined]
    return gridbot


def test_db_upgrade_names_what_it_applied_and_keeps_alembic_quiet(run) -> None:  # type: ignore[no-untyped-def]
    first = run("db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert re.fullmatch(r"applied 0001, 0002, .*0012(, \d{4})*\n", first.stdout), first.stdout
    assert "alembic" not in first.stderr  # no "INFO alembic.runtime.migration: Running upgrade ..."
    again = run("db", "upgrade")
    assert again.stdout == "already up to date\n"
    assert "alembic" not in again.stderr
    verbose = run("db", "upgrade", "--verbose")
    assert "Context impl SQLiteImpl" in verbose.stderr  # asked for


def test_org_invite_prints_a_single_use_link_and_stores_only_its_hash(run) -> None:  # type: ignore[no-untyped-def]
    run("db", "upgrade")
    run("org", "import", str(EXAMPLE_COMMUNITY))  # 孙敏 is listed without a chat id
    result = run("org", "invite", "孙敏", "--bot-username", "@baoshan_grid_bot")
    assert result.returncode == 0, result.stderr
    (link,) = re.findall(r"https://t\.me/baoshan_grid_bot\?start=([A-Za-z0-9_-]{1,64})$", result.stdout, re.M)
    from_setting = run("org", "invite", "孙敏", GRIDBOT_TELEGRAM_BOT_USERNAME="other_bot")
    assert "https://t.me/other_bot?start=" in from_setting.stdout
    without = run("org", "invite", "孙敏", "--days", "3")  # no username, no token: the code to type instead
    assert without.returncode == 0, without.stderr
    assert "/start " in without.stdout
    assert "GRIDBOT_TELEGRAM_BOT_USERNAME" in without.stdout
    with sqlite3.connect(run.db) as connection:
        stored = [row[0] for row in connection.execute("select code_hash from invites")]
    assert len(stored) == 3
    assert link not in stored  # the hash only
    unknown = run("org", "invite", "没有这个人")
    assert unknown.returncode == 1
    assert "nobody called '没有这个人'" in unknown.stderr


def test_a_mistyped_demo_script_is_one_line_not_a_traceback(run) -> None:  # type: ignore[no-untyped-def]
    run("db", "upgrade")
    result = run("demo", "--script", "deploy/examples/demo.txtt")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "cannot read the script deploy/examples/demo.txtt" in result.stderr
    assert "Traceback" not in result.stderr


def test_classify_outside_the_project_finds_the_example_and_honours_the_rules_file(
    run, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    found = run("classify", stdin="兴泰5号楼漏水\n")  # cwd is tmp_path: not the project folder
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["location"]["compound"] == "兴泰小区"  # the example beside the code
    bad = tmp_path / "our-rules.yaml"
    bad.write_text("categories: {repair: {keywords: []}}\n", encoding="utf-8")
    refused = run("classify", stdin="x\n", GRIDBOT_RULES_FILE=str(bad))
    assert refused.returncode == 2  # the deployment's rules are read (and these are refused)
    assert "our-rules.yaml" in refused.stderr
