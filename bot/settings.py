"""Configuration: one `Settings` in sections, from GRIDBOT_* environment variables and an optional .env.

Every setting names its environment variable in `validation_alias`. The names are older than the
sections (GRIDBOT_SEND_PER_CHAT_PER_SECOND, GRIDBOT_BROADCAST_LEASE_SECONDS, ...) and deployments set
them, so they stay as they are instead of being derived from the section a setting now lives in. Where
two names used to configure the same thing, the setting accepts both and the first listed wins.

Only the entry points (bot/cli/*) build `Settings`; everything else is handed the section it needs.
The sections are frozen plain models: building one (in a test, say) reads nothing from the environment.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Mapping
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bot.ops.loop import EventLoop


class Transport(StrEnum):
    CONSOLE = "console"
    PTB = "ptb"
    AIOGRAM = "aiogram"


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class _Section(BaseModel):
    # By name in code and tests (`DeliverySettings(batch_size=7)`), by variable name from the environment.
    model_config = ConfigDict(frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True)


class DatabaseSettings(_Section):
    # SQLAlchemy async URL: SQLite for a demo, postgresql+asyncpg://... in production.
    url: str = Field(default="sqlite+aiosqlite:///gridbot.db", validation_alias="GRIDBOT_DATABASE_URL")


class TelegramSettings(_Section):
    transport: Transport = Field(default=Transport.CONSOLE, validation_alias="GRIDBOT_TRANSPORT")
    token: SecretStr | None = Field(default=None, validation_alias="GRIDBOT_BOT_TOKEN")
    api_url: str = Field(default="https://api.telegram.org", validation_alias="GRIDBOT_TELEGRAM_API_URL")
    # The bot's @username (without @): invite links are https://t.me/<username>?start=<code>.
    # Unset: `gridbot org invite` asks Telegram (getMe) with the token.
    bot_username: str | None = Field(default=None, validation_alias="GRIDBOT_TELEGRAM_BOT_USERNAME")
    # Seconds a getUpdates long poll is held open.
    polling_timeout: int = Field(default=30, ge=0, validation_alias="GRIDBOT_POLLING_TIMEOUT")
    # Concurrent update handlers; >1 only on PostgreSQL (a chat's updates keep their order).
    update_workers: int = Field(default=1, ge=1, validation_alias="GRIDBOT_UPDATE_WORKERS")
    # The event loop `gridbot run` serves on: auto (uvloop when installed), uvloop, or asyncio (bot/ops/loop.py).
    event_loop: EventLoop = Field(default=EventLoop.AUTO, validation_alias="GRIDBOT_EVENT_LOOP")
    # Seconds to finish in-flight updates and sends on SIGTERM.
    shutdown_timeout: float = Field(default=20.0, ge=0, validation_alias="GRIDBOT_SHUTDOWN_TIMEOUT")
    # Webhook mode (`gridbot run --webhook`): Telegram POSTs to webhook_url (your reverse proxy), which
    # forwards to webhook_host:webhook_port + webhook_path. The secret is checked on every request.
    webhook_url: str | None = Field(default=None, validation_alias="GRIDBOT_WEBHOOK_URL")
    webhook_secret: SecretStr | None = Field(default=None, validation_alias="GRIDBOT_WEBHOOK_SECRET")
    webhook_host: str = Field(default="127.0.0.1", validation_alias="GRIDBOT_WEBHOOK_HOST")
    webhook_port: int = Field(default=8080, validation_alias="GRIDBOT_WEBHOOK_PORT")
    webhook_path: str = Field(default="/telegram", validation_alias="GRIDBOT_WEBHOOK_PATH")


class DeliverySettings(_Section):
    """Sending within Telegram's flood limits and claiming under a lease: the same for the reply outbox
    and for broadcast deliveries."""

    # The broadcast name is the older spelling of the same limit (it only ever paced broadcasts).
    per_chat_per_second: float = Field(
        default=1.0,
        gt=0,
        validation_alias=AliasChoices(
            "GRIDBOT_SEND_PER_CHAT_PER_SECOND", "GRIDBOT_BROADCAST_PER_CHAT_PER_SECOND"
        ),
    )
    per_chat_burst: int = Field(default=3, ge=1, validation_alias="GRIDBOT_SEND_PER_CHAT_BURST")
    per_group_per_minute: int = Field(default=20, ge=1, validation_alias="GRIDBOT_SEND_PER_GROUP_PER_MINUTE")
    overall_per_second: float = Field(default=30.0, gt=0, validation_alias="GRIDBOT_SEND_OVERALL_PER_SECOND")
    # Several replicas: the limits above are counted in this Redis for all of them (redis://host:6379/0).
    # Unset: each process counts on its own (one replica).
    redis_url: str | None = Field(default=None, validation_alias="GRIDBOT_REDIS_URL")
    # Rows claimed at a time; an emergency alert waits behind at most one batch.
    batch_size: int = Field(default=20, ge=1, validation_alias="GRIDBOT_BROADCAST_BATCH_SIZE")
    # A claim older than this belongs to a dead sender and is handed out again; also how long another
    # replica waits before handling an update a stopped replica journaled.
    lease_seconds: float = Field(default=120.0, gt=0, validation_alias="GRIDBOT_BROADCAST_LEASE_SECONDS")
    max_attempts: int = Field(
        default=5, ge=1, validation_alias="GRIDBOT_BROADCAST_MAX_ATTEMPTS"
    )  # claims per row
    # Messages a sender sends before writing their "sent" together (one statement, one transaction). A
    # crash resends at most these (the Bot API has no idempotent send): 1 keeps that to one message.
    in_flight: int = Field(default=1, ge=1, le=20, validation_alias="GRIDBOT_SEND_IN_FLIGHT")
    # One process per name: a sender restarting under its name takes back at once what it held.
    sender_name: str = Field(
        default_factory=socket.gethostname, validation_alias="GRIDBOT_BROADCAST_SENDER_NAME"
    )

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds)


class BroadcastSettings(_Section):
    campaigns_dir: Path = Field(
        default=Path("deploy/campaigns"), validation_alias="GRIDBOT_BROADCAST_CAMPAIGNS_DIR"
    )
    # Staff's own *.md campaigns, loaded after (and overriding) the shipped library.
    own_campaigns_dir: Path | None = Field(
        default=None, validation_alias="GRIDBOT_BROADCAST_OWN_CAMPAIGNS_DIR"
    )
    # Broadcasts' share of the overall rate: Telegram allows about 30 messages a second per bot.
    rate_per_second: float = Field(default=30.0, gt=0, validation_alias="GRIDBOT_BROADCAST_RATE_PER_SECOND")
    # Pace this fraction of the rate: evenly spaced sends stay inside a sliding one-second window.
    pace_margin: float = Field(default=0.98, gt=0, le=1, validation_alias="GRIDBOT_BROADCAST_PACE_MARGIN")
    # 429s for one message before it goes back to the queue.
    max_rate_limited_retries: int = Field(
        default=3, ge=0, validation_alias="GRIDBOT_BROADCAST_MAX_RATE_LIMITED_RETRIES"
    )
    # A longer retry_after is capped (and the lease renewed while waiting).
    max_pause_seconds: float = Field(
        default=120.0, gt=0, validation_alias="GRIDBOT_BROADCAST_MAX_PAUSE_SECONDS"
    )


class NlpSettings(_Section):
    rules_file: Path | None = Field(
        default=None, validation_alias="GRIDBOT_RULES_FILE"
    )  # None: the shipped rules
    # The learned second opinion's model file (`gridbot nlp train --out`); None: the shipped nlp/data/model.bin.
    # A missing or corrupt file is logged and the bot classifies by the rules alone.
    model_file: Path | None = Field(default=None, validation_alias="GRIDBOT_NLP_MODEL_FILE")


class LoggingSettings(_Section):
    level: str = Field(default="INFO", validation_alias="GRIDBOT_LOG_LEVEL")
    # json: one object per line (ts, level, logger, message, extras).
    format: LogFormat = Field(default=LogFormat.TEXT, validation_alias="GRIDBOT_LOG_FORMAT")


class HealthSettings(_Section):
    # /healthz, /readyz and /metrics in polling mode (webhook mode serves them on the webhook port).
    # Keep them private: loopback by default; 0 picks a free port.
    host: str = Field(default="127.0.0.1", validation_alias="GRIDBOT_HEALTH_HOST")
    port: int = Field(default=9090, validation_alias="GRIDBOT_HEALTH_PORT")


class WebSettings(_Section):
    # The staff desk (`gridbot web`): a separate process over the same database. Loopback by default:
    # put it behind the reverse proxy (HTTPS) to reach it from other machines.
    host: str = Field(default="127.0.0.1", validation_alias="GRIDBOT_WEB_HOST")
    port: int = Field(default=8088, validation_alias="GRIDBOT_WEB_PORT")
    # The desk's address as staff open it (https://desk.example.org): `/desk` login links point there.
    # Unset: http://host:port.
    public_url: str | None = Field(default=None, validation_alias="GRIDBOT_WEB_PUBLIC_URL")


class ResidentsSettings(_Section):
    """What one resident may ask of the community, and how long what they wrote is kept."""

    # Work orders one resident may open in an hour (counted in the database, so replicas agree);
    # emergencies are never limited.
    reports_per_hour: int = Field(default=20, ge=1, validation_alias="GRIDBOT_REPORTS_PER_HOUR")
    # Days a sent (or failed) message stays in the outbox before it is deleted.
    keep_sent_messages_days: int = Field(default=30, ge=1, validation_alias="GRIDBOT_KEEP_SENT_MESSAGES_DAYS")
    # Days after an order is closed or cancelled before its free texts (what the resident wrote, notes,
    # relayed replies, photos) are redacted; category, place and times stay for the statistics.
    keep_closed_order_texts_days: int = Field(
        default=365, ge=1, validation_alias="GRIDBOT_KEEP_CLOSED_ORDER_TEXTS_DAYS"
    )


class Settings(BaseSettings):
    """Every setting has a default that works on a fresh machine with no token and no network."""

    model_config = SettingsConfigDict(
        env_file=".env", frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True
    )

    timezone: str = Field(default="Asia/Shanghai", validation_alias="GRIDBOT_TIMEZONE")
    community_file: Path = Field(
        default=Path("deploy/examples/community.yaml"), validation_alias="GRIDBOT_COMMUNITY_FILE"
    )
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    broadcast: BroadcastSettings = Field(default_factory=BroadcastSettings)
    nlp: NlpSettings = Field(default_factory=NlpSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    residents: ResidentsSettings = Field(default_factory=ResidentsSettings)

    @classmethod
    def from_variables(cls, variables: Mapping[str, object]) -> Settings:
        """These values, given by variable name, over the process environment; no .env file.

        For tests and tools that describe a configuration the way an operator writes it. A None value
        means unset (the default), whatever the environment says. An unknown name is a KeyError.
        """
        paths = env_names()
        given: dict[str, Any] = {}
        for variable, value in variables.items():
            _put(given, paths[variable], value)
        return cls(_env_file=None, **given)  # type: ignore[call-arg]  # pydantic-settings init argument

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments first, then the environment, then .env; each read by the variables' own names."""
        assert isinstance(env_settings, EnvSettingsSource)
        assert isinstance(dotenv_settings, DotEnvSettingsSource)
        return (
            init_settings,
            _ByVariableName(settings_cls, env_settings.env_vars),
            _ByVariableName(settings_cls, dotenv_settings.env_vars),
        )


