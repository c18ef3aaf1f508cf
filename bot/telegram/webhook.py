"""The webhook receiver: check Telegram's secret header, journal the update, answer 200, handle later."""

from __future__ import annotations

import hmac
import logging

from aiohttp import web

from bot.telegram.pump import UpdatePump

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_app(pump: UpdatePump, secret: str, path: str = "/telegram") -> web.Application:
    """An aiohttp application with one route; anything without the right secret gets 403."""

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
    return app


async def start_webhook_server(
    pump: UpdatePump, secret: str, host: str, port: int, path: str
) -> tuple[web.AppRunner, int]:
    """Serve the webhook; returns the runner (cleanup() to stop) and the bound port (port=0 picks one)."""
    runner = web.AppRunner(webhook_app(pump, secret, path), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server  # aiohttp exposes the bound port only through the server's sockets
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, int(bound)
