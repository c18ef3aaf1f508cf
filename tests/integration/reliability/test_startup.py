"""Start-up: two replicas starting at once on a fresh PostgreSQL database both come up (the shipped data is
written with upserts); a database or Bot API that cannot be reached is one clear line (exit code 2) for a
command and a retry with backoff for `gridbot run`."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from bot.app import build_app, load_campaigns
from bot.cli.run import serve
from bot.schedule.scheduler import Ticker
from bot.settings import Settings
from storage.database import make_engine
from storage.models import CampaignRow
from tests.integration.conftest import POSTGRES_URL, _postgres_available
from tests.services import require
from tools.example_community import prepare_database

ROOT = Path(__file__).resolve().parents[3]
UNREACHABLE_DB = "postgresql+asyncpg://gridbot@127.0.0.1:1/gridbot"  # nothing listens on port 1


@pytest.fixture
async def fresh_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database (not a schema: replicas connect with a plain URL)."""
    require(await _postgres_available(), f"PostgreSQL at {POSTGRES_URL}")
    name = f"gridbot_startup_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def _start_replica(settings: Settings, ready: asyncio.Barrier) -> int:
    """What `gridbot run` does before it takes updates: build, store the campaign library, catch up once."""
    app = await build_app(settings)
    try:
        await ready.wait()  # both replicas reach the shipped data at the same moment
        stored = await load_campaigns(app)
        await Ticker(app.ticks, settings.timezone).run_once()
        return stored
    finally:
        await app.close()


async def test_two_replicas_starting_at_once_on_a_fresh_database_both_come_up(
    fresh_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    await prepare_database(fresh_database)
    settings = Settings.from_variables({"GRIDBOT_DATABASE_URL": fresh_database})
    ready = asyncio.Barrier(2)
    first, second = await asyncio.gather(_start_replica(settings, ready), _start_replica(settings, ready))
    assert first == second > 10
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []  # no tick failed
    engine = make_engine(fresh_database)
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(select(func.count()).select_from(CampaignRow)) == first
    finally:
        await engine.dispose()


def _gridbot(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDBOT_")}
    env["GRIDBOT_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [("db", "upgrade"), ("org", "import", "deploy/examples/community.yaml")],
)
@pytest.mark.parametrize(
    "database_url",
    [UNREACHABLE_DB, "sqlite+aiosqlite:////nonexistent-folder/gridbot.db"],
    ids=["postgresql-refused", "sqlite-no-folder"],
)
def test_a_command_with_the_database_away_says_so_in_one_line(
    args: tuple[str, ...], database_url: str
) -> None:
    done = _gridbot(*args, database_url=database_url)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("gridbot: cannot reach the database"), lines[0]
    assert "Traceback" not in done.stderr


class _Retries(logging.Handler):
    """Counts `gridbot run`'s "retrying in" lines and stops it after `enough` of them."""

    def __init__(self, stop: asyncio.Event, enough: int = 3) -> None:
        super().__init__(logging.WARNING)
        self.stop, self.enough, self.lines = stop, enough, []  # type: ignore[var-annotated]
        self.tracebacks = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "retrying in" in record.getMessage():
            self.lines.append(record.getMessage())
            self.tracebacks += record.exc_info is not None
            if len(self.lines) >= self.enough:
                self.stop.set()


async def _serve_until_retried(settings: Settings) -> _Retries:
    stop = asyncio.Event()
    retries = _Retries(stop)
    logger = logging.getLogger("bot.cli.run")
    logger.addHandler(retries)
    try:
        # Returns once stopped; 60 s bounds a failure (the first attempt loads the classifier).
        await asyncio.wait_for(serve(settings, webhook=False, stop=stop, first_delay=0.1, signals=False), 60)
    finally:
        logger.removeHandler(retries)
    return retries


async def test_run_waits_for_the_database_with_backoff() -> None:
    settings = Settings.from_variables({"GRIDBOT_DATABASE_URL": UNREACHABLE_DB, "GRIDBOT_HEALTH_PORT": "0"})
    retries = await _serve_until_retried(settings)
    assert all(line.startswith("cannot reach the database") for line in retries.lines), retries.lines
    assert retries.tracebacks == 0  # one line each
    delays = [float(line.rsplit("retrying in ", 1)[1].rstrip("s")) for line in retries.lines]
    assert delays == [0.1, 0.2, 0.4]  # backing off


@pytest.mark.parametrize("transport", ["ptb", "aiogram"])
async def test_run_waits_for_the_bot_api_with_backoff(tmp_path: Path, transport: str) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gridbot.db'}"
    await prepare_database(url)
    settings = Settings.from_variables(
        {
            "GRIDBOT_DATABASE_URL": url,
            "GRIDBOT_TRANSPORT": transport,
            "GRIDBOT_BOT_TOKEN": "123456:not-a-real-token",
            "GRIDBOT_TELEGRAM_API_URL": "http://127.0.0.1:1",  # nothing listens there
            "GRIDBOT_HEALTH_PORT": "0",
        }
    )
    retries = await _serve_until_retried(settings)
    assert all(line.startswith("cannot reach the Telegram Bot API") for line in retries.lines), retries.lines
    assert retries.tracebacks == 0
