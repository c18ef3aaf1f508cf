"""The `gridbot` command as a newcomer runs it: migrate, import the community, watch the demo."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.imports.community_file import load_community
from tests.driver import EXAMPLE_COMMUNITY

ROOT = Path(__file__).resolve().parents[2]
DEMO_SCRIPT = ROOT / "deploy/examples/demo.txt"


def gridbot_executable() -> str:
    found = Path(sys.executable).with_name("gridbot")
    return str(found) if found.exists() else (shutil.which("gridbot") or "gridbot")


def run_gridbot(
    db: Path, *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`gridbot ARGS` as a user runs it, on the SQLite database `db`, from the folder holding it."""
    return subprocess.run(
        [gridbot_executable(), *args],
        cwd=db.parent,
        env={**os.environ, "GRIDBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db}"},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    def gridbot(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_gridbot(tmp_path / "cli.db", *args, stdin=stdin)

    gridbot.db = tmp_path / "cli.db"  # type: ignore[attr-defined]
    return gridbot


def count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as connection:
        return int(connection.execute(f"select count(*) from {table}").fetchone()[0])


def test_demo_script_shows_the_whole_loop(run) -> None:  # type: ignore[no-untyped-def]
    assert run("db", "upgrade").returncode == 0
    imported = run("org", "import", str(EXAMPLE_COMMUNITY))
    assert imported.returncode == 0, imported.stderr
    assert "9 compounds" in imported.stdout
    demo = run("demo", "--script", str(DEMO_SCRIPT))
    assert demo.returncode == 0, demo.stderr
    out = demo.stdout
    steps = [
        "发给 李娜（网格员）",  # the order is routed to the member covering 兴泰小区5号楼
        "📋 新工单\n  │ GD",  # the heading on its own line, the number under it
        "（按下：接单）",
        "已由网格员 李娜接单",
        "💬 网格员 李娜",  # relayed to the resident
        "💬 居民张阿姨",  # and back
        "已由网格员 李娜办结",
        "（按下：满意）",
        "感谢您的评价（满意）",
        "⏰ 催办：工单 GD20261201-0003",  # the clock moved: reminder, grid leader, community staff
        "已上报网格长",
        "已上报社区",
        "（按下：督办）",
        "同样反映此问题的居民小李",  # a "me too" follower's reply reaches the grid member, marked
        "（按下：回复这位居民）",
        "💬 网格员 钱芳（工单 GD20261201-0003）",  # and the answer reaches the follower
        "您手上还有 1 张未完成的工单",  # /leave offers the hand-over
        "📋 代班转交（网格员 钱芳请假）",
        "以下工单仍由代班人处理",  # /back says what the deputy still holds
        "（按下：收回这些工单）",
        "🌞 早上好！今天一切都好吗？",  # the daily check-in, unanswered: the grid member is alerted
        "🟠 平安问候未回复：张阿姨（独居老人）",
        "（按下：已联系，平安）",
        "🔗 邀请链接",  # a person listed without a chat id, and a resident, join by invite links
        "👋 孙敏 已通过邀请链接加入",
        "👋 居民王奶奶已通过邀请链接加入",
        "📝 网格员 李娜 提交了一条网格通知",  # a grid notice waits for the grid leader
        "（按下：批准发送）",
        "批准了您的网格通知，正在发给 1 人",
        "您反映的问题已经办结一天了",  # 回访: the rating reminder, 未评价 a week on, the phone follow-up
        "已先归档为“未评价”",
        "📞 待回访工单（共 1 张",
        "（按下：基本满意）",
        "已记录电话回访：基本满意",
        "基本满意（电话回访）",
        "📅 值班表",  # the grid leader changes the rota in chat
        "调整了您的值班时间：周一至周五 08:30-17:30",
    ]
    positions = [out.find(step) for step in steps]
    assert all(p >= 0 for p in positions), list(zip(steps, positions, strict=True))
    assert positions == sorted(positions), "the transcript shows the steps in order"
    assert count(run.db, "work_orders") == 3
    assert "!!" not in out  # nothing failed along the way


def test_invalid_community_file_changes_nothing(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("db", "upgrade")
    run("org", "import", str(EXAMPLE_COMMUNITY))
    people = count(run.db, "people")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        EXAMPLE_COMMUNITY.read_text(encoding="utf-8")
        .replace("{compound: 太平洋, buildings: all}", "{compound: 太平洋, buildings: [1, 77]}")
        .replace("{name: 张伟, chat_id: 2003", "{name: 张伟, chat_id: 2002"),
        encoding="utf-8",
    )
    result = run("org", "import", str(bad))
    assert result.returncode == 1
    assert "2 problem(s), nothing was changed" in result.stderr
    assert "unknown building 太平洋 77号楼" in result.stderr
    assert "duplicate chat id 2002" in result.stderr
    assert count(run.db, "people") == people


def test_the_exported_community_file_imports_as_it_was(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("db", "upgrade")
    run("org", "import", str(EXAMPLE_COMMUNITY))
    exported = tmp_path / "exported.yaml"
    result = run("org", "export", str(exported), "--name", "宝山花园社区")
    assert result.returncode == 0, result.stderr
    original, back = load_community(EXAMPLE_COMMUNITY), load_community(exported)
    assert (back.name, back.compounds, back.grids, back.people) == (
        original.name,
        original.compounds,
        original.grids,
        original.people,
    )
    assert run("org", "import", "--dry-run", str(exported)).returncode == 0


def test_commands_on_an_unmigrated_database_say_what_to_do(run) -> None:  # type: ignore[no-untyped-def]
    result = run("demo", "--script", str(DEMO_SCRIPT))
    assert result.returncode == 1
    assert "gridbot db upgrade" in result.stderr


def test_interactive_console_reads_stdin(run) -> None:  # type: ignore[no-untyped-def]
    run("db", "upgrade")
    run("org", "import", str(EXAMPLE_COMMUNITY))
    result = run("demo", stdin="/as 老陈\n森源6号楼门口垃圾没人收\n/who\n")
    assert result.returncode == 0, result.stderr
    assert "发给 钱芳（网格员）" in result.stdout
    assert "张阿姨（居民）" in result.stdout


def test_a_second_console_run_does_not_reuse_message_ids(run) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from bot.app import build_app
    from bot.cli.console import ConsoleSession
    from bot.settings import Settings

    run("db", "upgrade")
    run("org", "import", str(EXAMPLE_COMMUNITY))
    assert run("demo", "--script", str(DEMO_SCRIPT)).returncode == 0
    with sqlite3.connect(run.db) as connection:
        (used,) = connection.execute("select max(message_id) from message_links").fetchone()
    assert used > 0

    async def first_id_of_a_new_run() -> int:
        app = await build_app(
            Settings.from_variables({"GRIDBOT_DATABASE_URL": f"sqlite+aiosqlite:///{run.db}"})
        )
        try:
            session = ConsoleSession(app)
            await session.load_personas()
            return session.messenger.next_id()
        finally:
            await app.close()

    # Replies are matched by (chat, message id): a new run must not hand out ids the last one linked.
    assert asyncio.run(first_id_of_a_new_run()) > used


def test_ledger_import_is_all_or_nothing(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("db", "upgrade")
    run("org", "import", str(EXAMPLE_COMMUNITY))
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "chat_id,name,kinds,consent,checkin,compound,building,unit,room,note\n"
        "9001,张阿姨,独居老人,paper,yes,兴泰小区,5,2,501,\n"
        "9100,新来的,独居老人,ask,no,,,,,\n",  # never used the bot: only paper consent can register them
        encoding="utf-8",
    )
    result = run("ledger", "import", str(bad))
    assert result.returncode == 1
    assert "needs consent=paper" in result.stderr
    assert count(run.db, "ledger_entries") == 0
    good = ROOT / "deploy/examples/ledger.csv"
    result = run("ledger", "import", str(good))
    assert result.returncode == 0, result.stderr
    assert count(run.db, "ledger_entries") == 3
    with sqlite3.connect(run.db) as connection:
        consents = dict(connection.execute("select resident_id, consent from ledger_entries").fetchall())
    assert sorted(consents.values()) == ["paper", "paper", "pending"]  # 老陈 (ask) is asked in chat first
