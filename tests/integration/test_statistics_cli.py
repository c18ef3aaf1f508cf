"""`gridbot report monthly` and `gridbot report export` as staff run them, on a SQLite file holding October."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import openpyxl
import pytest

from bot.imports.community_file import load_community
from storage.database import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import EXAMPLE_COMMUNITY
from tests.fakes import FakeClock
from tests.integration.test_cli import run_gridbot
from tests.integration.test_statistics import _store
from tests.unit.statistics import scenario


def _gridbot(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_gridbot(db, "report", *args)


@pytest.fixture
async def october_db(tmp_path: Path) -> Path:
    db = tmp_path / "gridbot.db"
    engine = make_engine(f"sqlite+aiosqlite:///{db}")
    try:
        await upgrade(engine)
        factory = SqlUnitOfWorkFactory(make_session_factory(engine), FakeClock(scenario.BEFORE_LATE_RATING))
        async with factory() as uow:
            await uow.community.apply(load_community(EXAMPLE_COMMUNITY), scenario.at(9, 1, 9))
            await uow.commit()
        await _store(factory)
    finally:
        await engine.dispose()
    return db


def test_the_monthly_workbook_from_the_command_line(october_db: Path) -> None:
    out = october_db.parent / "月报.xlsx"
    done = _gridbot(october_db, "monthly", "--month", "2026-10", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "6 new order(s)" in done.stdout
    summary = {
        row[0]: row[1] for row in openpyxl.load_workbook(out)["汇总"].iter_rows(min_row=2, values_only=True)
    }
    assert summary["新增"] == 6
    assert summary["满意率"] == pytest.approx(3 / 4)  # O4 not rated in this database
    assert summary["考核权重（响应率/解决率/满意率）"] == "30 / 35 / 35"
    weighted = _gridbot(
        october_db, "monthly", "--month", "2026-10", "--out", str(out), "--weights", "50,25,25"
    )
    assert weighted.returncode == 0, weighted.stderr
    summary = {
        row[0]: row[1] for row in openpyxl.load_workbook(out)["汇总"].iter_rows(min_row=2, values_only=True)
    }
    assert summary["考核权重（响应率/解决率/满意率）"] == "50 / 25 / 25"
    bad = _gridbot(october_db, "monthly", "--month", "2026-13", "--out", str(out))
    assert bad.returncode == 2
    assert "not a month" in bad.stderr


def test_the_order_export_from_the_command_line(october_db: Path) -> None:
    out = october_db.parent / "orders.csv"
    done = _gridbot(october_db, "export", "--from", "2026-10-01", "--to", "2026-10-31", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "6 order(s)" in done.stdout
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel and WPS read the Chinese right
    with out.open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [r["类别"] for r in rows] == ["维修报修", "环境卫生", "维修报修", "维修报修", "车辆停放", "其他"]
    xlsx = october_db.parent / "orders.xlsx"
    done = _gridbot(october_db, "export", "--from", "2026-10-01", "--to", "2026-10-31", "--out", str(xlsx))
    assert done.returncode == 0, done.stderr
    assert openpyxl.load_workbook(xlsx)["工单"].max_row == 7
