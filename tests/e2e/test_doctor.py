"""`gridbot doctor` against real services: SQLite and PostgreSQL, the local Redis, the Bot API emulator.

Each check is shown passing and failing, and the token never appears in the output.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from bot.ops.doctor import Check, run_checks, webhook_check
from bot.settings import Settings
from storage.database import make_engine
from storage.migrate import upgrade
from tests.services import require
from tools.emulator.server import Emulator
from tools.example_community import prepare_database

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("GRIDBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
POSTGRES_URL = os.environ.get(
    "GRIDBOT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
WEBHOOK = "https://bot.example.org/telegram"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def service_problem(ping: Callable[[], Any]) -> str | None:
    try:
        await ping()
    except Exception as error:  # any failure means "not available"
        return f"{type(error).__name__}: {error}"
    return None


async def redis_problem() -> str | None:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=1.0)
    try:
        return await service_problem(client.ping)
    finally:
        await client.aclose()


Configure = Callable[..., Callable[[], Settings]]


@pytest.fixture
async def database_url(tmp_path: Path) -> str:
    """A migrated SQLite database holding the example community."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'gridbot.db'}"
    await prepare_database(url)
    return url


@pytest.fixture
def configure(emu: Emulator, database_url: str) -> Configure:
    """Settings as the environment would give them: everything right, unless overridden."""

    def make(broadcast: dict[str, Any] | None = None, **overrides: Any) -> Callable[[], Settings]:
        values: dict[str, Any] = {
            "database_url": database_url,
            "transport": "aiogram",
            "bot_token": emu.token,
            "telegram_api_url": emu.url,
            "redis_url": None,
            **overrides,
        }
        broadcast_values = {"campaigns_dir": ROOT / "deploy" / "campaigns", **(broadcast or {})}

        variables = {f"GRIDBOT_{key.upper()}": value for key, value in values.items()}
        variables |= {f"GRIDBOT_BROADCAST_{key.upper()}": value for key, value in broadcast_values.items()}

        def load() -> Settings:
            return Settings.from_variables(variables)

        return load

    return make


async def set_webhook(emu: Emulator, url: str) -> None:
    method = f"{emu.url}/bot{emu.token}/setWebhook"
    async with aiohttp.ClientSession() as client, client.post(method, json={"url": url}) as response:
        assert (await response.json())["ok"]


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def rendered(checks: list[Check]) -> str:
    return "\n".join(check.render() for check in checks)


async def test_everything_right_passes_and_hides_secrets(emu: Emulator, configure: Configure) -> None:
    require(await redis_problem(), "Redis")
    await set_webhook(emu, WEBHOOK)
    checks = await run_checks(configure(redis_url=REDIS_URL, webhook_url=WEBHOOK), 5.0)
    assert [c.name for c in checks] == ["settings", "database", "community", "redis", "telegram", "webhook"]
    assert [c.ok for c in checks] == [True] * 6, rendered(checks)
    named = by_name(checks)
    assert "migrations at head" in named["database"].detail
    assert named["community"].detail == "9 compound(s), 4 grid(s), 14 active people"
    assert named["telegram"].detail.startswith("token valid for @")
    assert named["webhook"].detail == f"{WEBHOOK} (0 update(s) pending)"
    output = rendered(checks)
    assert emu.token not in output
    assert emu.token.split(":")[1] not in output
    assert all(line[0] == "✓" for line in output.splitlines())


async def test_settings_that_do_not_load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GRIDBOT_HEALTH_PORT", "ninety")
    monkeypatch.setenv("GRIDBOT_TRANSPORT", "telegraph")
    monkeypatch.chdir(tmp_path)
    checks = await run_checks(Settings)  # the real loader: environment and ./.env
    assert len(checks) == 1  # nothing else can be checked without settings
    (check,) = checks
    assert check.ok is False
    assert "GRIDBOT_HEALTH_PORT" in check.detail
    assert "GRIDBOT_TRANSPORT" in check.detail
    assert check.render().startswith("✗ settings: ")


