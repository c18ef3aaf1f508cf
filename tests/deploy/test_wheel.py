"""The Docker image installs gridbot as a wheel (`pip install .`), not from the source tree: the wheel must
carry the classifier's rules and dictionary and the Alembic migrations, and work from any directory.

The wheel is built from exactly what the Dockerfile's build stage copies, offline (no build isolation),
then installed with --target and run from an empty directory: migrate a fresh SQLite database, classify a
message. (A full venv with its dependencies would need the network; the test venv supplies them.)
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def build_stage_sources() -> list[str]:
    """The COPY sources of the Dockerfile's first (build) stage."""
    text = re.sub(r"\\\n", " ", (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8"))
    sources: list[str] = []
    stage = 0
    for line in text.splitlines():
        words = line.strip().split(None, 1)
        if not words or words[0].startswith("#"):
            continue
        if words[0].upper() == "FROM":
            stage += 1
        elif words[0].upper() == "COPY" and stage == 1:
            *found, _destination = shlex.split(words[1])
            sources += found
    return sources


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("setuptools.command.bdist_wheel") is None:
        pytest.skip("building the wheel offline needs setuptools>=70.1 in the test venv (the dev extra)")
    context = tmp_path_factory.mktemp("context")
    for source in build_stage_sources():
        origin = ROOT / source
        if origin.is_dir():
            shutil.copytree(origin, context / source, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, context / source)
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(out), "."],
        cwd=context, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("gridbot-*.whl")
    return built


def test_the_wheel_carries_data_and_migrations(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "nlp/data/rules.yaml",
        "nlp/data/userdict.txt",
        "nlp/data/model.bin",  # the learned second opinion the bot loads at start
        "storage/migrations/env.py",
        "storage/migrations/script.py.mako",
    ):
        assert needed in names, f"{needed} missing from the wheel"
    versions = sorted(p.name for p in (ROOT / "storage" / "migrations" / "versions").glob("*.py"))
    assert versions
    for version in versions:
        assert f"storage/migrations/versions/{version}" in names
    for package in ("bot", "handlers", "nlp", "storage"):
        assert f"{package}/__init__.py" in names
    entry_points = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    )
    assert b"gridbot = bot.cli.entry:main" in entry_points
    assert not any(name.startswith("tests/") for name in names)


def test_the_installed_wheel_migrates_and_classifies_outside_the_source_tree(
    wheel: Path, tmp_path: Path
) -> None:
    started = time.monotonic()
    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    work = tmp_path / "work"  # an empty working directory, like the image's /srv/gridbot
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDBOT_")}
    env.update(PYTHONPATH=str(target), GRIDBOT_DATABASE_URL=f"sqlite+aiosqlite:///{work / 'gridbot.db'}")

    def python(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args],
            cwd=work,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    where = python("-c", "import bot, nlp, storage; print(bot.__file__, nlp.__file__, storage.__file__)")
    assert where.returncode == 0, where.stderr
    assert all(path.startswith(str(target)) for path in where.stdout.split()), where.stdout

    upgraded = python("-m", "bot.cli.main", "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.startswith("applied 0001, 0002"), upgraded.stdout  # a fresh database: all of them
    assert "alembic" not in upgraded.stderr  # Alembic's INFO lines are quiet unless asked
    classified = python("-m", "bot.cli.main", "classify", stdin="兴泰5号楼2单元501着火了\n")
    assert classified.returncode == 0, classified.stderr
    result = json.loads(classified.stdout)
    assert result["category"] == "emergency"
    assert result["priority"] == "urgent"
    assert time.monotonic() - started < 60
