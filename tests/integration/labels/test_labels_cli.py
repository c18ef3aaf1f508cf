"""The learning loop from the command line, on a SQLite file: labels stored by the chat are exported,
mined for keywords and trained on; the bot started with the trained model decides what it had to ask before."""

from __future__ import annotations

import csv
import itertools
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from bot.app import build_app
from bot.imports.community_file import load_community
from bot.settings import Settings
from nlp import load_classifier
from nlp.categories import SHIPPED
from nlp.learned.pipeline import SHIPPED_SETS
from nlp.types import Category
from storage.database import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import EXAMPLE_COMMUNITY, RESIDENT_ZHANG
from tests.fakes import FakeClock
from tests.integration.conftest import RecordingMessenger, build_driver
from tests.integration.test_cli import run_gridbot
from tests.unit.labels.scenarios import resident_chooses

DATA = Path(__file__).resolve().parents[2] / "data"
# Residents call the estate's new payment kiosk a 啵啵机; no rule knows the word, so each was asked.
KIOSK = ("啵啵机又吞了我的卡", "啵啵机又咕噜咕噜了", "楼下啵啵机咕噜咕噜响", "啵啵机咕噜了一晚上")
PROBE = "啵啵机一直在咕噜"
FORMULA = "=1+2 楼下有人留了电话13912345678"
# And 其他 for a few more (without them, nothing sets the kiosk's word apart from the rest).
ELSE = (FORMULA, "谁家的猫咪跑出来了", "小区门口新开了一家面馆", "有没有人一起打羽毛球")


def _gridbot(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_gridbot(db, *args, timeout=300)  # `nlp train` cross-validates: minutes on a busy machine


@pytest.fixture
async def labelled_db(tmp_path: Path) -> Path:
    """A database whose resident chose 生活缴费 for each kiosk message, and 其他 for the others."""
    db = tmp_path / "gridbot.db"
    engine = make_engine(f"sqlite+aiosqlite:///{db}")
    try:
        await upgrade(engine)
        clock = FakeClock()
        factory = SqlUnitOfWorkFactory(make_session_factory(engine), clock)
        async with factory() as uow:
            await uow.community.apply(load_community(EXAMPLE_COMMUNITY), clock.now())
            await uow.commit()
        classifier = load_classifier(None, {})
        assert all(classifier.classify(t).category is Category.UNKNOWN for t in (*KIOSK, PROBE, *ELSE))
        driver = build_driver(factory, clock, RecordingMessenger(), classifier)
        for text in KIOSK:
            await resident_chooses(driver, text, Category.UTILITY_PAYMENT)
        for text in ELSE:
            await resident_chooses(driver, text, Category.OTHER)
    finally:
        await engine.dispose()
    return db


def test_export_masks_phones_and_escapes_formulas(labelled_db: Path) -> None:
    out = labelled_db.parent / "labels.csv"
    done = _gridbot(labelled_db, "nlp", "labels", "export", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "8 label(s)" in done.stdout
    with out.open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == ["text", "label", "source", "created_at"]
    assert [(r["text"], r["label"], r["source"]) for r in rows[:4]] == [
        (t, "utility_payment", "resident_choice") for t in KIOSK
    ]
    assert rows[4]["text"] == "'=1+2 楼下有人留了电话139****5678"
    assert rows[4]["created_at"].startswith("2026-11-30T")
    to_stdout = _gridbot(labelled_db, "nlp", "labels", "export")
    assert to_stdout.returncode == 0, to_stdout.stderr
    assert to_stdout.stdout.splitlines()[0] == "text,label,source,created_at"
    assert "13912345678" not in to_stdout.stdout + out.read_text(encoding="utf-8-sig")


def test_rules_suggest_mines_the_stored_labels(labelled_db: Path) -> None:
    done = _gridbot(labelled_db, "rules", "suggest", "--from-db", "--min-count", "3")
    assert done.returncode == 0, done.stderr
    assert "mined from 8 stored label(s)" in done.stdout
    assert "utility_payment" in done.stdout
    assert "啵啵" in done.stdout
    neither = _gridbot(labelled_db, "rules", "suggest")
    assert neither.returncode == 2
    assert "--from-db" in neither.stderr


def _small_sets(folder: Path, per_label: int = 8) -> None:
    """The shipped sets' files, holding a few of train_messages.csv's rows per label (training in seconds)."""
    folder.mkdir()
    with (DATA / "train_messages.csv").open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.DictReader(stream))
    taken: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        if len(taken[row["label"]]) < per_label:
            taken[row["label"]].append(row)
    for name in SHIPPED_SETS:
        with (folder / name).open("w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(["text", "label"])
            if name == "train_messages.csv":
                writer.writerows([r["text"], r["label"]] for group in taken.values() for r in group)


async def test_the_bot_started_with_the_retrained_model_decides_what_it_asked_before(
    labelled_db: Path, tmp_path: Path
) -> None:
    sets = tmp_path / "sets"
    _small_sets(sets)
    url = f"sqlite+aiosqlite:///{labelled_db}"
    models = {}
    for name, flags in (("without", ()), ("with", ("--with-db",))):
        models[name] = tmp_path / f"{name}.bin"
        args = ("nlp", "train", *flags, "--sets-dir", str(sets), "--out", str(models[name]))
        done = _gridbot(labelled_db, *args)
        assert done.returncode == 0, done.stderr
    assert "community labels (database): 8 examples" in done.stdout

    fresh = itertools.count(1_000_000, 1_000)

    async def category_at_start(model: Path) -> tuple[Category, str]:
        settings = Settings.from_variables(
            {"GRIDBOT_DATABASE_URL": url, "GRIDBOT_NLP_MODEL_FILE": str(model)}
        )
        app = await build_app(settings, clock=FakeClock())
        try:
            assert app.classifier is not None
            driver = build_driver(app.uow_factory, FakeClock(), RecordingMessenger(), app.classifier)
            driver.ids = itertools.count(next(fresh))  # updates the database has not seen yet
            await driver.text(RESIDENT_ZHANG, PROBE)
            return app.classifier.classify(PROBE).category, driver.last(RESIDENT_ZHANG).text
        finally:
            await app.close()

    before, asked = await category_at_start(models["without"])
    assert before is Category.UNKNOWN
    assert asked.startswith("为了更快交给合适的人处理")  # the resident is asked, as she was each time
    after, told = await category_at_start(models["with"])
    assert after is Category.UTILITY_PAYMENT
    assert "已为您生成工单" in told
    assert SHIPPED.label(Category.UTILITY_PAYMENT) in told