async def test_settings_pointing_at_missing_files(configure: Configure, tmp_path: Path) -> None:
    checks = await run_checks(
        configure(broadcast={"campaigns_dir": tmp_path / "nowhere"}, timezone="Mars/Olympus"), 5.0
    )
    settings = by_name(checks)["settings"]
    assert settings.ok is False
    assert "GRIDBOT_BROADCAST_CAMPAIGNS_DIR" in settings.detail
    assert "GRIDBOT_TIMEZONE=Mars/Olympus is not a time zone" in settings.detail


async def test_database_unreachable_missing_or_behind(
    configure: Configure, tmp_path: Path, database_url: str
) -> None:
    unreachable = f"postgresql+asyncpg://gridbot:hunter2@127.0.0.1:{closed_port()}/gridbot"
    checks = by_name(await run_checks(configure(database_url=unreachable), 5.0))
    assert checks["database"].ok is False
    assert "cannot reach postgresql+asyncpg://gridbot:***@127.0.0.1" in checks["database"].detail
    assert "hunter2" not in checks["database"].detail
    assert checks["community"].ok is None  # not checked on a database that is not ready

    missing = f"sqlite+aiosqlite:///{tmp_path / 'absent.db'}"
    checks = by_name(await run_checks(configure(database_url=missing), 5.0))
    assert checks["database"].ok is False
    assert "no SQLite file" in checks["database"].detail
    assert not (tmp_path / "absent.db").exists()  # the doctor did not create it

    from storage.migrate import downgrade

    engine = make_engine(database_url)
    await downgrade(engine, "0003")
    await engine.dispose()
    checks = by_name(await run_checks(configure(), 5.0))
    assert checks["database"].ok is False
    assert "is at migration 0003" in checks["database"].detail
    assert checks["database"].detail.endswith("run `gridbot db upgrade`")


