"""Minimal echo bots in python-telegram-bot and aiogram, pointed at any Bot API URL.

They prove the emulator works with the real frameworks and are the baseline of ``make bench-bot``
(an adapter doing real work is compared with a bot doing nothing but echoing). Each honours a 429
``retry_after`` a bounded number of times, as the issue asks of every sender, so the baseline pays the
same price under flood limits.

    async with running_ptb_echo(emu.url, emu.token):
        ...
    python -m tools.echo_bots aiogram --api-url http://127.0.0.1:8081 --token 123:ABC
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import signal
from collections.abc import AsyncIterator

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter
from aiogram.types import Message
from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bot.ops import loop

__all__ = [
    "MAX_SEND_ATTEMPTS",
    "build_aiogram_echo",
    "build_ptb_echo",
    "running_aiogram_echo",
    "running_ptb_echo",
]

MAX_SEND_ATTEMPTS = 3  # bounded: a persistent 429 gives up instead of looping forever
POLL_TIMEOUT = 10  # seconds of long polling; stopping a bot does not wait for it


def _seconds(retry_after: int | float | dt.timedelta) -> float:
    # PTB 22 returns int by default and timedelta with PTB_TIMEDELTA=1 (its future default).
    return retry_after.total_seconds() if isinstance(retry_after, dt.timedelta) else float(retry_after)


# ----------------------------------------------------------------------------- python-telegram-bot


async def _ptb_echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo the text back into the chat."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    for attempt in range(1, MAX_SEND_ATTEMPTS + 1):
        try:
            await context.bot.send_message(message.chat_id, message.text)
            return
        except RetryAfter as exc:
            if attempt == MAX_SEND_ATTEMPTS:
                raise
            await asyncio.sleep(_seconds(exc.retry_after))


def build_ptb_echo(api_url: str, token: str) -> Application:
    """Build a PTB echo ``Application`` talking to ``{api_url}/bot{token}/...``."""
    app = (
        Application.builder()
        .token(token)
        .base_url(f"{api_url}/bot")
        .base_file_url(f"{api_url}/file/bot")
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _ptb_echo))
    return app


@contextlib.asynccontextmanager
async def running_ptb_echo(api_url: str, token: str) -> AsyncIterator[Application]:
    """Run the PTB echo bot (polling) for the duration of the block."""
    app = build_ptb_echo(api_url, token)
    async with app:  # initialize() calls getMe; shutdown() closes the HTTP clients
        assert app.updater is not None
        await app.updater.start_polling(timeout=POLL_TIMEOUT, poll_interval=0)
        await app.start()
        try:
            yield app
        finally:
            await app.updater.stop()  # confirms fetched updates with a last getUpdates(timeout=0)
            await app.stop()


# ----------------------------------------------------------------------------- aiogram


async def _aiogram_echo(message: Message, bot: Bot) -> None:
    """Echo the text back into the chat."""
    assert message.text is not None  # the F.text filter guarantees it
    for attempt in range(1, MAX_SEND_ATTEMPTS + 1):
        try:
            await bot.send_message(message.chat.id, message.text)
            return
        except TelegramRetryAfter as exc:
            if attempt == MAX_SEND_ATTEMPTS:
                raise
            await asyncio.sleep(exc.retry_after)


def build_aiogram_echo(api_url: str, token: str) -> tuple[Bot, Dispatcher]:
    """Build an aiogram echo bot and dispatcher talking to ``{api_url}/bot{token}/...``."""
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)))
    dp = Dispatcher()
    dp.message.register(_aiogram_echo, F.text)
    return bot, dp


@contextlib.asynccontextmanager
async def running_aiogram_echo(api_url: str, token: str) -> AsyncIterator[Bot]:
    """Run the aiogram echo bot (polling) for the duration of the block."""
    bot, dp = build_aiogram_echo(api_url, token)
    started = asyncio.Event()
    dp.startup.register(started.set)
    task = asyncio.create_task(dp.start_polling(bot, polling_timeout=POLL_TIMEOUT, handle_signals=False))
    ready = asyncio.create_task(started.wait())
    try:
        # stop_polling() refuses to run before polling has started, so wait for the startup hook.
        await asyncio.wait([task, ready], return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # start-up failed: raise it here
        yield bot
    finally:
        ready.cancel()
        if not task.done():
            await dp.stop_polling()
        await task  # closes the bot's session too (close_bot_session=True)


# ----------------------------------------------------------------------------- standalone


async def _run_forever(framework: str, api_url: str, token: str) -> None:
    stop = asyncio.Event()
    running = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        running.add_signal_handler(sig, stop.set)
    runner = running_ptb_echo if framework == "ptb" else running_aiogram_echo
    async with runner(api_url, token):
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    """``python -m tools.echo_bots {ptb,aiogram} --api-url URL --token TOKEN``."""
    parser = argparse.ArgumentParser(description="Run a minimal echo bot against a Bot API URL.")
    parser.add_argument("framework", choices=["ptb", "aiogram"])
    parser.add_argument("--api-url", required=True, help="e.g. http://127.0.0.1:8081 (no /bot suffix)")
    parser.add_argument("--token", required=True)
    args = parser.parse_args(argv)
    # The same loop as `gridbot run` (GRIDBOT_EVENT_LOOP): bench-bot's ratio compares like with like.
    loop.run(_run_forever(args.framework, args.api_url, args.token), loop.from_environment())


if __name__ == "__main__":
    main()
