"""A Telegram Bot API emulator on loopback, for end-to-end tests of the real PTB and aiogram stacks.

It speaks the real wire format (``/bot{token}/{method}`` with query, form, multipart or JSON
parameters; ``/file/bot{token}/{path}`` downloads; ``{"ok": ..}`` envelopes with Telegram's
error codes and descriptions), so the frameworks run unchanged against ``emu.url``.

Usage from a test::

    async with Emulator() as emu:
        app = Application.builder().token(emu.token).base_url(f"{emu.url}/bot")...
        emu.user_sends_text(42, "hello")
        reply = await emu.wait_for_message(42)

Standalone (benchmarks; control it over HTTP under ``/_emulator/``, see :mod:`tools.emulator.control`)::

    python -m tools.emulator.server --port 8081 --token 123456:TEST

The parts, each a base class of :class:`Emulator` sharing :class:`~tools.emulator.core.EmulatorCore`'s
state: :mod:`~tools.emulator.actions` (the simulated users), :mod:`~tools.emulator.dispatch` (calls,
faults, flood limits), :mod:`~tools.emulator.methods_updates`, :mod:`~tools.emulator.methods_messages`,
:mod:`~tools.emulator.methods_bot` (the API methods) and :mod:`~tools.emulator.observe` (what tests read).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
from types import TracebackType

import aiohttp
from aiohttp import web

from bot.ops import loop
from tools.emulator.control import Controllable, add_control_routes
from tools.emulator.methods_bot import BotMethods
from tools.emulator.methods_messages import MessageMethods
from tools.emulator.methods_updates import UpdateMethods
from tools.emulator.records import RateLimit
from tools.emulator.state import DEFAULT_TOKEN, BotState, Fault
from tools.emulator.wire import ApiError, Params, read_params

__all__ = ["DEFAULT_TOKEN", "BotState", "Emulator", "Fault", "RateLimit", "main"]


class Emulator(Controllable, UpdateMethods, MessageMethods, BotMethods):
    """The Bot API server plus the simulated user side and the record of what the bot did.

    Args:
        token: the first bot's token (more bots: :meth:`add_bot`).
        host: interface to bind; loopback only, tests must not reach the network.
        port: 0 for an ephemeral port.
        bot_username: the first bot's @username (getMe; mentions under privacy mode).
        bot_first_name: the first bot's display name.
        strict_chats: refuse to send into chats no user has opened (Telegram's "chat not found"
            / "bot can't initiate conversation"); turn off for broadcast benchmarks.
        rate_limit: flood limits answering 429, or None.
        webhook_retry_delay: first delay before re-POSTing a refused webhook update (doubles up to 1 s).
        privacy_mode: if True, group messages reach the bot only if they are commands, replies to
            the bot or mention it (Telegram's default for bots; @BotFather /setprivacy turns it off).
    """

    _runner: web.AppRunner | None = None

    def build_app(self) -> web.Application:
        """Build the aiohttp application (also used by the standalone runner)."""
        # Telegram answers uploads up to 50 MB; aiohttp's default body limit is 1 MiB.
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        add_control_routes(app, self)
        return app

    async def start(self) -> None:
        """Bind and serve; ``port=0`` picks a free port, readable afterwards as ``self.port``."""
        # handler_cancellation: a long poll whose client went away (bot stopped) ends at once
        # instead of holding the server open until its timeout.
        self._runner = web.AppRunner(self.build_app(), handler_cancellation=True, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._client = aiohttp.ClientSession()

    async def close(self) -> None:
        """Wake long polls, stop webhook deliveries, close the server."""
        for bot in self.bots.values():
            bot.wake_poll("closed")
            bot.webhook = None
            bot.webhook_wakeup.set()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # ----------------------------------------------------------------------------- HTTP handlers

    async def _handle_api(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        bot = self.bots.get(token)
        if bot is None:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        params = await self._safe_params(request)
        if isinstance(params, ApiError):
            return web.json_response(params.body(), status=params.error_code)
        body, status = await self.call(bot, method, params, content_type=request.content_type)
        return web.json_response(body, status=status)

    @staticmethod
    async def _safe_params(request: web.Request) -> Params | ApiError:
        try:
            return await read_params(request)
        except ApiError as err:
            return err

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] not in self.bots:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.path == path:
                return web.Response(body=stored.data, content_type="application/octet-stream")
        return web.json_response(ApiError(404, "Not Found").body(), status=404)


# ----------------------------------------------------------------------------- standalone


async def _serve(args: argparse.Namespace) -> None:
    """Serve until SIGINT/SIGTERM, with the control API under ``/_emulator/`` (see tools.emulator.control)."""
    tokens: list[str] = args.token or [DEFAULT_TOKEN]
    limits = (args.overall_per_second, args.per_chat_per_second, args.per_group_per_minute)
    emu = Emulator(
        tokens[0],
        host=args.host,
        port=args.port,
        strict_chats=not args.no_strict_chats,
        rate_limit=RateLimit(*limits) if any(v is not None for v in limits) else None,
    )
    for token in tokens[1:]:
        emu.add_bot(token)
    stop = asyncio.Event()
    running = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        running.add_signal_handler(sig, stop.set)
    async with emu:
        print(f"Bot API emulator on {emu.url} (tokens: {len(tokens)})", flush=True)  # noqa: T201
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    """``python -m tools.emulator.server --port 8081``: serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", action="append", help="bot token (repeatable); default: DEFAULT_TOKEN")
    parser.add_argument("--overall-per-second", type=float, default=None, help="flood limit, e.g. 30")
    parser.add_argument("--per-chat-per-second", type=float, default=None)
    parser.add_argument("--per-group-per-minute", type=int, default=None)
    parser.add_argument("--no-strict-chats", action="store_true", help="allow sending to unknown chats")
    with contextlib.suppress(KeyboardInterrupt):
        loop.run(_serve(parser.parse_args(argv)), loop.from_environment())  # as the bot's (bot/ops/loop.py)


if __name__ == "__main__":
    main()
