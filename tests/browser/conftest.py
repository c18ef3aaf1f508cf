"""The desk in a real browser: the system Chromium driven by Playwright's sync API.

Kept apart from pytest-asyncio's loop: the desk runs as its own `gridbot web` process (uvicorn) on a free
loopback port over a seeded SQLite file, exactly as an operator starts it. Screenshots of the main pages
are kept under the test's output folder (tmp_path), for a person to look at.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.services import require
from tools.loopback import free_port, listening

CHROMIUM = Path(os.environ.get("GRIDBOT_TEST_CHROMIUM", "/usr/bin/chromium"))
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def browser_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("browser") / "desk.db"
    # What `make desk` builds: the example community and two weeks of orders.
    subprocess.run([sys.executable, "-m", "web.demo", str(path)], cwd=ROOT, check=True, capture_output=True)
    return path


def _off_the_loop(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to its end in a thread of its own (Playwright's sync API holds this thread's loop)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


@dataclass
class Served:
    url: str
    db: Path
    env: dict[str, str]

    def login_link(self, name: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "web", "login-link", name],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        return done.stdout.strip()


@pytest.fixture
def served(browser_db: Path, tmp_path: Path) -> Iterator[Served]:
    db = tmp_path / "desk.db"
    shutil.copy(browser_db, db)
    port = free_port()
    env = {
        **os.environ,
        "GRIDBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "GRIDBOT_WEB_HOST": "127.0.0.1",
        "GRIDBOT_WEB_PORT": str(port),
        "GRIDBOT_WEB_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    log = tmp_path / "gridbot-web.log"  # the desk's own log, for a failure's post-mortem
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "web"], env=env, cwd=ROOT, stdout=output, stderr=output
        )
        try:
            try:
                _off_the_loop(listening(port, within=30))
            except TimeoutError:
                pytest.fail(f"gridbot web did not start listening: {log.read_text(errors='replace')[-2000:]}")
            yield Served(url, db, env)
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    # Module scope, not session: Playwright's sync API runs an event loop in this thread while it is open,
    # and every pytest-asyncio test after it would fail to start its own. It closes when this module ends.
    require(
        None if CHROMIUM.exists() else "not installed", f"Chromium at {CHROMIUM} (apt-get install chromium)"
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()
