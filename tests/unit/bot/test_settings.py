"""One Settings in sections, read by the variable names deployments already use."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import DeliverySettings, Settings, env_name, env_names


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("GRIDBOT_"):
            monkeypatch.delenv(name)


def load(env_file: Path | None = None) -> Settings:
    return Settings(_env_file=env_file)  # type: ignore[call-arg]  # pydantic-settings init argument


def test_flat_variables_land_in_their_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDBOT_DATABASE_URL", "postgresql+asyncpg://db/gridbot")
    monkeypatch.setenv("GRIDBOT_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("GRIDBOT_SEND_PER_CHAT_BURST", "5")
    monkeypatch.setenv("GRIDBOT_BROADCAST_LEASE_SECONDS", "30")
    monkeypatch.setenv("GRIDBOT_BROADCAST_RATE_PER_SECOND", "12.5")
    monkeypatch.setenv("gridbot_timezone", "Asia/Urumqi")  # case-insensitive, as before
    settings = load()
    assert settings.database.url == "postgresql+asyncpg://db/gridbot"
    assert settings.telegram.token is not None
    assert settings.telegram.token.get_secret_value() == "123:abc"
    assert settings.delivery.per_chat_burst == 5
    assert settings.delivery.lease_seconds == 30.0
    assert settings.broadcast.rate_per_second == 12.5
    assert settings.timezone == "Asia/Urumqi"


def test_the_older_per_chat_name_still_works_and_the_general_one_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRIDBOT_BROADCAST_PER_CHAT_PER_SECOND", "2")
    assert load().delivery.per_chat_per_second == 2.0
    monkeypatch.setenv("GRIDBOT_SEND_PER_CHAT_PER_SECOND", "4")
    assert load().delivery.per_chat_per_second == 4.0


def test_the_environment_beats_the_env_file_setting_by_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "GRIDBOT_SEND_PER_CHAT_PER_SECOND=3\nGRIDBOT_BROADCAST_BATCH_SIZE=9\nGRIDBOT_LOG_LEVEL=DEBUG\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("GRIDBOT_BROADCAST_PER_CHAT_PER_SECOND", "2")  # the older name, in the environment
    monkeypatch.setenv("GRIDBOT_LOG_LEVEL", "WARNING")
    settings = load(env_file)
    assert settings.delivery.per_chat_per_second == 2.0
    assert settings.delivery.batch_size == 9  # the rest of the section still comes from the file
    assert settings.logging.level == "WARNING"


def test_a_section_built_in_code_reads_nothing_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDBOT_BROADCAST_BATCH_SIZE", "3")
    assert DeliverySettings().batch_size == 20
    assert DeliverySettings(batch_size=7).batch_size == 7


def test_old_flat_keywords_are_refused_not_ignored() -> None:
    with pytest.raises(ValidationError, match="database_url"):
        Settings(_env_file=None, database_url="sqlite+aiosqlite:///x.db")  # type: ignore[call-arg]


def test_invalid_values_are_reported_under_their_variable_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDBOT_HEALTH_PORT", "ninety")
    monkeypatch.setenv("GRIDBOT_BROADCAST_BATCH_SIZE", "0")
    with pytest.raises(ValidationError) as caught:
        load()
    assert sorted(env_name(error["loc"]) for error in caught.value.errors()) == [
        "GRIDBOT_BROADCAST_BATCH_SIZE",
        "GRIDBOT_HEALTH_PORT",
    ]


def test_from_variables_overrides_the_environment_even_with_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDBOT_REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("GRIDBOT_WEBHOOK_PORT", "8443")
    settings = Settings.from_variables(
        {"GRIDBOT_REDIS_URL": None, "GRIDBOT_DATABASE_URL": "sqlite+aiosqlite://"}
    )
    assert settings.delivery.redis_url is None
    assert settings.database.url == "sqlite+aiosqlite://"
    assert settings.telegram.webhook_port == 8443
    with pytest.raises(KeyError):
        Settings.from_variables({"GRIDBOT_DATABASE": "typo"})


def test_every_variable_names_one_setting() -> None:
    names = env_names()
    assert names["GRIDBOT_BROADCAST_LEASE_SECONDS"] == ("delivery", "lease_seconds")
    assert names["GRIDBOT_BROADCAST_PER_CHAT_PER_SECOND"] == names["GRIDBOT_SEND_PER_CHAT_PER_SECOND"]
    assert all(name.startswith("GRIDBOT_") for name in names)