async def test_community_not_imported(configure: Configure, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bare.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    await engine.dispose()
    checks = by_name(await run_checks(configure(database_url=url), 5.0))
    assert checks["database"].ok is True
    assert checks["community"].ok is False
    assert "0 compound(s), 0 active people: run `gridbot org import" in checks["community"].detail


@pytest.fixture
async def postgres_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database of its own (the doctor connects as a deployment would)."""
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")

    async def ping() -> None:
        async with admin.connect() as connection:
            await connection.execute(text("select 1"))

    problem = await service_problem(ping)
    if problem is not None:
        await admin.dispose()
    require(problem, "PostgreSQL")
    name = f"doctor_{uuid.uuid4().hex[:10]}"
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


async def test_postgresql_behind_then_ready(configure: Configure, postgres_database: str) -> None:
    checks = by_name(await run_checks(configure(database_url=postgres_database), 5.0))
    assert checks["database"].ok is False
    assert "is at migration (empty)" in checks["database"].detail
    await prepare_database(postgres_database)
    checks = by_name(await run_checks(configure(database_url=postgres_database), 5.0))
    assert checks["database"].ok is True, checks["database"].detail
    assert checks["database"].detail.startswith("postgresql+asyncpg://postgres@127.0.0.1:5432/doctor_")
    assert checks["community"].ok is True


async def test_redis_not_configured_or_unreachable(configure: Configure) -> None:
    checks = by_name(await run_checks(configure(), 5.0))
    assert checks["redis"].ok is None
    assert "GRIDBOT_REDIS_URL unset" in checks["redis"].detail
    url = f"redis://:s3cret@127.0.0.1:{closed_port()}/0"
    checks = by_name(await run_checks(configure(redis_url=url), 5.0))
    assert checks["redis"].ok is False
    assert f"cannot reach redis://:***@127.0.0.1:{url.rsplit(':', 1)[1]}" in checks["redis"].detail
    assert "s3cret" not in checks["redis"].detail


async def test_token_missing_refused_or_api_unreachable(emu: Emulator, configure: Configure) -> None:
    checks = by_name(await run_checks(configure(bot_token=None), 5.0))
    assert checks["telegram"].ok is False
    assert "GRIDBOT_BOT_TOKEN is not set" in checks["telegram"].detail

    wrong = "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    checks = by_name(await run_checks(configure(bot_token=wrong), 5.0))
    assert checks["telegram"].ok is False
    assert "Telegram refused the token (401" in checks["telegram"].detail
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in rendered(list(checks.values()))
    assert checks["webhook"].ok is None

    checks = by_name(await run_checks(configure(telegram_api_url=f"http://127.0.0.1:{closed_port()}"), 5.0))
    assert checks["telegram"].ok is False
    assert "check GRIDBOT_TELEGRAM_API_URL" in checks["telegram"].detail
    assert emu.token not in checks["telegram"].detail

    checks = by_name(await run_checks(configure(transport="console", bot_token=None), 5.0))
    assert checks["telegram"].ok is None  # the console needs no token


async def test_webhook_mismatch_missing_or_unexpected(emu: Emulator, configure: Configure) -> None:
    checks = by_name(await run_checks(configure(webhook_url=WEBHOOK), 5.0))
    assert checks["webhook"].ok is False
    assert "Telegram has no webhook" in checks["webhook"].detail

    await set_webhook(emu, "https://old.example.org/telegram")
    checks = by_name(await run_checks(configure(webhook_url=WEBHOOK), 5.0))
    assert checks["webhook"].ok is False
    assert "Telegram delivers to https://old.example.org/telegram" in checks["webhook"].detail

    checks = by_name(await run_checks(configure(webhook_url=None), 5.0))
    assert checks["webhook"].ok is False
    assert "GRIDBOT_WEBHOOK_URL is unset" in checks["webhook"].detail

    await set_webhook(emu, "")  # deleted: polling mode
    checks = by_name(await run_checks(configure(webhook_url=None), 5.0))
    assert checks["webhook"].ok is True
    assert checks["webhook"].detail == "none set: polling mode (0 update(s) pending)"


async def test_webhook_telegram_cannot_deliver_to(emu: Emulator, configure: Configure) -> None:
    dead = f"http://127.0.0.1:{closed_port()}/telegram"
    await set_webhook(emu, dead)
    emu.user_sends_text(9001, "楼道灯坏了")  # the emulator tries to deliver it, and fails
    await emu.webhook_deliveries.wait(lambda d: d.error is not None, count=1, since=0, timeout=10)
    checks = by_name(await run_checks(configure(webhook_url=dead), 5.0))
    webhook = checks["webhook"]
    assert webhook.ok is False
    assert "Telegram cannot deliver" in webhook.detail
    assert "1 update(s) pending" in webhook.detail
    assert "last error 0 min ago: ClientConnectorError" in webhook.detail


def test_an_old_webhook_error_is_reported_but_passes() -> None:
    info = {
        "url": WEBHOOK,
        "pending_update_count": 0,
        "last_error_date": 1_000,
        "last_error_message": "Connection timed out",
    }
    check = webhook_check(WEBHOOK, info, now=1_000 + 3600)
    assert check.ok is True
    assert check.detail == f"{WEBHOOK} (0 update(s) pending; last error 60 min ago: Connection timed out)"


async def run_cli(env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    gridbot = Path(sys.executable).with_name("gridbot")
    process = await asyncio.create_subprocess_exec(
        str(gridbot),
        "doctor",
        "--timeout",
        "5",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_command_exit_status_and_output(emu: Emulator, database_url: str, tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GRIDBOT_")}
    env = {
        **base,
        "GRIDBOT_DATABASE_URL": database_url,
        "GRIDBOT_TRANSPORT": "ptb",
        "GRIDBOT_BOT_TOKEN": emu.token,
        "GRIDBOT_TELEGRAM_API_URL": emu.url,
        "GRIDBOT_BROADCAST_CAMPAIGNS_DIR": str(ROOT / "deploy" / "campaigns"),
    }
    started = time.monotonic()
    code, out, err = await run_cli(env, tmp_path)
    assert code == 0, out + err
    assert [line[:2] for line in out.splitlines()] == ["✓ ", "✓ ", "✓ ", "– ", "✓ ", "✓ "]
    assert emu.token not in out + err

    code, out, err = await run_cli(
        {**env, "GRIDBOT_BOT_TOKEN": "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"}, tmp_path
    )
    assert code == 1
    assert "✗ telegram: Telegram refused the token" in out
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in out + err
    assert time.monotonic() - started < 60


async def test_a_malformed_token_never_shows_either(configure: Configure) -> None:
    token = "not a token/../../x"  # no scrubber pattern matches it; the URL it makes is odd
    checks = await run_checks(configure(bot_token=token), 5.0)
    telegram = by_name(checks)["telegram"]
    assert telegram.ok is False
    assert token not in rendered(checks)
