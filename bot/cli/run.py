"""`gridbot run`: serve residents and members on Telegram (polling, or `--webhook`).

Register in bot/cli.py with `app.command("run")(run)`; also runnable as `python -m bot.cli.run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.unreachable import unreachable
from bot.ops import loop
from bot.ops.logs import configure_logging as setup_logging
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)


def configure_logging(settings: Settings) -> None:
    """GRIDBOT_LOG_LEVEL and GRIDBOT_LOG_FORMAT (text|json); tokens and phone numbers redacted in both.

    SQL logs would carry personal data and HTTP client logs the token in URLs: they are quieted.
    """
    setup_logging(settings.logging.level, settings.logging.format)


async def serve(
    settings: Settings,
    *,
    webhook: bool,
    stop: asyncio.Event | None = None,
    first_delay: float = 1.0,
    max_delay: float = 60.0,
    signals: bool = True,
) -> None:
    """Run until SIGTERM/SIGINT (or `stop`), then finish in-flight work and exit.

    A database or Bot API that cannot be reached (not up yet, a network hiccup) is waited for: one log
    line per attempt, the wait doubling from `first_delay` up to `max_delay`. Anything else is raised.
    """
    from bot.app import build_app
    from bot.telegram.runner import TelegramRunner

    stop = stop or asyncio.Event()
    if signals:
        running = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            running.add_signal_handler(sig, stop.set)
    delay = first_delay
    app: App | None = None
    try:
        while not stop.is_set():
            try:
                if app is None:  # built once: loading the classifier takes seconds
                    app = await build_app(settings)
                await TelegramRunner(app).run(stop, webhook=webhook, freeze_heap=True)
                return
            except Exception as error:
                reason = unreachable(error)
                if reason is None:
                    raise
                log.warning("%s; retrying in %.1fs", reason, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, max_delay)
    finally:
        if app is not None:
            await app.close()


def run_command(webhook: bool = False) -> None:
    """Serve gridbot on Telegram with the transport of GRIDBOT_TRANSPORT (ptb or aiogram)."""
    from bot.app import NotMigrated
    from bot.ops.health import HealthServerError
    from bot.telegram.runner import ConfigurationError

    settings = Settings()
    configure_logging(settings)
    try:
        choice = settings.telegram.event_loop
        log.info("event loop: %s", loop.loop_name(choice))
        loop.run(serve(settings, webhook=webhook), choice)
    except (NotMigrated, ConfigurationError, HealthServerError, loop.EventLoopUnavailable) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error


def run(
    webhook: Annotated[
        bool, typer.Option("--webhook", help="receive updates on a webhook instead of polling")
    ] = False,
) -> None:
    """Serve residents and grid members on Telegram (GRIDBOT_TRANSPORT=ptb|aiogram, GRIDBOT_BOT_TOKEN)."""
    run_command(webhook)


if __name__ == "__main__":
    typer.run(run)
