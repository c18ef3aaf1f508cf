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
