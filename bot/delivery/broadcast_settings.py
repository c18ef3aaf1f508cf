"""Broadcast settings, from GRIDBOT_BROADCAST_* environment variables (or .env)."""

from __future__ import annotations

import socket
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BroadcastSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRIDBOT_BROADCAST_", env_file=".env", extra="ignore")

    campaigns_dir: Path = Path("deploy/campaigns")  # the shipped library
    own_campaigns_dir: Path | None = (
        None  # staff's own *.md campaigns, loaded after (and overriding) the library
    )
    rate_per_second: float = 30.0  # Telegram: about 30 messages a second per bot
    per_chat_per_second: float = 1.0
    # Pace this fraction of the rate: evenly spaced sends stay inside a sliding one-second window despite jitter.
    pace_margin: float = 0.98
    batch_size: int = 20  # rows claimed at a time; an alert waits behind at most one batch
    lease_seconds: float = 120.0  # a claim older than this belongs to a dead sender and is handed out again
    max_rate_limited_retries: int = 3  # 429s for one message before it goes back to the queue
    max_attempts: int = 5  # claims of one row before it is recorded as failed
    max_pause_seconds: float = 120.0  # a longer retry_after is capped (and the lease renewed while waiting)
    # One process per name: a sender restarting under its name takes back what it held at once.
    sender_name: str = Field(default_factory=socket.gethostname)
