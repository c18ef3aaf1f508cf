"""`gridbot run`: serve residents and members on Telegram (polling, or `--webhook`).

Register in bot/cli.py with `app.command("run")(run)`; also runnable as `python -m bot.cli_run`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated

import typer

from bot.settings import Settings
from bot.telegram.redact import install_redaction

log = logging.getLogger(__name__)


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # SQL logs would carry personal data; HTTP client logs carry the token in URLs.
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    install_redaction()


async def serve(settings: Settings, *, webhook: bool, stop: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or `stop`), then finish in-flight work and exit."""
    from bot.app import build_app
    from bot.telegram.runner import TelegramRunner

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app = await build_app(settings)
    try:
        await TelegramRunner(app).run(stop, webhook=webhook)
    finally:
        await app.close()


def run_command(webhook: bool = False) -> None:
    """Serve gridbot on Telegram with the transport of GRIDBOT_TRANSPORT (ptb or aiogram)."""
    from bot.app import NotMigrated
    from bot.telegram.runner import ConfigurationError

    settings = Settings()
    configure_logging(settings)
    try:
        asyncio.run(serve(settings, webhook=webhook))
    except (NotMigrated, ConfigurationError) as error:
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
