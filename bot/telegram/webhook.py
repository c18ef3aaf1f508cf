"""The webhook receiver: check Telegram's secret header, journal the update, answer 200, handle later."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable

from aiohttp import web

from bot.ops.health import bound_port
from bot.telegram.pump import UpdatePump

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


AddRoutes = Callable[[web.Application], None]


def webhook_app(
    pump: UpdatePump, secret: str, path: str = "/telegram", extra: AddRoutes | None = None
) -> web.Application:
    """An aiohttp application with the webhook route (anything without the right secret gets 403),
    plus what `extra` adds (the health and metrics endpoints)."""

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("webhook call without the right secret refused")
            return web.Response(status=403)
        try:
            payload = await request.json()
        except ValueError:
            return web.Response(status=400)
        if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
            return web.Response(status=400)
        # Journaled (committed) before the 200: if we die now, Telegram delivers it again.
        # A database failure raises here and aiohttp answers 500, so Telegram retries too.
        await pump.accept([payload])
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post(path, receive)
    if extra is not None:
        extra(app)
    return app


async def start_webhook_server(
    pump: UpdatePump, secret: str, host: str, port: int, path: str, extra: AddRoutes | None = None
) -> tuple[web.AppRunner, int]:
    """Serve the webhook; returns the runner (cleanup() to stop) and the bound port (port=0 picks one)."""
    runner = web.AppRunner(webhook_app(pump, secret, path, extra), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner, bound_port(site, port)