def _variables(field: FieldInfo) -> tuple[str, ...]:
    alias = field.validation_alias
    if isinstance(alias, str):
        return (alias,)
    if isinstance(alias, AliasChoices):
        return tuple(choice for choice in alias.choices if isinstance(choice, str))
    return ()


def _settings_fields() -> Iterator[tuple[tuple[str, ...], FieldInfo]]:
    """(path, field) of every setting: ("timezone",), ("delivery", "lease_seconds"), ..."""
    for name, field in Settings.model_fields.items():
        section = field.annotation
        if isinstance(section, type) and issubclass(section, _Section):
            for inner, inner_field in section.model_fields.items():
                yield (name, inner), inner_field
        else:
            yield (name,), field


def _put(values: dict[str, Any], path: tuple[str, ...], value: object) -> None:
    """values["delivery"]["batch_size"] = value, for path ("delivery", "batch_size")."""
    *sections, name = path
    for section in sections:
        values = values.setdefault(section, {})
    values[name] = value


class _ByVariableName(PydanticBaseSettingsSource):
    """Values from a set of variables (the environment, or a .env file), each found by its setting's own
    variable names, arranged by section."""

    def __init__(self, settings_cls: type[BaseSettings], variables: Mapping[str, str | None]) -> None:
        super().__init__(settings_cls)
        # Case-insensitive, as pydantic-settings reads variables by default.
        self._variables = {name.lower(): value for name, value in variables.items()}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: `__call__` reads every setting, sections included, at once."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for path, field in _settings_fields():
            value = next(
                (v for name in _variables(field) if (v := self._variables.get(name.lower())) is not None),
                None,
            )
            if value is not None:
                _put(found, path, value)
        return found


def env_names() -> dict[str, tuple[str, ...]]:
    """Every environment variable a setting reads -> the setting's path (e.g. ("delivery", "batch_size"))."""
    return {variable: path for path, field in _settings_fields() for variable in _variables(field)}


def env_name(path: tuple[str | int, ...]) -> str:
    """The (first) environment variable of the setting at `path`, e.g. a validation error's location."""
    wanted = tuple(str(part) for part in path)
    for found, field in _settings_fields():
        if found == wanted[: len(found)] and _variables(field):
            return _variables(field)[0]
    return "GRIDBOT_" + "_".join(wanted).upper()
