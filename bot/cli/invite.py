"""`gridbot org invite NAME`: a single-use, expiring deep link that binds whoever opens it to NAME.

The link is https://t.me/<bot>?start=<code>. The bot's username comes from --bot-username, else the setting
GRIDBOT_TELEGRAM_BOT_USERNAME, else Telegram itself (getMe with the token). The code is printed once and
only its hash is stored (handlers/community/invites.py).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated, Any

import aiohttp
import typer

from bot.ops.logs import configure_logging
from bot.settings import Settings, TelegramSettings
from handlers.community.invites import INVITE_VALID, Issued, NotInvitable, deep_link, issue

GET_ME_TIMEOUT = 10.0  # seconds


class NoBotUsername(Exception):
    """Neither an option, nor the setting, nor Telegram told us the bot's username."""


async def bot_username(settings: TelegramSettings, given: str | None, wait: float = GET_ME_TIMEOUT) -> str:
    """The bot's @username (without @): the option, the setting, or getMe through the Bot API."""
    for name in (given, settings.bot_username):
        if name and name.strip().lstrip("@"):
            return name.strip().lstrip("@")
    if settings.token is None:
        raise NoBotUsername(
            "set GRIDBOT_TELEGRAM_BOT_USERNAME or pass --bot-username (no token to ask Telegram)"
        )
    token = settings.token.get_secret_value()
    url = f"{settings.api_url.rstrip('/')}/bot{token}/getMe"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=wait)) as session,
            session.get(url) as response,
        ):
            body: Any = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as error:
        # The URL holds the token: name the failure only.
        raise NoBotUsername(
            f"cannot ask Telegram for the bot's username ({type(error).__name__}); "
            "set GRIDBOT_TELEGRAM_BOT_USERNAME or pass --bot-username"
        ) from None
    username = body.get("result", {}).get("username") if isinstance(body, dict) and body.get("ok") else None
    if not isinstance(username, str) or not username:
        raise NoBotUsername("Telegram did not say the bot's username (check GRIDBOT_BOT_TOKEN)")
    return username


def invite_command(
    name: Annotated[str, typer.Argument(help="the person's name as in the community file (or a resident's)")],
    resident: Annotated[
        bool, typer.Option("--resident", help="invite a resident of this name (e.g. for the ledger)")
    ] = False,
    days: Annotated[
        int, typer.Option("--days", min=1, max=90, help="days the link stays valid")
    ] = INVITE_VALID.days,
    username: Annotated[
        str | None,
        typer.Option(
            "--bot-username", help="the bot's @username (default: GRIDBOT_TELEGRAM_BOT_USERNAME or getMe)"
        ),
    ] = None,
) -> None:
    """Create a single-use invite link: whoever opens it joins as NAME (no chat id needed)."""
    from bot.app import NotMigrated, build_app

    settings = Settings()
    configure_logging(settings.logging.level, settings.logging.format)  # as every command: scrubbed, quiet

    async def go() -> tuple[Issued, str | None, str]:
        try:
            bot: str | None = await bot_username(settings.telegram, username)
            problem = ""
        except NoBotUsername as error:
            bot, problem = None, str(error)
        app_ = await build_app(settings, classifier=_NoClassifier())
        try:
            async with app_.uow_factory() as uow:
                issued = await issue(
                    uow.community, name, app_.clock.now(), resident=resident, valid=timedelta(days=days)
                )
                await uow.commit()
        finally:
            await app_.close()
        return issued, bot, problem

    try:
        issued, bot, problem = asyncio.run(go())
    except NotInvitable as error:
        typer.echo(
            f"nobody called {name!r} in the community: check the name in the community file "
            "(or use --resident to invite a resident)",
            err=True,
        )
        raise typer.Exit(1) from error
    except NotMigrated as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error
    who = f"resident {issued.name}" if resident else issued.name
    when = f"{issued.expires_at:%Y-%m-%d %H:%M}"
    if bot is not None:
        typer.echo(f"invite for {who}, single use, valid until {when}:")
        typer.echo(deep_link(bot, issued.code))
    else:
        typer.echo(f"invite for {who}, single use, valid until {when} (no link: {problem}).")
        typer.echo(f"They can open the bot and send: /start {issued.code}")
    if issued.rebinds:
        typer.echo("note: they have a chat already; opening the link moves them to the new one")


class _NoClassifier:
    """Making an invite classifies nothing; skip loading the classifier's dictionary."""

    def classify(self, text: str) -> Any:  # pragma: no cover - never called
        raise NotImplementedError
