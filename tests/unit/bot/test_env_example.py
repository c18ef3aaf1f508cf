""".env.example documents every setting, with its true default, and nothing that is not a setting."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic.fields import FieldInfo

from bot.settings import Settings, env_name, env_names

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / ".env.example"
DEPLOY_EXAMPLE = ROOT / "deploy" / "gridbot.env.example"
# "KEY=value" sets a default; "#KEY=value" documents a setting that is unset by default.
_LINE = re.compile(r"^(#?)(GRIDBOT_[A-Z0-9_]+)=(.*)$")


def setting(name: str) -> FieldInfo:
    """The field behind an environment variable, e.g. GRIDBOT_BROADCAST_LEASE_SECONDS -> delivery's."""
    *sections, field = env_names()[name]
    owner: type[Settings] | Any = Settings
    for section in sections:
        owner = owner.model_fields[section].annotation
    return owner.model_fields[field]  # type: ignore[no-any-return]


def documented(path: Path) -> dict[str, tuple[bool, str, int]]:
    """name -> (set, value, line number)."""
    found: dict[str, tuple[bool, str, int]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = _LINE.match(line)
        if match:
            assert match[2] not in found, f"{path.name}:{number}: {match[2]} twice"
            found[match[2]] = (not match[1], match[3], number)
    return found


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the files under test decide the values."""
    for name in list(os.environ):
        if name.startswith("GRIDBOT_"):
            monkeypatch.delenv(name)


def test_every_setting_is_documented_and_nothing_else() -> None:
    names = set(env_names())
    listed = set(documented(EXAMPLE))
    assert names - listed == set(), f"add to .env.example: {sorted(names - listed)}"
    assert listed - names == set(), f"not settings (typo or removed?): {sorted(listed - names)}"


def test_each_setting_has_a_comment_above_it() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    for _name, (_set, _value, number) in documented(EXAMPLE).items():
        above = number - 2
        while above >= 0 and _LINE.match(lines[above]):  # a group of related settings shares a comment
            above -= 1
        assert above >= 0, f"line {number}: no comment"
        assert lines[above].startswith("# "), f"line {number}: no comment above"
        assert len(lines[above]) > 8, f"line {number}: the comment says nothing"


def test_the_values_given_are_the_real_defaults() -> None:
    """Copying .env.example to .env changes nothing: the file cannot advertise a wrong default."""
    default = Settings(_env_file=None)  # type: ignore[call-arg]
    from_file = Settings(_env_file=EXAMPLE)  # type: ignore[call-arg]
    assert from_file.model_dump() == default.model_dump()
    unset = [name for name, (is_set, _v, _n) in documented(EXAMPLE).items() if not is_set]
    for name in unset:  # documented but unset: their default is None (or computed, like the host name)
        if env_name(env_names()[name]) != name:
            continue  # an older name of a setting documented (and set) under its own name
        info = setting(name)
        assert info.default is None or info.default_factory is not None, name


def test_the_commented_examples_are_valid_values(tmp_path: Path) -> None:
    """Uncommenting any '#GRIDBOT_…' line gives settings that load."""
    text = EXAMPLE.read_text(encoding="utf-8")
    path = tmp_path / ".env"
    path.write_text(re.sub(r"(?m)^#(GRIDBOT_)", r"\1", text), encoding="utf-8")
    settings = Settings(_env_file=path)  # type: ignore[call-arg]
    assert settings.telegram.token is not None
    assert settings.delivery.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.delivery.sender_name == "gridbot-1"


def test_the_production_example_names_only_real_settings_and_loads() -> None:
    values = documented(DEPLOY_EXAMPLE)
    assert set(values) - set(env_names()) == set()
    for required in (
        "GRIDBOT_BOT_TOKEN",
        "GRIDBOT_TRANSPORT",
        "GRIDBOT_WEBHOOK_URL",
        "GRIDBOT_WEBHOOK_SECRET",
    ):
        assert values[required][0], f"{required} must be set in {DEPLOY_EXAMPLE.name}"
    settings = Settings(_env_file=DEPLOY_EXAMPLE)  # type: ignore[call-arg]
    assert settings.telegram.transport.value in ("ptb", "aiogram")
    assert settings.database.url.startswith("postgresql+asyncpg://")
    assert settings.logging.format.value == "json"
    assert settings.telegram.webhook_secret is not None
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", settings.telegram.webhook_secret.get_secret_value())
    # Plain KEY=value lines: both compose's env_file and systemd's EnvironmentFile read them alike.
    for line in DEPLOY_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*", key), line
            assert not value.startswith(("'", '"')), line
            assert " #" not in value, line
