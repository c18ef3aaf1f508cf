"""/healthz, /readyz and /metrics: on the webhook's aiohttp app, or on a small server of their own.

- /healthz: the process is alive and its event loop answers (200, no I/O).
- /readyz: 200 when the database answers, its schema is at the newest migration and updates are being
  received and handled; 503 with the failing part otherwise (the proxy and orchestrators stop sending).
- /metrics: Prometheus text format, this process's own registry (bot/metrics.py).

They carry no personal data, but keep them private all the same: the health server binds loopback by
default and the nginx example only lets internal networks read them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.ops.metrics import CONTENT_TYPE, Metrics
from storage.migrate import pending_revisions

log = logging.getLogger(__name__)

READY_TIMEOUT = 3.0  # seconds for the database part of /readyz


class Readiness:
    """What /readyz checks: the database, its migrations, and `receiving()` (the update pump)."""

    def __init__(self, engine: AsyncEngine, receiving: Callable[[], bool]) -> None:
        self._engine = engine
        self._receiving = receiving

    async def check(self) -> dict[str, str]:
        """{"database", "migrations", "updates"} -> "ok" or what is wrong."""
        result = {"database": "ok", "migrations": "ok", "updates": "ok"}
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                async with self._engine.connect() as connection:
                    await connection.execute(text("select 1"))
                if await pending_revisions(self._engine):
                    result["migrations"] = "behind: run `gridbot db upgrade`"
        except Exception as error:  # unreachable, refused, timed out: not ready, whatever the cause
            result["database"] = f"unreachable ({type(error).__name__})"
            result["migrations"] = "unknown"
        if not self._receiving():
            result["updates"] = "not running"
        return result


def add_health_routes(app: web.Application, metrics: Metrics, readiness: Readiness) -> None:
    """Add GET /healthz, /readyz and /metrics to `app`."""

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_request: web.Request) -> web.Response:
        parts = await readiness.check()
        ready = all(value == "ok" for value in parts.values())
        return web.json_response({"ready": ready, **parts}, status=200 if ready else 503)

    async def metrics_view(_request: web.Request) -> web.Response:
        response = web.Response(body=metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_view)


class HealthServerError(Exception):
    """The health server could not listen (port taken, bad address)."""


async def start_health_server(
    metrics: Metrics, readiness: Readiness, host: str, port: int
) -> tuple[web.AppRunner, int]:
    """Serve the three endpoints on host:port (polling mode); returns the runner and the bound port."""
    app = web.Application()
    add_health_routes(app, metrics, readiness)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        raise HealthServerError(
            f"cannot serve /healthz on {host}:{port} ({error.strerror or error}): "
            "set GRIDBOT_HEALTH_PORT to a free port"
        ) from error
    return runner, bound_port(site, port)


def bound_port(site: web.TCPSite, default: int) -> int:
    """The port a site listens on (port 0 lets the OS pick one)."""
    server = site._server  # aiohttp exposes the bound port only through the server's sockets
    sockets = getattr(server, "sockets", None) or []
    return int(sockets[0].getsockname()[1]) if sockets else default
