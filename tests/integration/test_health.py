"""/readyz on real databases: ready only when the database answers, is migrated and updates flow."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import aiohttp
import pytest

from bot.ops.health import HealthServerError, Readiness, start_health_server
from bot.ops.metrics import Metrics
from storage.database import make_engine
from storage.migrate import downgrade
from tests.integration.conftest import Database


async def test_ready_on_a_migrated_database_while_receiving(database: Database) -> None:
    assert await Readiness(database.engine, lambda: True).check() == {
        "database": "ok",
        "migrations": "ok",
        "updates": "ok",
    }


async def test_not_ready_when_updates_are_not_received(database: Database) -> None:
    result = await Readiness(database.engine, lambda: False).check()
    assert result == {"database": "ok", "migrations": "ok", "updates": "not running"}


async def test_not_ready_when_the_schema_is_behind(database: Database) -> None:
    await downgrade(database.engine, "0003")
    result = await Readiness(database.engine, lambda: True).check()
    assert result["database"] == "ok"
    assert result["migrations"] == "behind: run `gridbot db upgrade`"


async def test_not_ready_when_the_database_is_unreachable() -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    engine = make_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test")
    try:
        result = await Readiness(engine, lambda: True).check()
    finally:
        await engine.dispose()
    assert result["database"].startswith("unreachable (")
    assert result["migrations"] == "unknown"


async def test_the_server_answers_503_with_the_failing_part(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")  # never migrated
    receiving = [True]
    runner, port = await start_health_server(
        Metrics(), Readiness(engine, lambda: receiving[0]), "127.0.0.1", 0
    )
    try:
        async with aiohttp.ClientSession() as client:
            async with client.get(f"http://127.0.0.1:{port}/readyz") as response:
                assert response.status == 503
                body = json.loads(await response.text())
            assert body["ready"] is False
            assert body["migrations"].startswith("behind")
            assert body["updates"] == "ok"
            async with client.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == 200  # alive, though not ready
            async with client.get(f"http://127.0.0.1:{port}/metrics") as response:
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("text/plain")
                assert "gridbot_updates_handled_total" in await response.text()
    finally:
        await runner.cleanup()
        await engine.dispose()


async def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(HealthServerError, match=f"127.0.0.1:{port}.*GRIDBOT_HEALTH_PORT"):
            await start_health_server(Metrics(), Readiness(engine, lambda: True), "127.0.0.1", port)
    await engine.dispose()
