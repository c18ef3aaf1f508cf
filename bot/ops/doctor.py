"""`gridbot doctor`: check a deployment's configuration, one line per check, and say what to fix.

✓ passed, ✗ failed (the line says what to do), – not applicable here. Exit status 1 when anything failed.
Secrets never reach the output: the token is only ever part of a request URL, database and Redis URLs are
shown without their passwords, and every error text goes through the log scrubber.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import Settings, TelegramSettings, Transport, env_name
from bot.telegram.redact import scrub

DEFAULT_TIMEOUT = 5.0  # seconds for each network check
RECENT_WEBHOOK_ERROR = 600  # seconds: a webhook error younger than this means Telegram cannot deliver now


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: not applicable (e.g. Redis not configured, console transport)
    detail: str

    def render(self) -> str:
        mark = "✓" if self.ok else ("–" if self.ok is None else "✗")
        return f"{mark} {self.name}: {self.detail}"


# `Settings` itself (the environment and ./.env, as `gridbot run` reads them), or a test's own.
SettingsLoader = Callable[[], Settings]


def _error(error: BaseException) -> str:
    """`Type: message`, scrubbed and cut short: enough to act on, nothing secret."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    text = scrub(text)[:200]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _safe_url(url: str) -> str:
    """A URL without its password (postgresql://user:***@host/db, redis://:***@host:6379/0)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


def check_settings(loader: SettingsLoader) -> tuple[Check, Settings | None]:
    """Settings load and point at files that exist."""
    try:
        settings = loader()
    except ValidationError as error:
        problems = [f"{env_name(item['loc'])}: {item['msg']}" for item in error.errors()]
        detail = "; ".join(problems) + " (fix the environment or .env; see .env.example)"
        return Check("settings", False, scrub(detail)), None
    except Exception as error:  # e.g. an unreadable .env
        return Check("settings", False, f"cannot load them ({_error(error)})"), None
    broadcast = settings.broadcast
    missing = []
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        missing.append(f"GRIDBOT_TIMEZONE={settings.timezone} is not a time zone (e.g. Asia/Shanghai)")
    rules_file = settings.nlp.rules_file
    if rules_file is not None and not rules_file.is_file():
        missing.append(f"GRIDBOT_RULES_FILE={rules_file} does not exist")
    if not broadcast.campaigns_dir.is_dir():
        missing.append(f"GRIDBOT_BROADCAST_CAMPAIGNS_DIR={broadcast.campaigns_dir} is not a directory")
    if broadcast.own_campaigns_dir is not None and not broadcast.own_campaigns_dir.is_dir():
        missing.append(
            f"GRIDBOT_BROADCAST_OWN_CAMPAIGNS_DIR={broadcast.own_campaigns_dir} is not a directory"
        )
    if missing:
        detail = "; ".join(missing) + " (relative paths start in the working directory)"
        return Check("settings", False, detail), settings
    database = make_url(settings.database.url).get_backend_name()
    transport, log = settings.telegram.transport.value, settings.logging.format.value
    detail = f"loaded (transport {transport}, database {database}, log {log})"
    return Check("settings", True, detail), settings


def _missing_sqlite_file(url: str) -> str | None:
    parsed = make_url(url)
    file = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if file and file != ":memory:" and not Path(file).is_file():
        return file
    return None


async def check_database(engine: AsyncEngine, url: str, seconds: float) -> Check:
    """The database answers and its schema is at the newest migration."""
    from storage.migrate import revisions

    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    missing = _missing_sqlite_file(url)
    if missing:
        # Connecting would create an empty file; say what is missing instead.
        return Check(
            "database", False, f"no SQLite file at {missing}: run `gridbot db upgrade` (or fix the URL)"
        )
    try:
        async with asyncio.timeout(seconds):
            current, head = await revisions(engine)  # what pending_revisions() compares
    except Exception as error:
        return Check(
            "database",
            False,
            f"cannot reach {shown} ({_error(error)}): check GRIDBOT_DATABASE_URL and that the server is up",
        )
    if current != head:
        return Check(
            "database",
            False,
            f"{shown} is at migration {current or '(empty)'}, this version needs {head}: "
            "run `gridbot db upgrade`",
        )
    return Check("database", True, f"{shown} reachable, migrations at head ({head})")


async def check_community(engine: AsyncEngine, seconds: float) -> Check:
    """At least one compound and one person: the community structure was imported."""
    from bot.schedule.clock import SystemClock
    from storage.database import make_session_factory
    from storage.uow import SqlUnitOfWorkFactory

    factory = SqlUnitOfWorkFactory(make_session_factory(engine), SystemClock("UTC"))  # read only
    try:
        async with asyncio.timeout(seconds), factory() as uow:
            compounds = await uow.community.compounds()
            people = await uow.community.people()
            grids = await uow.community.grids()
    except Exception as error:
        return Check("community", False, f"cannot read it ({_error(error)})")
    if not compounds or not people:
        return Check(
            "community",
            False,
            f"{len(compounds)} compound(s), {len(people)} active people: "
            "run `gridbot org import your-community.yaml`",
        )
    return Check(
        "community", True, f"{len(compounds)} compound(s), {len(grids)} grid(s), {len(people)} active people"
    )


async def check_redis(url: str | None, seconds: float) -> Check:
    """PING the Redis of GRIDBOT_REDIS_URL, when one is configured."""
    if not url:
        return Check("redis", None, "not configured (GRIDBOT_REDIS_URL unset): rate limits count per process")
    from redis.asyncio import Redis

    shown = _safe_url(url)
    try:
        client: Redis = Redis.from_url(url, socket_connect_timeout=seconds, socket_timeout=seconds)
    except ValueError as error:
        return Check("redis", False, f"GRIDBOT_REDIS_URL is not a Redis URL ({_error(error)})")
    try:
        async with asyncio.timeout(seconds):
            await client.ping()
    except Exception as error:
        return Check(
            "redis", False, f"cannot reach {shown} ({_error(error)}): check GRIDBOT_REDIS_URL and the server"
        )
    finally:
        await client.aclose()
    return Check("redis", True, f"{shown} answers PING")


class BotApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(f"{status} {description}")
        self.status = status
        self.description = description


async def _call(session: aiohttp.ClientSession, api_url: str, token: str, method: str) -> dict[str, Any]:
    """One Bot API call; the token is part of the URL only (never of an error message)."""
    url = f"{api_url.rstrip('/')}/bot{token}/{method}"
    async with session.get(url) as response:
        try:
            body = await response.json(content_type=None)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise BotApiError(
                response.status, "the answer is not a Bot API answer (wrong GRIDBOT_TELEGRAM_API_URL?)"
            )
        if not body.get("ok"):
            raise BotApiError(response.status, scrub(str(body.get("description", ""))))
        result = body.get("result")
        return result if isinstance(result, dict) else {}


async def check_telegram(settings: TelegramSettings, seconds: float) -> list[Check]:
    """getMe (the token) and getWebhookInfo (the webhook) through GRIDBOT_TELEGRAM_API_URL."""
    checks = await _check_telegram(settings, seconds)
    token = settings.token.get_secret_value() if settings.token else ""
    if not token:
        return checks
    # A token the scrubber's pattern does not recognise (malformed) must not leak through an error text.
    return [Check(c.name, c.ok, c.detail.replace(token, "<token>")) for c in checks]


async def _check_telegram(settings: TelegramSettings, seconds: float) -> list[Check]:
    if settings.transport is Transport.CONSOLE:
        na = "console transport (set GRIDBOT_TRANSPORT=ptb or aiogram to run on Telegram)"
        return [Check("telegram", None, na), Check("webhook", None, "console transport")]
    if settings.token is None:
        return [
            Check("telegram", False, "GRIDBOT_BOT_TOKEN is not set: get a token from @BotFather"),
            Check("webhook", None, "not checked without a token"),
        ]
    token = settings.token.get_secret_value()
    api = settings.api_url
    client_timeout = aiohttp.ClientTimeout(total=seconds)
    async with aiohttp.ClientSession(timeout=client_timeout) as session:
        try:
            me = await _call(session, api, token, "getMe")
        except BotApiError as error:
            if error.status in (401, 404):
                what = "Telegram refused the token" if error.status == 401 else "no such bot"
                fix = "check GRIDBOT_BOT_TOKEN (@BotFather /token)"
            else:
                what, fix = "getMe failed", "check GRIDBOT_TELEGRAM_API_URL"
            detail = f"{what} ({error.status} {error.description}): {fix}"
            return [Check("telegram", False, detail), Check("webhook", None, "not checked")]
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            detail = f"cannot reach {api} ({_error(error)}): check GRIDBOT_TELEGRAM_API_URL and the network"
            return [Check("telegram", False, detail), Check("webhook", None, "not checked")]
        telegram = Check(
            "telegram", True, f"token valid for @{me.get('username', '?')} (id {me.get('id', '?')})"
        )
        try:
            info = await _call(session, api, token, "getWebhookInfo")
        except (BotApiError, aiohttp.ClientError, TimeoutError, OSError) as error:
            return [telegram, Check("webhook", False, f"getWebhookInfo failed ({_error(error)})")]
    return [telegram, webhook_check(settings.webhook_url, info, time.time())]


def webhook_check(expected: str | None, info: dict[str, Any], now: float) -> Check:
    """Compare Telegram's webhook with GRIDBOT_WEBHOOK_URL; report the queue and the last error."""
    actual = str(info.get("url") or "")
    pending = int(info.get("pending_update_count") or 0)
    notes = [f"{pending} update(s) pending"]
    error_message = info.get("last_error_message")
    error_date = info.get("last_error_date")
    recent_error = False
    if error_message:
        age = max(0, int(now - float(error_date))) if error_date else None
        when = f" {age // 60} min ago" if age is not None else ""
        notes.append(f"last error{when}: {scrub(str(error_message))[:200]}")
        recent_error = age is None or age <= RECENT_WEBHOOK_ERROR
    status = "; ".join(notes)
    if expected:
        if not actual:
            return Check(
                "webhook",
                False,
                f"Telegram has no webhook, GRIDBOT_WEBHOOK_URL is {expected} ({status}): "
                "`gridbot run --webhook` sets it at start",
            )
        if actual != expected:
            return Check(
                "webhook",
                False,
                f"Telegram delivers to {actual}, GRIDBOT_WEBHOOK_URL is {expected} ({status}): "
                "fix GRIDBOT_WEBHOOK_URL, then `gridbot run --webhook` sets it at start",
            )
        if recent_error:
            return Check(
                "webhook",
                False,
                f"{actual}, but Telegram cannot deliver ({status}): check the proxy, its certificate, "
                "that a replica listens on GRIDBOT_WEBHOOK_HOST:GRIDBOT_WEBHOOK_PORT and GRIDBOT_WEBHOOK_SECRET",
            )
        return Check("webhook", True, f"{actual} ({status})")
    if actual:
        return Check(
            "webhook",
            False,
            f"Telegram delivers to {actual} but GRIDBOT_WEBHOOK_URL is unset ({status}): set it for "
            "`gridbot run --webhook`, or `gridbot run` (polling) removes that webhook at start",
        )
    return Check("webhook", True, f"none set: polling mode ({status})")


async def run_checks(loader: SettingsLoader, seconds: float = DEFAULT_TIMEOUT) -> list[Check]:
    """Every check, in order; later checks that depend on a failed one are reported as not run."""
    from storage.database import make_engine

    first, settings = check_settings(loader)
    if settings is None:
        return [first]
    checks = [first]
    url = settings.database.url
    engine = make_engine(url)
    try:
        database = await check_database(engine, url, seconds)
        checks.append(database)
        if database.ok:
            checks.append(await check_community(engine, seconds))
        else:
            checks.append(Check("community", None, "not checked: the database is not ready"))
    finally:
        await engine.dispose()
    checks.append(await check_redis(settings.delivery.redis_url, seconds))
    checks.extend(await check_telegram(settings.telegram, seconds))
    return checks
