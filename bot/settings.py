"""Configuration from GRIDBOT_* environment variables and an optional .env file."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Transport(StrEnum):
    CONSOLE = "console"
    PTB = "ptb"
    AIOGRAM = "aiogram"


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class Settings(BaseSettings):
    """Every setting has a default that works on a fresh machine with no token and no network."""

    model_config = SettingsConfigDict(env_prefix="GRIDBOT_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///gridbot.db"
    community_file: Path = Path("deploy/examples/community.yaml")
    rules_file: Path | None = None  # classifier rules; None = the shipped default
    timezone: str = "Asia/Shanghai"
    transport: Transport = Transport.CONSOLE
    bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.TEXT  # json: one object per line (ts, level, logger, message, extras)
    # /healthz, /readyz and /metrics in polling mode (webhook mode serves them on the webhook port).
    # Keep them private: loopback by default; 0 picks a free port.
    health_host: str = "127.0.0.1"
    health_port: int = 9090

    # Webhook mode (`gridbot run --webhook`): Telegram POSTs to webhook_url (your reverse proxy), which
    # forwards to webhook_host:webhook_port + webhook_path. The secret is checked on every request.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "127.0.0.1"
    webhook_port: int = 8080
    webhook_path: str = "/telegram"
    polling_timeout: int = 30  # seconds a getUpdates long poll is held open
    update_workers: int = 1  # concurrent update handlers; >1 only on PostgreSQL (same-chat order is kept)
    shutdown_timeout: float = 20.0  # seconds to finish in-flight updates and sends on SIGTERM
    # Outgoing pace (Telegram's flood limits).
    send_per_chat_per_second: float = 1.0
    send_per_chat_burst: int = 3
    send_per_group_per_minute: int = 20
    send_overall_per_second: float = 30.0
    # Several replicas: the outgoing limits above are counted in this Redis for all of them
    # (redis://host:6379/0). Unset: each process counts on its own (one replica).
    redis_url: str | None = None
